/**
 * Video passthrough with real programs on loopback: a baresip panel with a camera (H.264
 * from a file ffmpeg made, baresip-ffmpeg's avformat + avcodec) calls the door; forwarded
 * to a sip.js page in Chromium, the page decodes its frames at the size sent; forwarded to
 * a baresip video phone, video flows both ways through the bridge; the viewer's keyframe
 * requests reach the sender as RTCP PLI/FIR. The packets are relayed, never decoded.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { SipAccount } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import { createCallMediaFactory } from '../../nodes/lib/media/media-factory';
import type { RtpCallMedia } from '../../nodes/lib/media/call-media';
import type { WebRtcCallMedia } from '../../nodes/lib/media/webrtc-media';
import { ForwardCall } from '../../nodes/lib/calls/forward-call';
import { RtspVideoSource } from '../../nodes/lib/media/rtsp-video';
import { spawn, type ChildProcess } from 'node:child_process';
import { freeTcpPort } from '../helpers/ports';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from './media-baresip';
import { describeWebRtc, launchPhoneBrowser, openPhone, type PageServer, type PhonePage, startPageServer, toneWav, waitState } from './webrtc-harness';

jest.setTimeout(90000);

/** A baresip config that sends the file as H.264 and takes video (shown nowhere). */
export function videoConfig(file: string): string[] {
  return ['module avcodec.so', 'module avformat.so', 'module fakevideo.so', `video_source avformat,${file}`, 'video_display fakevideo,nil', 'video_size 640x480', 'video_fps 15', 'video_bitrate 400000'];
}

/** 60 s of a test pattern, H.264 baseline (what a panel's camera sends). */
export function doorVideo(dir: string): string {
  const file = path.join(dir, 'door.mp4');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=640x480:rate=15', '-t', '60', '-c:v', 'libx264', '-profile:v', 'baseline', '-g', '30', '-pix_fmt', 'yuv420p', file]);
  return file;
}

