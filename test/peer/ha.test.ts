/**
 * The doors in a real Home Assistant: MQTT discovery through a real mosquitto, commands
 * from HA's lock.open / button.press, pushes to a mobile_app stand-in listening on the
 * websocket push channel exactly as the phone app does, and its action webhook coming
 * back. One HA instance for the whole file (startup is the slow part).
 */
import mqtt from 'mqtt';
import { helper, getNode, type TestNode } from '../helpers/node-red';
import { describeWithHomeAssistant, HomeAssistant, Mosquitto, type Phone } from '../helpers/homeassistant';
import { delay, waitFor } from '../helpers/wait';
import haConfigNode = require('../../nodes/intercom-home-assistant');
import haDoorNode = require('../../nodes/intercom-ha-door');
import notifyNode = require('../../nodes/intercom-notify');
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');

const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffdb004300' + '08'.repeat(64) + 'ffd9', 'hex');

jest.setTimeout(60000);

describeWithHomeAssistant('Home Assistant peer', () => {
  let broker: Mosquitto;
  let ha: HomeAssistant;
  let phone: Phone;
  let ownerId: string;
  const outputs: Record<string, any[]> = { cmd: [], act: [], exp: [] };

  const flow = (extra: any[] = []) => [
    { id: 'door1', type: 'intercom-door', doorId: 'front_door', name: 'Front door' },
    { id: 'ha1', type: 'intercom-home-assistant', broker: broker.url, haUrl: ha.url, baseTopic: 'intercom', discoveryPrefix: 'homeassistant' },
    { id: 'hd', type: 'intercom-ha-door', server: 'ha1', door: 'door1', relockSeconds: 1, wires: [['cmd']] },
    { id: 'nt', type: 'intercom-notify', server: 'ha1', door: 'door1', service: phone.service, title: '{door}', message: '{caller} rings', expiry: 3, customActions: 'Talk', wires: [['act'], ['exp']] },
    { id: 'cmd', type: 'helper' },
    { id: 'act', type: 'helper' },
    { id: 'exp', type: 'helper' },
    ...extra,
  ];
  const creds = () => ({ ha1: { token: ha.longLivedToken } });

  async function load(): Promise<void> {
    await helper.load([doorNode, haConfigNode, haDoorNode, notifyNode], flow(), creds());
    for (const k of Object.keys(outputs)) {
      outputs[k] = [];
      // Output 2 of notify is the journal's: pushes sent and refused presses; here only the refusals.
      getNode(k).on('input', (m: any) => (k !== 'exp' || m.topic === 'refused') && outputs[k].push(m));
    }
  }

  beforeAll(async () => {
    broker = await Mosquitto.start();
    ha = await HomeAssistant.start();
    await ha.configureMqtt(broker.port);
    phone = await ha.registerPhone('Test phone');
    const me = await (await ha.socket()).call({ type: 'auth/current_user' });
    ownerId = (me as { id: string }).id;
    await new Promise<void>((r) => helper.startServer(r));
    await load();
  }, 180000);

  afterAll(async () => {
    await helper.unload().catch(() => undefined);
    await new Promise((r) => helper.stopServer(r));
    phone?.close();
    await ha?.dispose();
    await broker?.dispose();
  }, 60000);

  const hd = (): TestNode => getNode('hd');
  const nt = (): TestNode => getNode('nt');

  test('the door appears as a device with all six entities and their attributes', async () => {
    const lock = await waitFor(async () => {
      const s = await ha.state('lock.front_door');
      return s && s.state === 'locked' ? s : null;
    }, 'lock.front_door locked', 20000, 100);
    expect(lock.attributes.friendly_name).toBe('Front door');
    // supported_features bit 1 = OPEN, present only because payload_open was announced.
    expect(lock.attributes.supported_features & 1).toBe(1);
    const ev = await ha.state('event.front_door_doorbell');
    expect(ev.attributes.device_class).toBe('doorbell');
    expect(ev.attributes.event_types).toEqual(['ring', 'answered', 'missed', 'opened', 'denied']);
    expect(await ha.state('image.front_door_snapshot')).not.toBeNull();
    expect((await ha.state('sensor.front_door_last_caller')).attributes.friendly_name).toBe('Front door Last caller');
    expect((await ha.state('binary_sensor.front_door_ringing')).state).toBe('off');
    expect((await ha.state('button.front_door_open')).attributes.friendly_name).toBe('Front door Open');
  });

  test('lock.open, lock.unlock and button.press in HA reach the output as open, with the user who asked', async () => {
    await ha.rest('POST', '/api/services/lock/open', { entity_id: 'lock.front_door' });
    await waitFor(() => outputs.cmd.length === 1, 'open command', 5000);
    expect(outputs.cmd[0]).toMatchObject({ topic: 'open', payload: 'open', door: { id: 'front_door' }, ha: { via: 'lock', command: 'open', user_id: ownerId, user: 'Owner' } });
    await ha.rest('POST', '/api/services/button/press', { entity_id: 'button.front_door_open' });
    await waitFor(() => outputs.cmd.length === 2, 'press command', 5000);
    // A door strike has no "unlocked" to stay in: Unlock opens it (the node's default).
    await ha.rest('POST', '/api/services/lock/unlock', { entity_id: 'lock.front_door' });
    await waitFor(() => outputs.cmd.length === 3, 'unlock command', 5000);
    await ha.rest('POST', '/api/services/lock/lock', { entity_id: 'lock.front_door' });
    await waitFor(() => outputs.cmd.length === 4, 'lock command', 5000);
    expect(outputs.cmd.map((m) => [m.topic, m.ha.via, m.ha.command, m.ha.user])).toEqual([
      ['open', 'lock', 'open', 'Owner'],
      ['open', 'button', 'open', 'Owner'],
      ['open', 'lock', 'unlock', 'Owner'],
      ['lock', 'lock', 'lock', 'Owner'],
    ]);
  });

  test('malformed command payloads and unknown doors are rejected, never output', async () => {
    outputs.cmd = [];
    const warned: string[] = [];
    getNode('ha1').on('call:warn', (c: any) => warned.push(String(c.args[0])));
    const c = mqtt.connect(broker.url);
    await new Promise((r) => c.once('connect', r));
    for (const [t, p] of [
      ['intercom/front_door/lock/set', 'open'],
      ['intercom/front_door/lock/set', '{"cmd":"OPEN"}'],
      ['intercom/front_door/open/set', 'OPEN'],
      ['intercom/ghost_door/lock/set', 'OPEN'],
      ['intercom/front_door/lock/set', Buffer.alloc(5000, 0x41)],
    ] as Array<[string, string | Buffer]>) {
      await c.publishAsync(t, p, { qos: 1 });
    }
    // A valid command after them proves the rejections were processed, in order, first.
    await c.publishAsync('intercom/front_door/lock/set', 'LOCK', { qos: 1 });
    await waitFor(() => outputs.cmd.length === 1, 'the valid command', 5000);
    await c.endAsync();
    expect(outputs.cmd.map((m) => m.topic)).toEqual(['lock']);
    expect(warned.filter((w) => /rejected MQTT command/.test(w))).toHaveLength(5);
    expect(warned.some((w) => /unknown door ghost_door/.test(w))).toBe(true);
  });

  test('a ring becomes a doorbell event, the ringing sensor and the last caller; a snapshot the image', async () => {
    const before = (await ha.state('event.front_door_doorbell')).state;
    // msg.call as intercom-sip-in makes it from From: "Guest 101" <sip:200@panel>
    hd().receive({ topic: 'ring', call: { id: 'c-ring', from: { user: '200', display: 'Guest 101', uri: 'sip:200@127.0.0.1' } } });
    const ev = await waitFor(async () => {
      const s = await ha.state('event.front_door_doorbell');
      return s.state !== before && s.attributes.event_type === 'ring' ? s : null;
    }, 'ring event', 5000, 50);
    expect(ev.attributes).toMatchObject({ caller: 'Guest 101 (200)', caller_name: 'Guest 101', caller_number: '200', call_id: 'c-ring' });
    expect((await ha.state('binary_sensor.front_door_ringing')).state).toBe('on');
    expect((await ha.state('sensor.front_door_last_caller')).state).toBe('Guest 101 (200)');
    hd().receive({ payload: JPEG });
    await waitFor(async () => {
      const r = await fetch(`${ha.url}/api/image_proxy/image.front_door_snapshot`, { headers: { Authorization: `Bearer ${ha.accessToken}` } });
      return r.ok && Buffer.from(await r.arrayBuffer()).equals(JPEG);
    }, 'snapshot served by HA', 5000, 100);
    hd().receive({ topic: 'answered', call: { id: 'c-ring' } });
    await waitFor(async () => (await ha.state('binary_sensor.front_door_ringing')).state === 'off', 'ringing off', 5000, 50);
    // A second visitor gives up (intercom-sip-in: cancelled, then ended): missed, Ringing off.
    hd().receive({ topic: 'ring', call: { id: 'c-gone', from: { user: '201' } } });
    await waitFor(async () => (await ha.state('binary_sensor.front_door_ringing')).state === 'on', 'ringing again', 5000, 50);
    hd().receive({ topic: 'progress', call: { id: 'c-gone' } });
    hd().receive({ topic: 'cancelled', call: { id: 'c-gone' } });
    hd().receive({ topic: 'ended', call: { id: 'c-gone' }, payload: { reason: 'cancelled' } });
    await waitFor(async () => {
      const s = await ha.state('event.front_door_doorbell');
      return s.attributes.event_type === 'missed' && s.attributes.call_id === 'c-gone';
    }, 'missed', 5000, 50);
    await waitFor(async () => (await ha.state('binary_sensor.front_door_ringing')).state === 'off', 'ringing off', 5000, 50);
    // Opened: the lock shows unlocked, then locked again after relockSeconds (1 s here).
    hd().receive({ topic: 'opened', call: { id: 'c-ring' } });
    await waitFor(async () => (await ha.state('lock.front_door')).state === 'unlocked', 'unlocked', 5000, 50);
    await waitFor(async () => (await ha.state('lock.front_door')).state === 'locked', 'relocked', 5000, 50);
    expect((await ha.state('event.front_door_doorbell')).attributes.event_type).toBe('opened');
  });

  test('bad flow input is a clear error', async () => {
    const errs: string[] = [];
    hd().on('call:error', (c: any) => errs.push(String(c.args[0])));
    hd().receive({ topic: 'explode', payload: 'x' });
    await waitFor(() => errs.length > 0, 'error', 2000);
    expect(errs[0]).toMatch(/unsupported topic "explode"/);
  });

  test('the phone gets the push with image and one-time actions; Open comes back once', async () => {
    nt().receive({ topic: 'ring', call: { id: 'c-push', from: { user: '201', display: 'Postman' } } });
    const push = await phone.next((m) => m.message === 'Postman (201) rings');
    expect(push.title).toBe('Front door');
    // No JPEG came with this ring: no picture, rather than whatever HA showed before.
    expect(push.data?.image).toBeUndefined();
    expect(push.data?.tag).toBe('intercom_front_door');
    const actions = push.data?.actions as Array<{ action: string; title: string }>;
    expect(actions.map((a) => a.title)).toEqual(['Open', 'Ignore', 'Talk']);
    const open = actions[0].action;
    expect(open).toMatch(/^OPEN_[A-Za-z0-9_-]{8,}$/);
    await phone.press(open);
    await waitFor(() => outputs.act.length === 1, 'the Open press', 5000);
    expect(outputs.act[0]).toMatchObject({ topic: 'open', payload: 'open', action: open, call: { id: 'c-push' }, door: { id: 'front_door' } });
    // The webhook belongs to the phone's registration, made by the owner: HA says who pressed.
    expect(outputs.act[0].ha).toMatchObject({ via: 'push', action: 'open', user_id: ownerId, user: 'Owner' });
    // The same press again (a double tap, a replay) is refused on output 2.
    await phone.press(open);
    await waitFor(() => outputs.exp.length === 1, 'the refused second press', 5000);
    expect(outputs.exp[0]).toMatchObject({ topic: 'refused', payload: 'refused', reason: 'already-used', ha: { via: 'push', action: 'open' } });
    expect(outputs.act).toHaveLength(1);
  });

  test('Open after the call ended or after the expiry does nothing but report expired', async () => {
    outputs.act = [];
    outputs.exp = [];
    nt().receive({ topic: 'ring', call: { id: 'c-ended', from: { user: '202' } } });
    const p1 = await phone.next((m) => m.message === '202 rings');
    nt().receive({ topic: 'missed', call: { id: 'c-ended' } });
    await phone.next((m) => m.message === 'clear_notification');
    await phone.press(p1.data!.actions[0].action);
    nt().receive({ topic: 'ring', call: { id: 'c-late', from: { user: '203' } } });
    const p2 = await phone.next((m) => m.message === '203 rings');
    await delay(3200); // expiry is 3 s in this flow
    await phone.press(p2.data!.actions[0].action);
    await waitFor(() => outputs.exp.length === 2, 'two expired presses', 5000);
    expect(outputs.exp.map((m) => m.reason)).toEqual(['call-ended', 'timeout']);
    await delay(300);
    expect(outputs.act).toHaveLength(0);
  });

  test('HA announcing itself (homeassistant/status online) gets every config again', async () => {
    const c = mqtt.connect(broker.url);
    await new Promise((r) => c.once('connect', r));
    // Someone wiped the retained lock config: HA drops the entity.
    await c.publishAsync('homeassistant/lock/intercom_front_door/lock/config', '', { retain: true, qos: 1 });
    await waitFor(async () => (await ha.state('lock.front_door')) === null, 'lock gone', 10000, 100);
    await c.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await waitFor(async () => (await ha.state('lock.front_door'))?.state === 'locked', 'lock announced again', 10000, 100);
    await c.endAsync();
  });

  test('a broker restart brings the entities back, and a ring raised while it was down arrives', async () => {
    await broker.stop();
    await waitFor(async () => (await ha.state('lock.front_door'))?.state === 'unavailable', 'unavailable while broker down', 15000, 200);
    hd().receive({ topic: 'ring', call: { id: 'c-down', from: { user: '204' } } });
    await broker.start();
    // Persistence is off: the broker lost every retained config; the node re-announces.
    await waitFor(async () => (await ha.state('lock.front_door'))?.state === 'locked', 'lock back', 30000, 200);
    await waitFor(async () => (await ha.state('event.front_door_doorbell'))?.attributes.call_id === 'c-down', 'ring from while down', 15000, 200);
  });

  test('the editor pickers: phones, opening services and entities from HA, through the runtime', async () => {
    const ask = (body: Record<string, unknown>) => helper.request().post('/intercom-home-assistant/pickers').send(body);
    // The deployed config node answers over its own websocket.
    const phones = await ask({ id: 'ha1', kind: 'notify', haUrl: ha.url });
    expect(phones.status).toBe(200);
    expect(phones.body.choices[0]).toEqual({ value: phone.service, label: 'test phone' });
    const services = await ask({ id: 'ha1', kind: 'door-service', haUrl: ha.url });
    expect(services.body.choices.map((c: { value: string }) => c.value)).toEqual(expect.arrayContaining(['lock.open', 'lock.unlock', 'button.press']));
    const locks = await ask({ id: 'ha1', kind: 'entity', domain: 'lock', haUrl: ha.url });
    expect(locks.body.choices).toEqual([{ value: 'lock.front_door', label: 'Front door' }]);
    // A dialog not deployed yet: a one-shot connection with the URL and token it holds.
    const fresh = await ask({ id: 'not-deployed', kind: 'notify', haUrl: ha.url, token: ha.longLivedToken });
    expect(fresh.body.choices.map((c: { value: string }) => c.value)).toContain(phone.service);
    // The stored token never goes to another address: a changed URL needs its own token.
    const elsewhere = await ask({ id: 'ha1', kind: 'notify', haUrl: 'http://127.0.0.1:9' });
    // (HA away or without a token is the picker's note, not a failed request the browser logs)
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.body).toEqual({ choices: [], error: expect.stringMatching(/no access token/) });
    const wrongKind = await ask({ id: 'ha1', kind: 'everything', haUrl: ha.url });
    expect(wrongKind.status).toBe(400);
  });

  test('a token HA rejects gives a clear status and no reconnect storm', async () => {
    await helper.unload();
    const badFlow = [
      { id: 'door1', type: 'intercom-door', doorId: 'front_door', name: 'Front door' },
      { id: 'ha2', type: 'intercom-home-assistant', haUrl: ha.url },
      { id: 'nt2', type: 'intercom-notify', server: 'ha2', door: 'door1', service: phone.service, wires: [[], []] },
    ];
    await helper.load([doorNode, haConfigNode, haDoorNode, notifyNode], badFlow, { ha2: { token: 'not-a-token' } });
    const cfg = getNode('ha2') as any;
    const states: string[] = [];
    cfg.ws.on('state', (s: string) => states.push(s));
    const statuses: any[] = [];
    getNode('nt2').on('call:status', (c: any) => statuses.push(c.args[0]));
    await waitFor(() => cfg.ws.state === 'auth-rejected', 'auth rejected', 5000);
    await delay(2500);
    expect(cfg.ws.state).toBe('auth-rejected');
    expect(states.filter((s) => s === 'connecting')).toHaveLength(0);
    expect(statuses.at(-1)).toMatchObject({ fill: 'red', text: expect.stringMatching(/auth rejected/) });
    await helper.unload();
    await load();
  });

  test('an HA restart: a ring while it is down is reported lost, then entities and commands with user are back', async () => {
    outputs.cmd = [];
    const errs: string[] = [];
    hd().on('call:error', (c: any) => errs.push(String(c.args[0])));
    await ha.stop();
    // HA's last will (or its clean-shutdown message) on homeassistant/status said offline.
    await waitFor(() => (getNode('ha1') as any).mqtt.haOnline === false, 'HA offline seen', 10000, 50);
    hd().receive({ topic: 'ring', call: { id: 'c-ha-down', from: { user: '205' } } });
    await waitFor(() => errs.some((e) => /ring event was not seen/.test(e)), 'ring reported lost', 5000);
    await ha.launch();
    await waitFor(async () => (await ha.state('lock.front_door'))?.state === 'locked', 'lock back after HA restart', 30000, 200);
    // HA takes each entity's discovery and retained state in turn: the lock may be back first
    await waitFor(async () => (await ha.state('sensor.front_door_last_caller'))?.state === '205', 'the last caller back after HA restart', 10000, 200);
    await waitFor(async () => (await ha.state('event.front_door_doorbell')) !== null, 'the doorbell back after HA restart', 10000, 200);
    expect((await ha.state('event.front_door_doorbell')).attributes.call_id).not.toBe('c-ha-down');
    // The websocket part reconnected by itself: a command still says who asked.
    await waitFor(() => (getNode('ha1') as any).ws.connected, 'websocket back', 20000, 100);
    await ha.rest('POST', '/api/services/lock/open', { entity_id: 'lock.front_door' });
    await waitFor(() => outputs.cmd.length === 1, 'open after restart', 5000);
    expect(outputs.cmd[0].ha).toMatchObject({ via: 'lock', user_id: ownerId });
  });

  test('deleting the node removes the device from HA; a redeploy does not', async () => {
    // Redeploy: stop and start the same flow, the lock must come back, never vanish.
    await helper.unload();
    await load();
    await waitFor(async () => (await ha.state('lock.front_door'))?.state === 'locked', 'lock after redeploy', 10000, 100);
    // Delete: deploy the flow without the ha-door node.
    await helper.setFlows(flow().filter((n) => n.id !== 'hd'), 'full', creds());
    await waitFor(async () => (await ha.state('lock.front_door')) === null, 'lock removed', 10000, 100);
    expect(await ha.state('event.front_door_doorbell')).toBeNull();
  });

  test('a door that opens by a Home Assistant service: door-open → lock.open in HA → the lock command comes back', async () => {
    await helper.unload();
    // The real door config node this time, opening through HA's websocket (the
    // ha-service-caller provider of the intercom-home-assistant config node).
    const realFlow = flow().map((n) =>
      n.id === 'door1'
        ? { id: 'door1', type: 'intercom-door', name: 'Front door', doorId: 'front_door', openKind: 'ha', haService: 'lock.open', haEntity: 'lock.front_door', haServer: 'ha1', minInterval: 0 }
        : n,
    );
    realFlow.push({ id: 'op', type: 'intercom-door-open', door: 'door1', wires: [['opened']] }, { id: 'opened', type: 'helper' });
    await helper.load([doorNode, doorOpenNode, haConfigNode, haDoorNode, notifyNode], realFlow, creds());
    const cmds: any[] = [];
    getNode('cmd').on('input', (m: any) => cmds.push(m));
    const opened: any[] = [];
    getNode('opened').on('input', (m: any) => opened.push(m));
    await waitFor(async () => (await ha.state('lock.front_door'))?.state === 'locked', 'lock announced', 15000, 100);
    getNode('op').receive({ topic: 'open' });
    await waitFor(() => opened.length === 1, 'door-open result', 10000);
    expect(opened[0].payload).toBe('ok');
    await waitFor(() => cmds.length === 1, 'HA lock.open reaching the ha-door output', 10000);
    expect(cmds[0]).toMatchObject({ topic: 'open', door: { id: 'front_door' }, ha: { via: 'lock' } });
  });
});
