/**
 * A door's settings as the editor stores them, checked at deploy (nodes/lib/door/config.ts):
 * defaults for what is empty, a refusal naming the field for what is wrong, never a clamp.
 */
import { cameraConfig, doorIdentity, openConfig, slug, type DoorDef } from '../../nodes/lib/door/config';
import { DoorOpener } from '../../nodes/lib/door/opener';

const base: DoorDef = { id: 'n1', name: 'Front door', openKind: 'preset', preset: 'shelly-gen1', host: 'http://192.168.1.60/' };

function refusal(fn: () => unknown): { code: string; params: Record<string, unknown> } | undefined {
  try {
    fn();
  } catch (err) {
    const e = err as { code: string; params: Record<string, unknown> };
    return { code: e.code, params: e.params };
  }
  return undefined;
}

describe('door identity', () => {
  test('the id is a slug of the door id, else the name, else the node id', () => {
    expect(slug('Вход / Front Door №1')).toBe('front_door_no1'); // NFKD spells № as No; Cyrillic has no ASCII form
    expect(slug('Ärger-Tür')).toBe('arger_tur');
    expect(slug('***')).toBe('door');
    expect(doorIdentity({ id: 'abc', name: 'Garden gate' })).toEqual({ doorName: 'Garden gate', doorId: 'garden_gate', panel: undefined });
    expect(doorIdentity({ id: 'abc', doorId: 'gate_2', panel: '100' })).toEqual({ doorName: 'gate_2', doorId: 'gate_2', panel: '100' });
    expect(doorIdentity({ id: 'abc' })).toMatchObject({ doorName: 'Door', doorId: 'abc' });
  });
});

describe('how the door opens', () => {
  test('empty settings take the defaults', () => {
    const { opener, mqtt } = openConfig(base, { user: 'admin', password: 'pw' });
    expect(opener).toMatchObject({
      doorId: 'front_door',
      doorName: 'Front door',
      action: { kind: 'preset', preset: 'shelly-gen1', baseUrl: 'http://192.168.1.60/', relay: 1, pulseSeconds: 2 },
      credentials: { user: 'admin', password: 'pw' },
      timeoutMs: 5000,
      retries: 2,
      minIntervalMs: 1000,
      confirm: { kind: 'none' },
    });
    expect(mqtt).toBeUndefined();
    expect(() => new DoorOpener(opener)).not.toThrow();
  });

  test('numbers as the editor stores them (strings) are read; out of range is refused, naming the field', () => {
    expect(openConfig({ ...base, relay: '2', pulse: '3.5', timeout: '800', retries: 0, minInterval: '0' }, {}).opener).toMatchObject({
      action: { relay: 2, pulseSeconds: 3.5 },
      timeoutMs: 800,
      retries: 0,
      minIntervalMs: 0,
    });
    const cases: Array<[Partial<DoorDef>, string]> = [
      [{ relay: 17 }, 'relay'],
      [{ relay: '1.5' }, 'relay'],
      [{ pulse: 0 }, 'pulse'],
      [{ pulse: 'long' }, 'pulse'],
      [{ timeout: 100 }, 'timeout'],
      [{ retries: 9 }, 'retries'],
      [{ minInterval: -1 }, 'minInterval'],
      [{ confirm: 'event', confirmTimeout: 60001 }, 'confirmTimeout'],
    ];
    for (const [bad, field] of cases) expect(refusal(() => openConfig({ ...base, ...bad }, {}))).toMatchObject({ params: { field } });
    expect(refusal(() => openConfig({ ...base, retries: 9 }, {}))).toEqual({ code: 'setting.integer', params: { field: 'retries', min: 0, max: 5, value: '9' } });
  });

  test('words must be one of their choices', () => {
    expect(refusal(() => openConfig({ ...base, openKind: 'telepathy' }, {}))).toMatchObject({ code: 'setting.choice', params: { field: 'openKind', value: 'telepathy' } });
    expect(refusal(() => openConfig({ ...base, openKind: 'http', url: 'http://x/', auth: 'kerberos' }, {}))).toMatchObject({ code: 'setting.choice', params: { field: 'auth' } });
    expect(refusal(() => openConfig({ ...base, confirm: 'maybe' }, {}))).toMatchObject({ code: 'setting.choice', params: { field: 'confirm' } });
  });

  test('generic HTTP: headers are a JSON object, patterns must compile', () => {
    const http: DoorDef = { id: 'h', openKind: 'http', method: 'post', url: ' http://10.0.0.5/open ', headers: '{"Content-Type":"application/json","X-N":1}', successMatch: '^OK' };
    expect(openConfig(http, {}).opener.action).toEqual({ kind: 'http', method: 'POST', url: 'http://10.0.0.5/open', headers: { 'Content-Type': 'application/json', 'X-N': '1' }, body: undefined, auth: 'auto', idempotent: false, successMatch: '^OK' });
    expect(refusal(() => openConfig({ ...http, headers: '[1]' }, {}))).toMatchObject({ code: 'setting.jsonObject', params: { field: 'headers' } });
    expect(refusal(() => openConfig({ ...http, headers: '{nope' }, {}))).toMatchObject({ code: 'setting.json', params: { field: 'headers' } });
    expect(refusal(() => openConfig({ ...http, successMatch: '(' }, {}))).toMatchObject({ code: 'setting.pattern', params: { field: 'successMatch' } });
  });

  test('confirmation by a state URL needs the URL and a pattern that compiles', () => {
    expect(openConfig({ ...base, confirm: 'poll', confirmUrl: ' http://x/state ', confirmMatch: '"ison":true' }, {}).opener.confirm).toEqual({ kind: 'poll', url: 'http://x/state', match: '"ison":true', timeoutMs: 5000 });
    expect(refusal(() => openConfig({ ...base, confirm: 'poll', confirmMatch: 'x' }, {}))).toEqual({ code: 'setting.required', params: { field: 'confirmUrl' } });
    expect(refusal(() => openConfig({ ...base, confirm: 'poll', confirmUrl: 'http://x/' }, {}))).toEqual({ code: 'setting.required', params: { field: 'confirmMatch' } });
    expect(refusal(() => openConfig({ ...base, confirm: 'poll', confirmUrl: 'http://x/', confirmMatch: '[' }, {}))).toMatchObject({ code: 'setting.pattern', params: { field: 'confirmMatch' } });
  });

  test('DTMF and Home Assistant take their words as typed', () => {
    expect(openConfig({ id: 'd', openKind: 'dtmf', digits: ' 9# ' }, {}).opener.action).toEqual({ kind: 'dtmf', digits: '9#' });
    expect(openConfig({ id: 'h', openKind: 'ha', haEntity: 'lock.front', haServer: 'ha1' }, {}).opener.action).toEqual({ kind: 'ha', service: 'lock.open', entityId: 'lock.front', server: 'ha1' });
  });
});

