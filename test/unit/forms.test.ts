/**
 * The dialogs' rules (nodes/lib/forms): one rule per field, naming the field as its dialog
 * labels it, used by the node at deploy and (bundled) by the editor. The bad values users
 * typed in the field reports are refused by the rule and by the node's config parser alike;
 * good values pass both.
 */
import { IntercomError } from '../../nodes/lib/core/errors';
import { fieldProblem, formProblems, type Values } from '../../nodes/lib/core/fields';
import { FORMS } from '../../nodes/lib/forms/forms';
import { accountConfig } from '../../nodes/lib/sip/account-config';
import { cameraConfig, openConfig } from '../../nodes/lib/door/config';
const { catalog } = require('../../scripts/locales');

const problem = (type: string, values: Values, field: string): IntercomError | undefined => fieldProblem(FORMS[type], field, values);
const refusal = (fn: () => unknown): IntercomError | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof IntercomError) return err;
    throw err;
  }
  return undefined;
};

describe('every field of every dialog has its rule and its label', () => {
  test.each(Object.keys(FORMS))('%s', (type) => {
    const labels = (catalog('en-US', type)[type]?.label ?? {}) as Record<string, string>;
    const form = FORMS[type];
    const fields = [...Object.keys(form.fields), ...Object.keys(form.credentials ?? {})];
    expect(fields.filter((f) => typeof labels[f] !== 'string')).toEqual([]);
  });
});

describe('the bad values of the first-contact report are flagged, naming the field', () => {
  test.each([
    ['intercom-sip-account', { bindAddress: '999.1.1.1' }, 'bindAddress', 'setting.ip'],
    ['intercom-sip-account', { bindAddress: 'not an ip' }, 'bindAddress', 'setting.ip'],
    ['intercom-sip-account', { bindPort: '99999' }, 'bindPort', 'setting.integer'],
    ['intercom-sip-account', { bindPort: '-5' }, 'bindPort', 'setting.integer'],
    ['intercom-sip-account', { mode: 'client', server: '300.300.300.300:70000' }, 'server', 'setting.hostPort'],
    ['intercom-sip-account', { allowedSources: 'banana, 10.0.0.0/99' }, 'allowedSources', 'setting.cidrList'],
    ['intercom-sip-account', { mode: 'client', server: 'pbx', expires: '-1' }, 'expires', 'setting.integer'],
    ['intercom-door', { openKind: 'preset', preset: '2n', host: 'htp:/bad url' }, 'host', 'setting.url'],
    ['intercom-door', { camera: 'http', snapshotUrl: 'not a url' }, 'snapshotUrl', 'setting.url'],
    ['intercom-door', { openKind: 'http', url: 'http://10.0.0.1/open', headers: '{not json' }, 'headers', 'setting.json'],
    ['intercom-door', { openKind: 'mqtt', mqttVia: 'url', broker: 'localhost:1883', topic: 'gate/set' }, 'broker', 'setting.url'],
    ['intercom-door', { openKind: 'ha', haService: 'open the lock' }, 'haService', 'setting.haService'],
  ])('%s %j → %s', (type, values, field, code) => {
    const err = problem(type, values, field);
    expect(err?.code).toBe(code);
    // the field is named (as a code param the dialog turns into its label)
    expect(err?.params.field).toBe(field);
  });

  test('the account and the door refuse them at deploy with the same code and field', () => {
    const acc = (v: Record<string, unknown>) => refusal(() => accountConfig({ id: 'a', ...v }, {}));
    expect(acc({ bindAddress: '999.1.1.1' })).toMatchObject({ code: 'setting.ip', params: { field: 'bindAddress' } });
    expect(acc({ bindPort: '-5' })).toMatchObject({ params: { field: 'bindPort' } });
    expect(acc({ mode: 'client', server: '300.300.300.300:70000' })).toMatchObject({ code: 'setting.hostPort', params: { field: 'server' } });
    expect(acc({ allowedSources: 'banana, 10.0.0.0/99' })).toMatchObject({ code: 'setting.cidrList', params: { field: 'allowedSources', entries: 'banana, 10.0.0.0/99' } });
    expect(acc({ mode: 'client', server: 'pbx', expires: '-1' })).toMatchObject({ params: { field: 'expires' } });
    const door = (v: Record<string, unknown>) => refusal(() => openConfig({ id: 'd', ...v }, {}));
    expect(door({ preset: '2n', host: 'htp:/bad url' })).toMatchObject({ code: 'setting.url', params: { field: 'host' } });
    expect(door({ openKind: 'http', url: 'http://10.0.0.1/', headers: '{not json' })).toMatchObject({ code: 'setting.json', params: { field: 'headers' } });
    expect(door({ openKind: 'mqtt', mqttVia: 'url', broker: 'localhost:1883', topic: 'g' })).toMatchObject({ code: 'setting.url', params: { field: 'broker' } });
    expect(door({ openKind: 'ha', haService: 'open the lock' })).toMatchObject({ code: 'setting.haService', params: { field: 'haService' } });
    expect(refusal(() => cameraConfig({ id: 'd', camera: 'http', snapshotUrl: 'not a url' }, {}))).toMatchObject({ code: 'setting.url', params: { field: 'snapshotUrl' } });
  });
});

