/**
 * The gateway end to end with real programs on loopback: a sip.js page in Debian's Chromium
 * registers over SIP over WebSocket (a wrong password is refused), a baresip panel calls
 * the door, the flow forwards the call to the page by its user name, the page answers and
 * the two talk: the panel's 1 kHz tone is heard in the page (WebAudio), the page's fake
 * microphone (600 Hz) is in the panel's recording, a keypad press reaches the panel as
 * RFC 4733, and hang-up from either side ends both legs and gives back every UDP port.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { SipAccount } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import { createCallMediaFactory } from '../../nodes/lib/media/media-factory';
import { ForwardCall } from '../../nodes/lib/calls/forward-call';
import type { WebRtcCallMedia } from '../../nodes/lib/media/webrtc-media';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from './media-baresip';
import { describeWebRtc, launchPhoneBrowser, openPhone, type PageServer, type PhonePage, startPageServer, toneShare, toneWav, udpSocketsOfThisProcess, waitState } from './webrtc-harness';

jest.setTimeout(60000);

describeWebRtc(['baresip', 'sox', 'ss'], 'a browser answers the door over WebRTC (sip.js in Chromium, baresip panel)', () => {
  let dir: string;
  let server: PageServer;
  let browser: Browser;
  let account: SipAccount;
  let panel: Baresip;
  let phone: PhonePage;
  let port: number;
  const calls: Call[] = [];
  const forwards: ForwardCall[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'webrtc-'));
    server = await startPageServer();
    browser = await launchPhoneBrowser(toneWav(path.join(dir, 'mic.wav'), 600, 60, 48000));
    port = await freeSipPort();
    account = new SipAccount(
      {
        name: 'door',
        mode: 'registrar',
        protocol: 'udp',
        bindAddress: '127.0.0.1',
        bindPort: port,
        user: 'door',
        allowedSources: '127.0.0.1/32',
        registrarAccounts: [{ user: 'hall', password: 'hall-secret' }],
        websocket: { on: 'node-red', path: '/sip', origins: [] },
      },
      { mediaFactory: createCallMediaFactory(), httpServer: { server: server.server, root: '/', secure: false } },
    );
    await account.start();
    account.on('call', (c: Call) => {
      calls.push(c);
      if (c.direction !== 'inbound') return;
      // the flow: forward the panel to the page, dialled by its registered name
      const f = new ForwardCall(account, c, ['hall'], { mode: 'sequential', perTargetMs: 20000 });
      forwards.push(f);
      f.start().catch(() => undefined);
    });
    panel = await startBaresip(dir, toneWav(path.join(dir, 'panel.wav'), 1000, 60), ['module sndfile.so', `snd_path ${dir}`]);
  });
  afterAll(async () => {
    await panel?.stop();
    await account?.close();
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the page registers over WebSocket; a wrong password is refused', async () => {
    const wrong = await openPhone(browser, server, '/sip');
    await wrong.register('hall', 'not-the-password').catch(() => undefined);
    await waitState(wrong, 'wrong password refused', (s) => s.refused === 403);
    expect((await wrong.state()).registered).toBe(false);
    await wrong.page.close();
    phone = await openPhone(browser, server, '/sip');
    await phone.register('hall', 'hall-secret');
    await waitState(phone, 'registered', (s) => s.registered);
    expect(account.registrar!.lookup('hall')).toHaveLength(1);
  });

  test('panel rings the page, answer, two-way audio, keypad to the panel as RFC 4733, page hangs up: both legs end, ports freed', async () => {
    const socketsBefore = udpSocketsOfThisProcess();
    panel.command('dial', `sip:door@127.0.0.1:${port}`);
    await waitState(phone, 'the page rings', (s) => s.rings === 1);
    await phone.answer();
    const fwd = (await waitFor(() => forwards[0]?.bridge && forwards[0], 'bridged', 10000))!;
    const leg = calls.find((c) => c.direction === 'outbound')!;
    expect((leg.media as WebRtcCallMedia).webrtc).toBe(true);
    // the panel's 1 kHz tone in the page: > 20 dB above the spectrum's median, and > 20 dB
    // above a frequency nobody sends (1.7 kHz: not a harmonic of 1 kHz)
    await waitFor(async () => (await phone.tone(1000)) > 20, "the panel's tone heard in the page", 10000, 200);
    expect((await phone.tone(1000)) - (await phone.tone(1700))).toBeGreaterThan(20);
    // keypad: RFC 4733 from the browser, relayed to the panel
    await phone.dtmf('5');
    await waitFor(() => panel.events.some((e) => e.type === 'CALL_DTMF_START' && String(e.param) === '5'), 'digit 5 at the panel', 5000);
    // let the panel record the page's microphone: wait for its packets (a busy machine may
    // need more than a second and a half for 50 of them)
    const short = (leg.media as WebRtcCallMedia).stats.shortPath;
    await waitFor(() => fwd.bridge!.counts.bToA > 50 && fwd.bridge!.counts.aToB > 50 && short.audioOut > 50 && short.audioIn > 50, 'audio both ways through the bridge and the short path', 10000);
    expect(fwd.bridge!.counts.bToA).toBeGreaterThan(50); // page → panel packets
    expect(fwd.bridge!.counts.aToB).toBeGreaterThan(50);
    // Chromium's SRTP both ways went over our short path (srtp.ts), not only werift's:
    // the tone and the microphone above crossed it, and nothing of the page's was refused
    expect(short.audioOut).toBeGreaterThan(50);
    expect(short.audioIn).toBeGreaterThan(50);
    expect(short.rejected).toBe(0);
    // RTCP for the audio (webrtc-fast.ts): the page gets our sender reports, and our report
    // blocks about its stream echo its own reports' times (Chromium computes a round trip
    // from them). They come every 2.5-7.5 s (RFC 3550's 5 s), not werift's 0.5-1.5 s.
    const first = (await waitFor(async () => {
      const r = await phone.audioReports();
      return r && r.srs > 0 && r.rtt !== null ? r : null;
    }, 'our sender and receiver reports in the page', 15000, 250))!;
    expect(first.remotePacketsSent).toBeGreaterThan(50);
    expect(first.rtt).toBeGreaterThanOrEqual(0);
    expect(first.rtt).toBeLessThan(0.5);
    expect(first.remoteLost).toBe(0);
    await delay(8000);
    const later = (await phone.audioReports())!;
    expect(later.srs - first.srs).toBeGreaterThanOrEqual(1);
    expect(later.srs - first.srs).toBeLessThanOrEqual(4);
    expect(later.remotePacketsSent).toBeGreaterThan(first.remotePacketsSent);
    // the page's own reports came in on the short path (their times are what the round trip
    // above echoes), and none was refused
    expect(short.rtcpIn).toBeGreaterThan(0);
    expect(short.rejected).toBe(0);
    // and the sender reports the page counted are the path's own
    expect(short.rtcpOut).toBeGreaterThanOrEqual(later.srs - first.srs);
    await phone.hangup();
    await waitFor(() => panel.events.some((e) => e.type === 'CALL_CLOSED'), 'the panel got BYE', 5000);
    await waitFor(() => calls.every((c) => c.isEnded), 'both legs ended', 5000);
    await Promise.all(calls.map((c) => c.mediaClosed));
    await waitFor(() => udpSocketsOfThisProcess() <= socketsBefore, 'every UDP port given back', 5000);
    // what the panel heard: the page's 600 Hz microphone
    const rec = readdirSync(dir).filter((f) => f.startsWith('dump-') && f.endsWith('-dec.wav'));
    expect(rec.length).toBeGreaterThan(0);
    // (the recording also holds the ring-back, 425 Hz, before the answer: compare with a control tone)
    const file = path.join(dir, rec[0]);
    expect(toneShare(file, 600)).toBeGreaterThan(0.1);
    expect(toneShare(file, 600)).toBeGreaterThan(20 * toneShare(file, 770));
  });

  test('the panel hangs up: the page call ends too', async () => {
    calls.length = 0;
    forwards.length = 0;
    panel.events.length = 0;
    const before = (await phone.state()).ended;
    panel.command('dial', `sip:door@127.0.0.1:${port}`);
    await waitState(phone, 'the page rings again', (s) => s.rings === 2);
    await phone.answer();
    await waitFor(() => forwards[0]?.bridge, 'bridged', 10000);
    await delay(500);
    panel.command('hangup');
    await waitState(phone, 'the page call ended', (s) => s.ended > before);
    await waitFor(() => calls.every((c) => c.isEnded), 'both legs ended', 5000);
  });

  test('a page that vanishes mid-call (tab closed): its leg ends, the panel is hung up, the account lives on', async () => {
    calls.length = 0;
    forwards.length = 0;
    panel.events.length = 0;
    const tab = await openPhone(browser, server, '/sip');
    await tab.register('hall', 'hall-secret');
    await waitState(tab, 'registered', (s) => s.registered);
    panel.command('dial', `sip:door@127.0.0.1:${port}`);
    await waitState(tab, 'the newest page rings', (s) => s.rings === 1);
    await tab.answer();
    await waitFor(() => forwards[0]?.bridge, 'bridged', 10000);
    await tab.page.close(); // no BYE: the WebSocket and the peer connection just go away
    await waitFor(() => calls.every((c) => c.isEnded), 'both legs ended', 10000);
    expect(calls.find((c) => c.direction === 'outbound')!.info.reason).toBe('ws-closed');
    await waitFor(() => panel.events.some((e) => e.type === 'CALL_CLOSED'), 'the panel got BYE', 5000);
    // its binding is gone; the first page is still registered and rings next time
    expect(account.registrar!.lookup('hall')).toHaveLength(1);
    expect(account.status).toBe('bound');
  });
});
