/**
 * SIP and media together in a running Node-RED: the account node gives every call real
 * RTP, SIP INFO and RFC 4733 key presses reach the flow as sip-in `dtmf` messages, a
 * silent peer is hung up (rtp-timeout), every call end frees its RTP port, and a door with
 * a DTMF action sends its digits into a live baresip call through the account.
 */
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { getNode, helper, nextMessage } from '../helpers/node-red';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { SipTransport } from '../../nodes/lib/sip/transport';
import { SipEndpoint } from '../../nodes/lib/sip/endpoint';
import { silentMediaFactory } from '../helpers/silent-media';
import { callRegistry } from '../../nodes/lib/sip/registry';
import { createRtpMediaFactory, type RtpCallMedia } from '../../nodes/lib/media/call-media';
import { startBaresip, type Baresip } from '../peer/media-baresip';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');

jest.setTimeout(30000);
const nodes = [accountNode, inNode, callNode, doorNode, doorOpenNode];

/** true when 127.0.0.1:port can be bound again (nobody holds it). */
function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function flow(port: number, extra: Record<string, unknown> = {}) {
  return [
    { id: 'acc', type: 'intercom-sip-account', name: 'door', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1', ...extra },
    { id: 'in', type: 'intercom-sip-in', account: 'acc', wires: [['events']] },
    { id: 'act', type: 'intercom-sip-call', account: 'acc', action: 'msg', wires: [['done']] },
    { id: 'd1', type: 'intercom-door', name: 'Panel relay', openKind: 'dtmf', digits: '9' },
    { id: 'o1', type: 'intercom-door-open', door: 'd1', wires: [['opened']] },
    { id: 'events', type: 'helper' },
    { id: 'done', type: 'helper' },
    { id: 'opened', type: 'helper' },
  ];
}

/** Every message at a helper node, for tests that look for one topic among many. */
function collect(id: string): Array<Record<string, any>> {
  const got: Array<Record<string, any>> = [];
  getNode(id).on('input', (m: Record<string, any>) => got.push(m));
  return got;
}

describe('account node media: INFO DTMF, rtp-timeout, ports freed', () => {
  let panel: SipEndpoint;
  let panelTransport: SipTransport;
  beforeEach(async () => {
    await new Promise<void>((r) => helper.startServer(() => r()));
    panelTransport = new SipTransport({ protocol: 'udp', host: '127.0.0.1', port: await freeSipPort() });
    await panelTransport.start();
    // The stand-in panel sends no RTP at all: exactly what a panel that lost power looks like.
    panel = new SipEndpoint({ transport: panelTransport, mediaFactory: silentMediaFactory(), mode: 'p2p', user: 'panel' });
  });
  afterEach(async () => {
    await panel.close();
    await panelTransport.close();
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
  });

  test('INFO key press → sip-in dtmf message; silent peer → rtp-timeout hang-up; RTP port freed', async () => {
    const port = await freeSipPort();
    await helper.load(nodes, flow(port, { rtpTimeout: 1 }));
    await (getNode('acc') as any).ready;
    const events = collect('events');
    const out = panel.dial(`sip:1@127.0.0.1:${port}`);
    await waitFor(() => events.find((m) => m.topic === 'ring'), 'ring');
    const ring = events.find((m) => m.topic === 'ring')!;
    getNode('act').receive({ action: 'answer', call: ring.call });
    await waitFor(() => out.state === 'answered', 'panel sees the answer');
    const ours = callRegistry.getCall(ring.call.id)!;
    const media = ours.media as RtpCallMedia;
    const rtpPort = media.rtp!.localPort;
    expect(await udpFree(rtpPort)).toBe(false);

    out.sendInfoDtmf('7');
    const dtmf = await waitFor(() => events.find((m) => m.topic === 'dtmf'), 'dtmf message');
    expect(dtmf).toMatchObject({ payload: '7', call: { id: ring.call.id }, dtmf: { method: 'info', digit: '7' } });

    const ended = (await waitFor(() => events.find((m) => m.topic === 'ended'), 'rtp-timeout hang-up', 4000))!;
    expect(ended.payload).toMatchObject({ reason: 'rtp-timeout' });
    await waitFor(() => out.isEnded, 'panel got the BYE');
    expect(out.info.reason).toBe('remote-bye');
    await waitFor(async () => (await udpFree(rtpPort)) || undefined, 'RTP port released', 2000);
    expect(events.filter((m) => m.topic === 'dtmf')).toHaveLength(1);
  });

  test('one key sent by RFC 4733 and SIP INFO at once is one sip-in dtmf message', async () => {
    // a panel with real media this time, set to "RFC 2833 + INFO" as some are
    const rtpPanel = new SipEndpoint({ transport: panelTransport, mediaFactory: createRtpMediaFactory({ rtcpIntervalMs: 0 }), mode: 'p2p', user: 'panel' });
    const port = await freeSipPort();
    await helper.load(nodes, flow(port));
    await (getNode('acc') as any).ready;
    const events = collect('events');
    const out = rtpPanel.dial(`sip:1@127.0.0.1:${port}`);
    const ring = (await waitFor(() => events.find((m) => m.topic === 'ring'), 'ring'))!;
    getNode('act').receive({ action: 'answer', call: ring.call });
    await waitFor(() => out.state === 'answered', 'answered');
    const ours = callRegistry.getCall(ring.call.id)!.media as RtpCallMedia;
    await waitFor(() => (ours.rtp!.stats.received > 3 ? true : undefined), 'panel RTP');
    const keys = (): string[] => events.filter((m) => m.topic === 'dtmf').map((m) => `${m.payload}:${m.dtmf.method}`);
    out.sendInfoDtmf('4');
    await (out.media as RtpCallMedia).sendDtmf('4');
    await waitFor(() => keys().length >= 1, 'the first key', 5000);
    await delay(400); // the RFC 4733 copy of the 4 would be out by now
    out.sendInfoDtmf('6');
    await waitFor(() => keys().length >= 2, 'the second key', 5000);
    await delay(400); // and any second message for the 6
    expect(keys()).toEqual(['4:info', '6:info']);
    out.hangup();
    await waitFor(() => events.find((m) => m.topic === 'ended'), 'ended');
    await rtpPanel.close();
  });

  test('redeploy with a call up: the account closes and its RTP port is free', async () => {
    const port = await freeSipPort();
    await helper.load(nodes, flow(port));
    await (getNode('acc') as any).ready;
    const ring = nextMessage(getNode('events'));
    const out = panel.dial(`sip:1@127.0.0.1:${port}`);
    const msg = await ring;
    getNode('act').receive({ action: 'answer', call: msg.call });
    await waitFor(() => out.state === 'answered', 'answered');
    const rtpPort = (callRegistry.getCall(msg.call.id)!.media as RtpCallMedia).rtp!.localPort;
    await helper.unload();
    expect(await udpFree(rtpPort)).toBe(true);
    expect(await udpFree(port)).toBe(true);
  });
});

describeWithPeers(['baresip', 'sox'], 'account node media against baresip', () => {
  let baresip: Baresip | undefined;
  let dir: string;
  beforeEach(async () => {
    await new Promise<void>((r) => helper.startServer(() => r()));
    dir = mkdtempSync(path.join(tmpdir(), 'integ-baresip-'));
  });
  afterEach(async () => {
    await baresip?.stop();
    baresip = undefined;
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('an account set to send DTMF by SIP INFO: the door\'s 9 reaches baresip as INFO', async () => {
    const port = await freeSipPort();
    await helper.load(nodes, flow(port, { dtmfSend: 'info', trace: true }));
    await (getNode('acc') as any).ready;
    baresip = await startBaresip(dir);
    const events = collect('events');
    baresip.command('dial', `sip:1@127.0.0.1:${port}`);
    const ring = (await waitFor(() => events.find((m) => m.topic === 'ring'), 'ring', 8000))!;
    getNode('act').receive({ action: 'answer', call: ring.call });
    await waitFor(() => baresip!.events.some((e) => e.type === 'CALL_ESTABLISHED'), 'baresip established', 5000);
    const opened = nextMessage(getNode('opened'), 5000);
    getNode('o1').receive({ call: ring.call });
    expect((await opened).door).toMatchObject({ outcome: 'ok' });
    await waitFor(() => baresip!.events.find((e) => e.type === 'CALL_DTMF_START'), 'baresip reports the INFO digit', 3000);
    expect(baresip.events.filter((e) => e.type === 'CALL_DTMF_START').map((e) => String(e.param))).toEqual(['9']);
    const trace = (getNode('acc') as any).account.trace.text() as string;
    expect(trace).toMatch(/INFO sip:/);
  });

  test('baresip calls, RTP flows, its RFC 4733 key reaches the flow, a DTMF door sends 9 into the call', async () => {
    const port = await freeSipPort();
    await helper.load(nodes, flow(port));
    await (getNode('acc') as any).ready;
    baresip = await startBaresip(dir);
    const events = collect('events');
    baresip.command('dial', `sip:1@127.0.0.1:${port}`);
    const ring = (await waitFor(() => events.find((m) => m.topic === 'ring'), 'ring', 8000))!;
    getNode('act').receive({ action: 'answer', call: ring.call });
    await waitFor(() => baresip!.events.some((e) => e.type === 'CALL_ESTABLISHED'), 'baresip established', 5000);
    const media = callRegistry.getCall(ring.call.id)!.media as RtpCallMedia;
    await waitFor(() => (media.rtp!.stats.received > 10 ? true : undefined), 'RTP from baresip', 5000);
    // ours flows too (its clock starts on the packet-time grid, up to 20 ms after the answer)
    await waitFor(() => (media.rtp!.stats.sent > 10 ? true : undefined), 'RTP to baresip', 5000);

    baresip.command('sndcode', '5');
    await delay(250);
    baresip.command('sndcode', '');
    const dtmf = await waitFor(() => events.find((m) => m.topic === 'dtmf'), 'dtmf from baresip', 3000);
    expect(dtmf).toMatchObject({ payload: '5', dtmf: { method: 'rfc4733' } });

    const opened = nextMessage(getNode('opened'), 5000);
    getNode('o1').receive({ call: ring.call });
    const res = await opened;
    expect(res.door).toMatchObject({ outcome: 'ok' });
    await waitFor(() => baresip!.events.find((e) => e.type === 'CALL_DTMF_START'), 'baresip reports the digit', 3000);
    expect(baresip.events.filter((e) => e.type === 'CALL_DTMF_START').map((e) => String(e.param))).toEqual(['9']);

    // A call id this account does not know: the door says so instead of claiming success.
    const failed = nextMessage(getNode('opened'), 5000);
    getNode('o1').receive({ call: { id: 'not-a-call' } });
    expect((await failed).payload).toBe('failed');

    const rtpPort = media.rtp!.localPort;
    getNode('act').receive({ action: 'hangup', call: ring.call });
    await waitFor(() => baresip!.events.some((e) => e.type === 'CALL_CLOSED'), 'baresip sees BYE', 5000);
    await waitFor(async () => (await udpFree(rtpPort)) || undefined, 'RTP port released', 2000);
  });
});
