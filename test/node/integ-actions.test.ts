/**
 * intercom-sip-call's media actions in a running Node-RED: forward by the apartment table
 * (all at once: the first answer wins, the other phone gets CANCEL, the panel is bridged
 * to the answering phone), then play / dtmf / bridge on the live calls and their errors.
 * Panel and phones are our own SIP core on other loopback ports.
 */
import { getNode, helper } from '../helpers/node-red';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { SipTransport } from '../../nodes/lib/sip/transport';
import { SipEndpoint } from '../../nodes/lib/sip/endpoint';
import { silentMediaFactory } from '../helpers/silent-media';
import type { Call } from '../../nodes/lib/sip/call';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');

jest.setTimeout(20000);

describe('intercom-sip-call forward / play / dtmf / bridge', () => {
  const transports: SipTransport[] = [];
  const endpoints: SipEndpoint[] = [];
  async function endpoint(user: string): Promise<{ ep: SipEndpoint; port: number }> {
    const t = new SipTransport({ protocol: 'udp', host: '127.0.0.1', port: await freeSipPort() });
    await t.start();
    transports.push(t);
    const ep = new SipEndpoint({ transport: t, mediaFactory: silentMediaFactory(), mode: 'p2p', user });
    endpoints.push(ep);
    return { ep, port: t.port };
  }
  beforeEach(async () => {
    await new Promise<void>((r) => helper.startServer(() => r()));
  });
  afterEach(async () => {
    for (const e of endpoints.splice(0)) await e.close();
    for (const t of transports.splice(0)) await t.close();
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
  });

  test('apartment 223 → two phones at once; the second answers and is bridged; then play, dtmf, bridge errors', async () => {
    const port = await freeSipPort();
    const panel = await endpoint('panel');
    const p1 = await endpoint('p1');
    const p2 = await endpoint('p2');
    const p1Calls: Call[] = [];
    p1.ep.on('call', (c: Call) => {
      p1Calls.push(c);
      void c.ring();
    });
    const p2Calls: Call[] = [];
    p2.ep.on('call', (c: Call) => {
      p2Calls.push(c);
      void c.ring();
      setTimeout(() => void c.answer(), 300);
    });
    const flow = [
      { id: 'acc', type: 'intercom-sip-account', name: 'door', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1' },
      { id: 'in', type: 'intercom-sip-in', account: 'acc', events: 'ring', wires: [['fwd']] },
      {
        id: 'fwd', type: 'intercom-sip-call', account: 'acc', action: 'forward', forwardMode: 'all', ringTime: 5,
        apartments: `# floor 2\n223: sip:p1@127.0.0.1:${p1.port}, sip:p2@127.0.0.1:${p2.port}\n1050: sip:nobody@127.0.0.1:9`, wires: [['out']],
      },
      { id: 'act', type: 'intercom-sip-call', account: 'acc', action: 'msg', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load([accountNode, inNode, callNode], flow);
    await (getNode('acc') as any).ready;
    const out: Array<Record<string, any>> = [];
    getNode('out').on('input', (m: Record<string, any>) => out.push(m));

    const panelCall = panel.ep.dial(`sip:223@127.0.0.1:${port}`);
    const fw = await waitFor(() => out.find((m) => m.payload === 'forwarded'), 'forwarded', 8000);
    expect(out.find((m) => m.payload === 'forward')?.forward).toMatchObject({ targets: [`sip:p1@127.0.0.1:${p1.port}`, `sip:p2@127.0.0.1:${p2.port}`], mode: 'all' });
    expect(fw!.forward).toEqual({ target: `sip:p2@127.0.0.1:${p2.port}` });
    expect(fw!.leg).toMatchObject({ direction: 'outbound', state: 'answered' });
    expect(panelCall.state).toBe('answered');
    await waitFor(() => p1Calls[0]?.isEnded, 'p1 cancelled', 3000);
    expect(p1Calls[0].info).toMatchObject({ reason: 'cancelled', status: 487 });

    const act = getNode('act');
    const errors: string[] = [];
    act.on('call:error', (c: { args: unknown[] }) => errors.push(String(c.args[0])));
    act.receive({ action: 'play', prompt: 'beep', call: fw!.call });
    await waitFor(() => out.find((m) => m.payload === 'play'), 'play done', 3000);
    act.receive({ action: 'dtmf', digits: '12#', call: fw!.leg });
    await waitFor(() => out.find((m) => m.payload === 'dtmf'), 'dtmf sent', 3000);
    act.receive({ action: 'dtmf', digits: '9x', call: fw!.call });
    act.receive({ action: 'play', prompt: 'no-such-prompt', call: fw!.call });
    act.receive({ action: 'bridge', call: fw!.call, bridge: { id: 'gone' } });
    act.receive({ action: 'forward', call: fw!.call, targets: 'http://x' });
    await waitFor(() => errors.length === 4, `four errors (${errors.join(' | ')})`, 3000);
    const all = errors.join('\n');
    expect(all).toMatch(/dtmf needs msg.digits/);
    expect(all).toMatch(/no-such-prompt/);
    expect(all).toMatch(/no live call with id gone/);
    expect(all).toMatch(/forward target "http:\/\/x"/);

    // the panel hangs up: the bridged phone gets BYE
    panelCall.hangup();
    await waitFor(() => p2Calls[0].isEnded, 'p2 hung up with the panel', 3000);
    expect(p2Calls[0].info.reason).toBe('remote-bye');
  });

  test('monitor first, then one by one: the monitor and the first phone are busy, nobody else answers → forward-failed', async () => {
    const port = await freeSipPort();
    const panel = await endpoint('panel');
    const mon = await endpoint('monitor');
    const p1 = await endpoint('p1');
    const p2 = await endpoint('p2');
    const order: string[] = [];
    mon.ep.on('call', (c: Call) => {
      order.push('monitor');
      c.reject(486);
    });
    p1.ep.on('call', (c: Call) => {
      order.push('p1');
      c.reject(486);
    });
    p2.ep.on('call', (c: Call) => {
      order.push('p2');
      void c.ring();
    });
    const flow = [
      { id: 'acc', type: 'intercom-sip-account', name: 'door', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1' },
      { id: 'in', type: 'intercom-sip-in', account: 'acc', events: 'ring', wires: [['fwd']] },
      {
        id: 'fwd', type: 'intercom-sip-call', account: 'acc', action: 'forward', forwardMode: 'sequential', ringTime: 0.5,
        monitor: `sip:monitor@127.0.0.1:${mon.port}`, monitorTime: 2, targets: `sip:p1@127.0.0.1:${p1.port}, sip:p2@127.0.0.1:${p2.port}`, wires: [['out']],
      },
      { id: 'out', type: 'helper' },
    ];
    await helper.load([accountNode, inNode, callNode], flow);
    await (getNode('acc') as any).ready;
    const out: Array<Record<string, any>> = [];
    getNode('out').on('input', (m: Record<string, any>) => out.push(m));
    const t0 = Date.now();
    panel.ep.dial(`sip:1@127.0.0.1:${port}`);
    const failed = await waitFor(() => out.find((m) => m.payload === 'forward-failed'), 'forward-failed', 6000);
    expect(failed!.forward).toEqual({ reason: 'no target answered' });
    expect(order).toEqual(['monitor', 'p1', 'p2']);
    // busy moves on at once; only p2's 0.5 s ring time was waited for
    expect(Date.now() - t0).toBeLessThan(1900);
  });

  test('an apartment not in the table: a clear error, nothing dialled', async () => {
    const port = await freeSipPort();
    const panel = await endpoint('panel');
    const flow = [
      { id: 'acc', type: 'intercom-sip-account', name: 'door', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1' },
      { id: 'in', type: 'intercom-sip-in', account: 'acc', events: 'ring', wires: [['fwd']] },
      { id: 'fwd', type: 'intercom-sip-call', account: 'acc', action: 'forward', apartments: '223: 5588', wires: [[]] },
    ];
    await helper.load([accountNode, inNode, callNode], flow);
    await (getNode('acc') as any).ready;
    const errors: string[] = [];
    getNode('fwd').on('call:error', (c: { args: unknown[] }) => errors.push(String(c.args[0])));
    panel.ep.dial(`sip:224@127.0.0.1:${port}`);
    await waitFor(() => errors.length === 1, 'error', 3000);
    expect(errors[0]).toMatch(/apartment table entry for "224"/);
  });
});