describeWebRtc(['baresip', 'sox', 'ffmpeg'], 'video from the panel to a page and to a SIP video phone (baresip-ffmpeg)', () => {
  let dir: string;
  let server: PageServer;
  let browser: Browser;
  let account: SipAccount;
  let port: number;
  let video: string;
  const peers: Baresip[] = [];
  const calls: Call[] = [];
  const forwards: ForwardCall[] = [];
  let targets: string[] = ['hall'];
  let camera: (() => Promise<RtspVideoSource>) | undefined;

  const baresip = async (name: string, mode: 'auto' | 'manual' = 'auto', withVideo = true): Promise<Baresip> => {
    const d = path.join(dir, name);
    mkdirSync(d);
    const b = await startBaresip(d, toneWav(path.join(d, 'voice.wav'), 500, 60), withVideo ? videoConfig(video) : [], mode);
    peers.push(b);
    return b;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'webrtc-video-'));
    video = doorVideo(dir);
    server = await startPageServer();
    browser = await launchPhoneBrowser(toneWav(path.join(dir, 'mic.wav'), 600, 60, 48000));
    port = await freeSipPort();
    account = new SipAccount(
      {
        name: 'door', mode: 'registrar', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1/32',
        registrarAccounts: [{ user: 'hall', password: 'hall-secret' }],
        websocket: { on: 'node-red', path: '/sip', origins: [] },
      },
      { mediaFactory: createCallMediaFactory({ rtp: { video: true }, webrtc: { video: true } }), httpServer: { server: server.server, root: '/', secure: false } },
    );
    await account.start();
    account.on('call', (c: Call) => {
      calls.push(c);
      if (c.direction !== 'inbound') return;
      const f = new ForwardCall(account, c, targets, { mode: 'sequential', perTargetMs: 20000, ringback: false, camera });
      forwards.push(f);
      f.start().catch(() => undefined);
    });
  });
  afterEach(async () => {
    for (const c of calls.splice(0)) c.hangup();
    forwards.length = 0;
    await Promise.all(peers.splice(0).map((p) => p.stop()));
  });
  afterAll(async () => {
    await account?.close();
    await browser?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the page decodes the panel camera at the size sent; a keyframe request it sends reaches the gateway', async () => {
    targets = ['hall'];
    const phone: PhonePage = await openPhone(browser, server, '/sip');
    await phone.register('hall', 'hall-secret');
    await waitState(phone, 'registered', (s) => s.registered);
    const panel = await baresip('panel');
    panel.command('dial', `sip:door@127.0.0.1:${port}`);
    await waitState(phone, 'the page rings', (s) => s.rings === 1);
    await phone.answer();
    await waitFor(() => forwards[0]?.bridge, 'bridged', 10000);
    const panelMedia = forwards[0].panel.media as RtpCallMedia;
    expect(panelMedia.hasVideo).toBe(true);
    const first = (await waitFor(async () => {
      const v = await phone.video();
      return v && v.framesDecoded > 5 ? v : null;
    }, 'frames decoded in the page', 20000, 250))!;
    const leg = calls.find((c) => c.direction === 'outbound')!.media as WebRtcCallMedia;
    // and it goes on decoding, with what our leg sent (a busy machine may take a while)
    const later = (await waitFor(async () => {
      const v = await phone.video();
      return v && v.framesDecoded > first.framesDecoded + 5 && leg.stats.videoOut > 20 && leg.stats.shortPath.videoOut > 20 ? v : null;
    }, 'more frames decoded in the page', 10000, 250))!;
    expect(later.framesDecoded).toBeGreaterThan(first.framesDecoded + 5);
    expect({ width: later.width, height: later.height }).toEqual({ width: 640, height: 480 });
    expect(leg.stats.videoOut).toBeGreaterThan(20);
    // the frames the page decoded went over our short path (srtp.ts), not werift's sender
    expect(leg.stats.shortPath.videoOut).toBeGreaterThan(20);
    // the page decoded a keyframe; each keyframe request it sent (RTCP PLI: Chromium sends one
    // only when it lacks a picture, so a clean start may need none) reached the gateway's leg,
    // which passes it to the panel (test/unit/media-video-rtp.test.ts: every form of the request)
    expect(later.keyFramesDecoded).toBeGreaterThanOrEqual(1);
    if (later.pliCount > 0) await waitFor(() => leg.stats.keyframeRequests >= 1, `the page's ${later.pliCount} PLI at the gateway`, 3000);
    await phone.hangup();
    await phone.page.close();
  });

  test('forwarded to a baresip video phone: video flows both ways through the bridge', async () => {
    const phone = await baresip('phone');
    targets = [`sip:phone@127.0.0.1:${phone.sipPort}`];
    const panel = await baresip('panel2');
    panel.command('dial', `sip:door@127.0.0.1:${port}`);
    await waitFor(() => forwards[0]?.bridge, 'bridged to the video phone', 15000);
    const p = forwards[0].panel.media as RtpCallMedia;
    const leg = calls.find((c) => c.direction === 'outbound')!.media as RtpCallMedia;
    expect(p.hasVideo && leg.hasVideo).toBe(true);
    const stats = () => ({ panelIn: p.videoStats!.received, panelOut: p.videoStats!.sent, legIn: leg.videoStats!.received, legOut: leg.videoStats!.sent });
    // the video may start a moment after the bridge: wait until it runs through it both ways,
    // then count over two seconds
    const start = stats();
    await waitFor(() => {
      const n = stats();
      return n.panelIn - start.panelIn >= 5 && n.legOut - start.legOut >= 5 && n.legIn - start.legIn >= 5 && n.panelOut - start.panelOut >= 5;
    }, 'video through the bridge both ways', 10000);
    const a = stats();
    await delay(2000);
    const b = stats();
    // panel → phone and phone → panel, both counted on the wire at each end of the bridge
    expect(b.panelIn - a.panelIn).toBeGreaterThan(20);
    expect(b.legOut - a.legOut).toBeGreaterThan(20);
    expect(b.legIn - a.legIn).toBeGreaterThan(20);
    expect(b.panelOut - a.panelOut).toBeGreaterThan(20);
  });

  test("a panel without video: the page sees the door's RTSP camera, remuxed (ffmpeg -c copy), not transcoded", async () => {
    const rtspPort = await freeTcpPort();
    const rtsp: ChildProcess = spawn('/usr/bin/python3', [path.join(__dirname, 'snapshot-rtsp-server.py'), String(rtspPort), 'h264', '640', '480'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await waitFor(() => new Promise<boolean>((r) => rtsp.stdout!.once('data', (d) => r(String(d).includes('READY')))), 'RTSP server ready', 10000);
      const sources: RtspVideoSource[] = [];
      camera = async () => {
        const src = new RtspVideoSource({ url: `rtsp://127.0.0.1:${rtspPort}/door` });
        await src.start();
        sources.push(src);
        return src;
      };
      targets = ['hall'];
      const phone = await openPhone(browser, server, '/sip');
      await phone.register('hall', 'hall-secret');
      await waitState(phone, 'registered', (s) => s.registered);
      const panel = await baresip('audio-panel', 'auto', false);
      panel.command('dial', `sip:door@127.0.0.1:${port}`);
      await waitState(phone, 'the page rings', (s) => s.rings === 1);
      await phone.answer();
      await waitFor(() => forwards[0]?.bridge, 'bridged', 10000);
      expect((forwards[0].panel.media as RtpCallMedia).hasVideo).toBe(false);
      const v = (await waitFor(async () => {
        const x = await phone.video();
        return x && x.framesDecoded > 10 ? x : null;
      }, 'camera frames decoded in the page', 30000, 250))!;
      expect({ width: v.width, height: v.height }).toEqual({ width: 640, height: 480 });
      expect(sources[0].stats.packets).toBeGreaterThan(10);
      await phone.hangup();
      await waitFor(() => calls.every((c) => c.isEnded), 'both legs ended', 5000);
      // the camera's ffmpeg goes with the call
      await waitFor(() => forwards[0].camera === undefined, 'camera stopped', 5000);
    } finally {
      camera = undefined;
      rtsp.kill('SIGKILL');
    }
  });
});