describe('an MQTT door names its broker', () => {
  const mqttDoor: DoorDef = { id: 'm', openKind: 'mqtt', topic: 'cmnd/gate/POWER', mqttPayload: 'ON' };

  test('a Node-RED mqtt-broker or a Home Assistant config node', () => {
    expect(openConfig({ ...mqttDoor, mqttVia: 'broker', mqttBroker: 'b1' }, {}).mqtt).toEqual({ via: 'broker', node: 'b1' });
    expect(openConfig({ ...mqttDoor, mqttBroker: 'b1' }, {}).mqtt).toEqual({ via: 'broker', node: 'b1' });
    expect(openConfig({ ...mqttDoor, mqttVia: 'ha', mqttHa: 'ha1' }, {}).mqtt).toEqual({ via: 'ha', node: 'ha1' });
    expect(refusal(() => openConfig({ ...mqttDoor, mqttVia: 'broker' }, {}))).toEqual({ code: 'setting.required', params: { field: 'mqttBroker' } });
    expect(refusal(() => openConfig({ ...mqttDoor, mqttVia: 'ha', mqttHa: 'ha1', qos: 2 }, {}))).toEqual({ code: 'door.mqttQosHa', params: { field: 'qos' } });
    expect(refusal(() => openConfig({ ...mqttDoor, mqttBroker: 'b1', qos: 3 }, {}))).toMatchObject({ params: { field: 'qos' } });
  });

  test('a door saved with its own URL keeps it, with the broker user from its credentials', () => {
    const old = { ...mqttDoor, broker: 'mqtt://192.168.1.10:1883', qos: 1, insecureTls: true };
    expect(openConfig(old, { mqttUser: 'gate', mqttPassword: 'pw' }).mqtt).toEqual({ via: 'url', address: { url: 'mqtt://192.168.1.10:1883', username: 'gate', password: 'pw', insecureTls: true } });
    expect(refusal(() => openConfig({ ...old, broker: '192.168.1.10' }, {}))).toEqual({ code: 'setting.url', params: { field: 'broker', schemes: 'mqtt://, mqtts://, ws://, wss://, tcp://', value: '192.168.1.10' } });
    expect(refusal(() => openConfig({ ...mqttDoor }, {}))).toEqual({ code: 'setting.required', params: { field: 'broker' } });
  });
});

describe('how the door is seen', () => {
  test('no camera, an HTTP JPEG (the preset path by default) or RTSP', () => {
    expect(cameraConfig(base, {})).toBeUndefined();
    expect(cameraConfig({ ...base, preset: '2n', camera: 'http' }, { user: 'u', password: 'p' })).toEqual({
      source: { kind: 'http', url: 'http://192.168.1.60/api/camera/snapshot?width=640&height=480' },
      credentials: { user: 'u', password: 'p' },
      insecureTls: false,
      timeoutMs: 5000,
      cacheMs: 3000,
      width: undefined,
    });
    expect(cameraConfig({ ...base, camera: 'rtsp', rtspUrl: 'rtsp://cam/1', snapshotWidth: '640', snapshotCache: 0 }, {})).toMatchObject({ source: { kind: 'rtsp', url: 'rtsp://cam/1' }, width: 640, cacheMs: 0 });
  });

  test('a camera without a source, or with a bad number, is refused naming the field', () => {
    expect(refusal(() => cameraConfig({ ...base, camera: 'http' }, {}))).toEqual({ code: 'setting.required', params: { field: 'snapshotUrl' } });
    expect(refusal(() => cameraConfig({ ...base, camera: 'rtsp' }, {}))).toEqual({ code: 'setting.required', params: { field: 'rtspUrl' } });
    expect(refusal(() => cameraConfig({ ...base, camera: 'rtsp', rtspUrl: 'rtsp://x', snapshotTimeout: 100 }, {}))).toMatchObject({ params: { field: 'snapshotTimeout' } });
    expect(refusal(() => cameraConfig({ ...base, camera: 'webcam' }, {}))).toMatchObject({ code: 'setting.choice', params: { field: 'camera' } });
  });
});