describe('good values pass, in the dialog and at deploy', () => {
  const account = { mode: 'client', transport: 'udp', bindAddress: '0.0.0.0', bindPort: '5062', server: 'fritz.box:5060', user: '620', authUser: 'door', expires: '600', allowedSources: '192.168.1.20, 10.0.0.0/8, fd00::/8', failover: 'b', ringTimeout: '120', noAnswerTimeout: '45', rtpTimeout: '30', dtmfSend: 'info' };
  test('a client account', () => {
    expect(formProblems(FORMS['intercom-sip-account'], { id: 'a', ...account })).toEqual([]);
    expect(() => accountConfig({ id: 'a', ...account }, {})).not.toThrow();
  });
  test.each([
    ['[::1]:5060'],
    ['192.168.178.1'],
    ['sip.example.net'],
    ['core-mosquitto'],
    ['2001:db8::5'],
  ])('server %s', (server) => {
    expect(problem('intercom-sip-account', { mode: 'client', server }, 'server')).toBeUndefined();
  });
  test('doors of every kind', () => {
    const ok = [
      { openKind: 'preset', preset: '2n', host: 'https://192.168.1.50/', relay: 1, pulse: 2, camera: 'http', snapshotUrl: '' },
      { openKind: 'http', method: 'POST', url: 'http://10.0.0.7/open?who={{ msg.call.from.user }}', headers: '{"content-type":"application/json"}', successMatch: '^OK' },
      { openKind: 'mqtt', mqttVia: 'broker', mqttBroker: 'b1', topic: 'cmnd/gate/POWER', qos: 1 },
      { openKind: 'mqtt', broker: 'mqtts://user@broker.local:8883', topic: 'gate/set' },
      { openKind: 'dtmf', digits: '9#', camera: 'rtsp', rtspUrl: 'rtsp://192.168.1.50:554/Streaming/Channels/101' },
      { openKind: 'ha', haService: 'lock.unlock', haEntity: 'lock.front_door_2' },
    ];
    for (const d of ok) expect([d, formProblems(FORMS['intercom-door'], d)]).toEqual([d, []]);
  });
  test('a message may fill the URL path and query, never its host', () => {
    expect(problem('intercom-door', { openKind: 'http', url: 'http://{{msg.host}}/open' }, 'url')?.code).toBe('setting.urlHostTemplate');
  });
  test('rows the mode hides are not checked', () => {
    expect(problem('intercom-sip-account', { mode: 'p2p', server: '300.300.300.300:70000' }, 'server')).toBeUndefined();
    expect(problem('intercom-door', { openKind: 'dtmf', host: 'htp:/bad url' }, 'host')).toBeUndefined();
  });
});
