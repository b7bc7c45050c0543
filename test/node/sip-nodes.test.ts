/**
 * The three SIP nodes in a running Node-RED (node-red-node-test-helper): a panel (our
 * SIP core on another loopback port) calls, the flow answers / rejects / hangs up through
 * intercom-sip-call, and dials out.
 */
import * as dgram from 'node:dgram';
import { getNode, helper, nextMessage } from '../helpers/node-red';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { SipTransport } from '../../nodes/lib/sip/transport';
import { SipEndpoint } from '../../nodes/lib/sip/endpoint';
import { silentMediaFactory } from '../helpers/silent-media';
import type { Call } from '../../nodes/lib/sip/call';
import { SipAccount } from '../../nodes/lib/sip/account';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');

const nodes = [accountNode, inNode, callNode];

describe('intercom-sip-account / sip-in / sip-call nodes', () => {
  let port: number;
  let panel: SipEndpoint;
  let panelTransport: SipTransport;

  beforeEach(async () => {
    await new Promise<void>((r) => helper.startServer(() => r()));
    port = await freeSipPort();
    panelTransport = new SipTransport({ protocol: 'udp', host: '127.0.0.1', port: await freeSipPort() });
    await panelTransport.start();
    panel = new SipEndpoint({ transport: panelTransport, mediaFactory: silentMediaFactory(), mode: 'p2p', user: 'panel', displayName: 'Front Door' });
  });
  afterEach(async () => {
    await panel.close();
    await panelTransport.close();
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
  });

  function flow(extra: Record<string, unknown> = {}) {
    return [
      { id: 'acc', type: 'intercom-sip-account', name: 'door', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1', trace: true, ...extra },
      { id: 'in', type: 'intercom-sip-in', account: 'acc', wires: [['events']] },
      { id: 'act', type: 'intercom-sip-call', account: 'acc', action: 'msg', wires: [['done']] },
      { id: 'events', type: 'helper' },
      { id: 'done', type: 'helper' },
    ];
  }
  async function loaded(extra: Record<string, unknown> = {}) {
    await helper.load(nodes, flow(extra), { acc: { password: 'Sup3rSecret' } });
    await (getNode('acc') as any).ready;
  }

  test('a bad setting shows red at deploy on the nodes using the account, with the whole reason', async () => {
    await helper.load(nodes, flow({ bindPort: '99999' }));
    const acc = getNode('acc') as any;
    await expect(acc.ready).rejects.toThrow();
    const sipIn = getNode('in') as any;
    const status = await waitFor(() => sipIn.status.args?.map((a: any[]) => a[0]).find((s: any) => s?.fill === 'red'), 'a red status on sip-in');
    expect(status.text).toMatch(/^not started: .*99999/);
    expect(status.text).toContain('65535');
    expect(status.text).toBe('not started: Port must be a whole number from 0 to 65535, got "99999"');
  });

  test('ring → answer → hangup, with msg.call as flows expect it', async () => {
    await loaded();
    const events = getNode('events');
    const ring = nextMessage(events);
    const out = panel.dial(`sip:1@127.0.0.1:${port}`);
    const msg = await ring;
    expect(msg.topic).toBe('ring');
    expect(msg.call).toMatchObject({ direction: 'inbound', from: { user: 'panel', display: 'Front Door' }, account: 'door', state: 'ringing' });
    expect(msg.call.source).toBe(`127.0.0.1:${panelTransport.port}`);

    const answered = nextMessage(events);
    const done = nextMessage(getNode('done'));
    getNode('act').receive({ action: 'answer', call: msg.call });
    expect((await done).payload).toBe('answer');
    expect((await answered).topic).toBe('answered');
    await waitFor(() => out.state === 'answered', 'panel sees the answer');

    const ended = nextMessage(events);
    getNode('act').receive({ action: 'hangup', call: msg.call });
    const e = await ended;
    expect(e.topic).toBe('ended');
    expect(e.payload).toMatchObject({ reason: 'local-bye' });
    await waitFor(() => out.isEnded, 'panel sees the BYE');
    expect(out.info.reason).toBe('remote-bye');
  });

  test('ring with msg.early sends 183 with SDP (early media) and the call stays unanswered', async () => {
    await loaded();
    const ring = nextMessage(getNode('events'));
    const out = panel.dial(`127.0.0.1:${port}`);
    const progress: unknown[] = [];
    out.on('progress', (status) => progress.push(status));
    const msg = await ring;
    getNode('act').receive({ action: 'ring', early: true, call: msg.call });
    await waitFor(() => progress.includes(183), '183 at the caller');
    expect(out.state).toBe('ringing');
    getNode('act').receive({ action: 'hangup', call: msg.call });
    await waitFor(() => out.isEnded, 'ended');
    expect(out.info.status).toBe(603);
  });

  test('reject with a chosen code reaches the caller', async () => {
    await loaded();
    const ring = nextMessage(getNode('events'));
    const out = panel.dial(`127.0.0.1:${port}`);
    const msg = await ring;
    getNode('act').receive({ action: 'reject', code: 603, call: msg.call });
    await waitFor(() => out.isEnded, 'caller ended');
    expect(out.info.status).toBe(603);
  });

  test('bad input gives clear errors: unknown call, unknown action, bad code', async () => {
    await loaded();
    const act = getNode('act');
    const errors: string[] = [];
    act.on('call:error', (c: { args: unknown[] }) => errors.push(String(c.args[0])));
    act.receive({ action: 'answer', call: { id: 'nope' } });
    act.receive({ action: 'explode', call: { id: 'nope' } });
    act.receive({ call: { id: 'x' } });
    act.receive({ action: 'reject', code: 42, call: { id: 'x' } });
    await waitFor(() => errors.length === 4, 'four errors');
    expect(errors.join('\n')).toMatch(/no live call with id nope/);
    expect(errors.join('\n')).toMatch(/unknown action "explode"/);
    expect(errors.join('\n')).toMatch(/no action/);
  });

  test('dial from the flow: the panel rings and answers, events arrive at sip-in', async () => {
    await loaded();
    panel.on('call', (c: Call) => void c.answer());
    const done = nextMessage(getNode('done'));
    getNode('act').receive({ action: 'dial', payload: `sip:panel@127.0.0.1:${panelTransport.port}` });
    const d = await done;
    expect(d.call).toMatchObject({ direction: 'outbound', state: 'calling' });
    const seen: string[] = [];
    getNode('events').on('input', (m: any) => seen.push(m.topic));
    await waitFor(() => seen.includes('answered'), 'answered event');
  });

  test('per-target routing: msg.account picks the account by name', async () => {
    await loaded();
    panel.on('call', (c: Call) => void c.answer());
    const done = nextMessage(getNode('done'));
    getNode('act').receive({ action: 'dial', account: 'door', payload: `sip:panel@127.0.0.1:${panelTransport.port}` });
    expect((await done).call).toMatchObject({ account: 'door', direction: 'outbound' });
    const errors: string[] = [];
    getNode('act').on('call:error', (c: { args: unknown[] }) => errors.push(String(c.args[0])));
    getNode('act').receive({ action: 'dial', account: 'nope', payload: '1' });
    await waitFor(() => errors.length === 1, 'error');
    expect(errors[0]).toMatch(/no started SIP account named "nope"/);
  });

  test('the SIP trace is downloadable with the password masked; close frees the port', async () => {
    await loaded({ mode: 'client', server: `127.0.0.1:${panelTransport.port}`, user: 'door' });
    // the "server" is our panel endpoint, which does not do REGISTER: 405 → failed status
    await waitFor(() => (getNode('acc') as any).account.status === 'failed', 'registration failed');
    const res = await helper.request().get('/intercom-sip-account/acc/trace').expect(200);
    expect(res.text).toContain('REGISTER sip:127.0.0.1 SIP/2.0');
    expect(res.text).not.toContain('Sup3rSecret');
    await helper.unload();
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, '127.0.0.1', () => resolve());
    });
    s.close();
  });

  test('client mode against our registrar: sip-in says "registered", the status dot turns green', async () => {
    const registrar = new SipAccount({ name: 'reg', mode: 'registrar', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: await freeSipPort(), user: 'pbx', domain: '127.0.0.1', registrarAccounts: [{ user: 'door', password: 'Sup3rSecret' }] }, { mediaFactory: createRtpMediaFactory() });
    await registrar.start();
    try {
      const statuses: any[] = [];
      await helper.load(nodes, flow({ mode: 'client', server: `127.0.0.1:${registrar.port}`, domain: '127.0.0.1', user: 'door' }), { acc: { password: 'Sup3rSecret' } });
      getNode('in').on('call:status', (c: { args: unknown[] }) => statuses.push(c.args[0]));
      const msg = await nextMessage(getNode('events'));
      expect(msg).toMatchObject({ topic: 'registered', payload: { account: 'door' } });
      await waitFor(() => statuses.some((st) => st.fill === 'green' && st.shape === 'dot'), 'green dot');
      expect(registrar.registrar?.lookup('door')).toHaveLength(1);
      await helper.unload(); // unregister on close removes the binding
      await waitFor(() => registrar.registrar?.lookup('door').length === 0, 'binding removed');
    } finally {
      await registrar.close();
    }
  });

  test('failover account defined after the first one: an unregistered account dials via it', async () => {
    const dead = await freeSipPort();
    const f = [
      { id: 'acc', type: 'intercom-sip-account', name: 'pbx', mode: 'client', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, server: `127.0.0.1:${dead}`, user: 'door', failover: 'acc2' },
      { id: 'act', type: 'intercom-sip-call', account: 'acc', action: 'dial', wires: [['done']] },
      { id: 'done', type: 'helper' },
      { id: 'acc2', type: 'intercom-sip-account', name: 'backup', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: await freeSipPort(), user: 'door' },
    ];
    await helper.load(nodes, f, { acc: { password: 'x' } });
    await (getNode('acc2') as any).ready;
    panel.on('call', (c: Call) => void c.answer());
    const done = nextMessage(getNode('done'));
    getNode('act').receive({ payload: `sip:panel@127.0.0.1:${panelTransport.port}` });
    expect((await done).call.account).toBe('backup');
  });

  test('a bad allowed-sources entry is a clear configuration error', async () => {
    await helper.load(nodes, flow({ allowedSources: '300.1.2.3' }));
    await expect((getNode('acc') as any).ready).rejects.toThrow('Allowed sources: not an IP address or CIDR block (such as 192.168.1.20 or 10.0.0.0/8): 300.1.2.3');
  });
});
