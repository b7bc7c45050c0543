/**
 * What the WebRTC peer tests share: a loopback-only network (PEERS.md: ICE prefers the LAN
 * address otherwise), Debian's Chromium with a fake microphone playing a known tone, a
 * minimal sip.js phone page (test/peer/webrtc-page/) served with sip.js from our own
 * node_modules, and a Node HTTP server standing in for RED.server, which the account's SIP
 * WebSocket attaches to (the page's own origin).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumArgs } from '../helpers/browser';
import { inCI, which } from '../helpers/peers';
import { waitFor } from '../helpers/wait';

const root = path.resolve(__dirname, '../..');
declare const window: any;

/** Only loopback here (`unshare -n`, as scripts/test.js runs these files). */
export function loopbackOnly(): boolean {
  return Object.keys(os.networkInterfaces()).every((n) => n === 'lo');
}

/**
 * describe() for a WebRTC test: needs Chromium and the given programs, and a network with
 * nothing but loopback. Missing either fails in CI and skips with a notice elsewhere.
 */
export function describeWebRtc(programs: string[], title: string, body: () => void): void {
  const missing = ['chromium', ...programs].filter((p) => !which(p));
  const why = missing.length ? `missing ${missing.join(', ')}` : loopbackOnly() ? '' : 'not in a loopback-only network (run: unshare -n sh -c "ip link set lo up; exec npx jest --selectProjects peer <file>", or npm run test:peer)';
  if (!why) return describe(title, body);
  if (inCI) {
    describe(title, () => test(`WebRTC test prerequisites: ${why}`, () => {
      throw new Error(why);
    }));
    return;
  }
  process.stderr.write(`\n[peer] SKIPPED "${title}": ${why}\n`);
  describe.skip(title, body);
}

/** An 8 kHz or 48 kHz 16-bit mono WAV of a sine (sox), for a panel or the fake microphone. */
export function toneWav(file: string, hz: number, seconds: number, rate = 8000, volume = 0.3): string {
  execFileSync('sox', ['-n', '-r', String(rate), '-c', '1', '-b', '16', file, 'synth', String(seconds), 'sine', String(hz), 'vol', String(volume)]);
  return file;
}

/** The Goertzel power of `hz` in a 16-bit PCM WAV against its total power (0..1). */
export function toneShare(file: string, hz: number): number {
  const buf = readFileSync(file);
  const dataAt = buf.indexOf('data') + 8;
  const rate = buf.readUInt32LE(24);
  const n = Math.floor((buf.length - dataAt) / 2);
  const k = (2 * Math.PI * hz) / rate;
  let s1 = 0;
  let s2 = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const x = buf.readInt16LE(dataAt + i * 2) / 32768;
    total += x * x;
    const s = x + 2 * Math.cos(k) * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  const power = s1 * s1 + s2 * s2 - 2 * Math.cos(k) * s1 * s2;
  return total > 0 ? (2 * power) / (n * total) : 0;
}

export interface PageServer {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Serves the test phone and sip.js (unbundled, PEERS.md) on 127.0.0.1; RED.server's stand-in. */
export async function startPageServer(): Promise<PageServer> {
  const sipjs = path.join(root, 'node_modules/sip.js/lib');
  const pageDir = path.join(__dirname, 'webrtc-page');
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x').pathname;
    const file = u.startsWith('/sipjs/') ? path.join(sipjs, path.normalize(u.slice(7))) : path.join(pageDir, path.basename(u === '/' ? 'page.html' : u));
    if (!file.startsWith(sipjs) && !file.startsWith(pageDir)) return void res.writeHead(403).end();
    if (!existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': file.endsWith('.html') ? 'text/html' : 'text/javascript' }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}/page.html`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Chromium with a fake microphone that plays `micWav` (PEERS.md flags). */
export async function launchPhoneBrowser(micWav: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      ...chromiumArgs,
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${micWav}`,
      '--autoplay-policy=no-user-gesture-required',
      '--allow-loopback-in-peer-connection',
    ],
  });
}

export interface PhonePage {
  page: Page;
  state(): Promise<{ registered: boolean; refused: number | null; rings: number; ended: number; events: string[] }>;
  register(user: string, password: string): Promise<void>;
  answer(): Promise<void>;
  hangup(): Promise<void>;
  dtmf(tones: string): Promise<void>;
  tone(hz: number): Promise<number>;
  video(): Promise<{ framesDecoded: number; width: number; height: number; keyFramesDecoded: number; pliCount: number } | null>;
  call(target: string): Promise<void>;
  /** from getStats: the gateway's sender reports about its audio, and its report blocks about the page's */
  audioReports(): Promise<{ srs: number; remotePacketsSent: number; rtt: number | null; remoteLost: number | null } | null>;
}

export async function openPhone(browser: Browser, server: PageServer, wsPath: string): Promise<PhonePage> {
  const page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => (window as unknown as { phoneReady?: boolean }).phoneReady === true, undefined, { timeout: 20000 });
  const ws = `ws://127.0.0.1:${server.port}${wsPath}`;
  type W = { phone: Record<string, (...a: unknown[]) => unknown> & { state: unknown } };
  return {
    page,
    state: () => page.evaluate(() => ({ ...((window as unknown as W).phone.state as object), session: undefined }) as never),
    register: (user, password) => page.evaluate(([s, u, p]) => (window as unknown as W).phone.register(s, u, p) as Promise<void>, [ws, user, password]),
    answer: () => page.evaluate(() => (window as unknown as W).phone.answer() as Promise<void>),
    hangup: () => page.evaluate(() => (window as unknown as W).phone.hangup() as Promise<void>),
    dtmf: (t) => page.evaluate((x) => (window as unknown as W).phone.dtmf(x) as Promise<void>, t),
    tone: (hz) => page.evaluate((x) => (window as unknown as W).phone.tone(x) as number, hz),
    video: () => page.evaluate(() => (window as unknown as W).phone.video() as Promise<never>),
    call: (target) => page.evaluate((t) => (window as unknown as W).phone.call(t) as Promise<void>, target),
    audioReports: () => page.evaluate(() => (window as unknown as W).phone.audioReports() as Promise<never>),
  };
}

/** UDP sockets this process holds (ss, in our own netns): what a call must give back. */
export function udpSocketsOfThisProcess(): number {
  const out = execFileSync('ss', ['-uanp'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(`pid=${process.pid},`)).length;
}

export async function waitState(p: PhonePage, what: string, pred: (s: Awaited<ReturnType<PhonePage['state']>>) => boolean, ms = 10000): Promise<void> {
  await waitFor(async () => pred(await p.state()), what, ms, 50);
}
