/**
 * Forwarding end to end with real peers: a baresip "panel" calls our account, a queue of
 * three baresip "phones" rings one by one (ring time shortened to 1.5 s), the first two
 * never pick up and get CANCEL, the third auto-answers and is bridged to the panel; RTP
 * flows both ways through the bridge, and the panel hanging up ends the phone's call.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { SipAccount } from '../../nodes/lib/sip/account';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import type { Call } from '../../nodes/lib/sip/call';
import { ForwardCall } from '../../nodes/lib/calls/forward-call';
import type { RtpCallMedia } from '../../nodes/lib/media/call-media';
import { startBaresip, type Baresip } from './media-baresip';

jest.setTimeout(30000);

describeWithPeers(['baresip', 'sox'], 'forward queue with a baresip panel and three baresip phones', () => {
  const peers: Baresip[] = [];
  const dirs: string[] = [];
  let account: SipAccount | undefined;
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
    await account?.close();
    account = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const start = async (mode: 'auto' | 'manual'): Promise<Baresip> => {
    const dir = mkdtempSync(path.join(tmpdir(), 'forward-'));
    dirs.push(dir);
    const b = await startBaresip(dir, undefined, [], mode);
    peers.push(b);
    return b;
  };
  const types = (b: Baresip): string[] => b.events.map((e) => String(e.type)).filter(Boolean);

  test('one by one: phone 1 and 2 ring out and get CANCEL, phone 3 answers, audio both ways', async () => {
    const port = await freeSipPort();
    account = new SipAccount({ name: 'door', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1' }, { mediaFactory: createRtpMediaFactory() });
    await account.start();
    const [panel, p1, p2, p3] = await Promise.all([start('auto'), start('manual'), start('manual'), start('auto')]);
    const targets = [p1, p2, p3].map((p) => `sip:phone@127.0.0.1:${p.sipPort}`);

    let fwd: ForwardCall | undefined;
    let won: [Call, string] | undefined;
    const dialled: Array<{ target: string; at: number; leg: Call }> = [];
    const t0 = Date.now();
    let startError: unknown;
    account.on('call', (c: Call) => {
      if (c.direction !== 'inbound') return;
      fwd = new ForwardCall(account!, c, targets, { mode: 'sequential', perTargetMs: 1500 });
      fwd.on('dialing', (target: string, leg: Call) => dialled.push({ target, at: Date.now() - t0, leg }));
      fwd.on('answered', (leg: Call, t: string) => (won = [leg, t]));
      fwd.start().catch((err: unknown) => (startError = err));
    });
    panel.command('dial', `sip:1@127.0.0.1:${port}`);
    const answered = await waitFor(() => won, 'a phone answers', 10000);
    expect(startError).toBeUndefined();
    const [leg, target] = answered!;
    expect(target).toBe(targets[2]);
    expect(dialled.map((d) => d.target)).toEqual(targets);
    // one by one: each next phone only after the previous one's ring time
    expect(dialled[1].at - dialled[0].at).toBeGreaterThanOrEqual(1400);
    expect(dialled[2].at - dialled[1].at).toBeGreaterThanOrEqual(1400);

    // phones 1 and 2 rang and were cancelled, never connected
    for (const p of [p1, p2]) {
      await waitFor(() => types(p).includes('CALL_CLOSED'), 'CANCEL at a phone that did not answer', 8000);
      expect(types(p)).toContain('CALL_INCOMING');
      expect(types(p)).not.toContain('CALL_ESTABLISHED');
      // libre closes a session the caller CANCELled with ECONNRESET
      expect(String(p.events.find((e) => e.type === 'CALL_CLOSED')?.param)).toMatch(/reset|cancel|terminated/i);
    }
    // our side: 487 Request Terminated answers only a CANCEL (RFC 3261 §9.2)
    for (const d of dialled.slice(0, 2)) {
      await waitFor(() => d.leg.isEnded, 'cancelled leg ended', 8000);
      expect(d.leg.info).toMatchObject({ status: 487, reason: 'local-cancel' });
    }
    await waitFor(() => types(p3).includes('CALL_ESTABLISHED'), 'phone 3 established', 8000);

    // audio both ways through the bridge: count RTP on each leg over one second
    const panelMedia = fwd!.panel.media as RtpCallMedia;
    const legMedia = leg.media as RtpCallMedia;
    // the legs' audio may start a moment after phone 3 says established: wait until it runs
    // both ways, then count over one second
    const running = { panelIn: panelMedia.rtp!.stats.received, legIn: legMedia.rtp!.stats.received, ab: fwd!.bridge!.counts.aToB, ba: fwd!.bridge!.counts.bToA };
    await waitFor(
      () =>
        panelMedia.rtp!.stats.received - running.panelIn >= 5 &&
        legMedia.rtp!.stats.received - running.legIn >= 5 &&
        fwd!.bridge!.counts.aToB - running.ab >= 5 &&
        fwd!.bridge!.counts.bToA - running.ba >= 5,
      'audio through the bridge both ways',
      8000,
    );
    const before = { panelIn: panelMedia.rtp!.stats.received, legIn: legMedia.rtp!.stats.received, panelOut: panelMedia.rtp!.stats.sent, legOut: legMedia.rtp!.stats.sent, ab: fwd!.bridge!.counts.aToB, ba: fwd!.bridge!.counts.bToA };
    await delay(1000);
    const counts = fwd!.bridge!.counts;
    // 20 ms packets: ~50 per second each way; allow for a loaded CI machine
    expect(panelMedia.rtp!.stats.received - before.panelIn).toBeGreaterThan(30);
    expect(legMedia.rtp!.stats.received - before.legIn).toBeGreaterThan(30);
    expect(counts.aToB - before.ab).toBeGreaterThan(30); // panel → phone
    expect(counts.bToA - before.ba).toBeGreaterThan(30); // phone → panel
    expect(legMedia.rtp!.stats.sent - before.legOut).toBeGreaterThan(30);
    expect(panelMedia.rtp!.stats.sent - before.panelOut).toBeGreaterThan(30);

    // the panel hangs up: the phone's call is ended too
    panel.command('hangup');
    await waitFor(() => leg.isEnded, 'phone leg hung up after the panel left', 8000);
    await waitFor(() => types(p3).includes('CALL_CLOSED'), 'phone 3 got BYE', 8000);
  });
});
