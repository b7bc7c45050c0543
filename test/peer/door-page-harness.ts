/**
 * What the door page's peer tests share: a real Node-RED (red.js, so its settings —
 * httpNodeAuth among them — apply as a user's would) loading this checkout's dist/ with a
 * flow written for the test, a fake 2N intercom that counts relay requests and serves
 * camera JPEGs, and the door page in Debian's Chromium driven through its own buttons.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launch, nodeRed4, type NodeRedInstance, repoRoot } from '../helpers/package';
import { freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

declare const window: any;
declare const document: any;

export type Flow = Array<Record<string, any>>;

export interface DoorNodeRed extends NodeRedInstance {
  port: number;
  /** the admin API with the test's admin credentials when adminAuth is on */
  admin(method: string, p: string, body?: unknown): Promise<{ status: number; body: string }>;
}

export interface NodeRedOptions {
  flows: Flow;
  /** flows_cred.json as Node-RED reads it with credentialSecret: false, by node id */
  credentials?: Record<string, Record<string, string>>;
  /** extra settings.js entries, as source text (`httpNodeAuth: {...}`) */
  settings?: string;
  /** the port to serve on (default: a free one) */
  port?: number;
}

/** Node-RED 4 on this Node with a user dir that loads the checkout (as `npm start` does). */
export async function startDoorNodeRed(opts: NodeRedOptions): Promise<DoorNodeRed> {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'door-page-nr-'));
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(repoRoot, path.join(dir, 'node_modules', 'node-red-contrib-sip-intercom'), 'dir');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true, dependencies: { 'node-red-contrib-sip-intercom': '*' } }));
  fs.writeFileSync(
    path.join(dir, 'settings.js'),
    `module.exports = {
  uiHost: '127.0.0.1',
  flowFile: 'flows.json',
  credentialSecret: false,
  logging: { console: { level: 'info', metrics: false, audit: false } },
  telemetry: { enabled: false, updateNotification: false },
  editorTheme: { projects: { enabled: false }, tours: false, palette: { catalogues: [] } },
  ${opts.settings ?? ''}
};
`,
  );
  fs.writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(opts.flows, null, 2));
  if (opts.credentials) fs.writeFileSync(path.join(dir, 'flows_cred.json'), JSON.stringify(opts.credentials, null, 2));
  const port = opts.port ?? (await freeTcpPort());
  const rt = nodeRed4();
  // Guarded by adminAuth or httpNodeAuth, /settings answers 401 once Node-RED is up.
  const guarded = /\b(adminAuth|httpNodeAuth)\b/.test(opts.settings ?? '');
  const nr = await launch(rt.node, [rt.redJs, '-u', dir, '-p', String(port)], { cwd: dir, env: {} }, port, dir, rt, 60000, (s) => s === 200 || (guarded && s === 401));
  const stop = nr.stop;
  return {
    ...nr,
    port,
    stop: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    admin: (method, p, body) => request(`${nr.url}${p}`, method, body),
  };
}

export function request(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request(url, { method, headers: { ...(data ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(data)) } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** The log lines Node-RED printed for a node type or text, to show when a test fails. */
export function logTail(nr: NodeRedInstance, n = 40): string {
  return nr.log().split('\n').slice(-n).join('\n');
}

/** A JPEG made by ffmpeg's test pattern: what the fake camera serves. */
export function testJpeg(dir: string, size = '320x240', color = 'testsrc'): Buffer {
  const file = path.join(dir, `cam-${size}-${color}.jpg`);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `${color}=size=${size}:rate=1`, '-frames:v', '1', file]);
  return fs.readFileSync(file);
}

export interface Fake2N {
  url: string;
  /** relay requests (GET /api/switch/ctrl), in order */
  opens: Array<{ at: number; url: string }>;
  snapshots: number;
  close(): Promise<void>;
}

/** A 2N IP intercom's HTTP API as far as the door uses it: switch trigger and camera snapshot. */
export async function startFake2N(jpeg: Buffer): Promise<Fake2N> {
  const opens: Fake2N['opens'] = [];
  const me = { snapshots: 0 };
  const server = http.createServer((req, res) => {
    const u = req.url ?? '';
    if (u.startsWith('/api/switch/ctrl')) {
      opens.push({ at: Date.now(), url: u });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"success": true}');
    } else if (u.startsWith('/api/camera/snapshot')) {
      me.snapshots++;
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length }).end(jpeg);
    } else res.writeHead(404).end();
  });
  const port = await new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
  return {
    url: `http://127.0.0.1:${port}`,
    opens,
    get snapshots() {
      return me.snapshots;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface DoorPage {
  page: Page;
  state(): Promise<{ view: string; registered: boolean; user: string | null; ringAt: number[]; frames: number; opens: string[]; notices: string[]; mic: string | null; video: boolean }>;
  text(id: string): Promise<string>;
  click(id: string): Promise<void>;
  login(user: string, password: string, remember?: boolean): Promise<void>;
  /** power (dB) of `hz` in what the page plays from the door, over the spectrum's median */
  tone(hz: number): Promise<number>;
}

/** The door page at `url` in a new tab, driven through its own buttons and form. */
export async function openDoorPage(browser: Browser, url: string, opts: { httpCredentials?: { username: string; password: string }; initScript?: () => void } = {}): Promise<DoorPage> {
  const context = await browser.newContext({ httpCredentials: opts.httpCredentials, permissions: ['microphone'] });
  if (opts.initScript) await context.addInitScript(opts.initScript);
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.doorPage && window.doorPage.view !== 'loading', undefined, { timeout: 30000 });
  const dp: DoorPage = {
    page,
    state: () => page.evaluate(() => JSON.parse(JSON.stringify(window.doorPage))),
    text: (id) => page.evaluate((i) => document.getElementById(i)?.textContent ?? '', id),
    click: async (id) => {
      await page.click('#' + id);
    },
    login: async (user, password, remember = false) => {
      await page.fill('#user', user);
      await page.fill('#password', password);
      await page.setChecked('#remember', remember);
      await page.click('#login-button');
    },
    tone: (hz) => toneIn(page, hz),
  };
  return dp;
}

/** Power (dB) of `hz` in what a page (or a frame) plays from the door, over the spectrum's median. */
export function toneIn(target: Pick<Page, 'evaluate'>, hz: number): Promise<number> {
  return target.evaluate((f) => {
    // WebAudio on the page's own <audio> element's stream: what the resident hears.
    const w = window as any;
    if (!w.__analyser) {
      const stream = document.getElementById('remote-audio').srcObject;
      if (!stream || !stream.getAudioTracks().length) return -1;
      const ctx = new w.AudioContext({ sampleRate: 48000 });
      const a = ctx.createAnalyser();
      a.fftSize = 8192;
      ctx.createMediaStreamSource(stream).connect(a);
      w.__analyser = a;
    }
    const a = w.__analyser;
    const bins = new Float32Array(a.frequencyBinCount);
    a.getFloatFrequencyData(bins);
    const bin = Math.round((f / (a.context.sampleRate / 2)) * bins.length);
    const peak = Math.max(bins[bin - 1], bins[bin], bins[bin + 1]);
    const sorted = [...bins].filter(Number.isFinite).sort((x, y) => x - y);
    return peak - sorted[Math.floor(sorted.length / 2)];
  }, hz);
}

export async function waitView(p: DoorPage, view: string, ms = 15000): Promise<void> {
  await waitFor(async () => (await p.state()).view === view, `page view ${view}`, ms, 50);
}

/** The journal's lines (JSON) as the journal node wrote them. */
export function journalLines(file: string): Array<Record<string, any>> {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** The ids the example flow and the tests agree on, looked up by type and name. */
export function nodeOf(flow: Flow, type: string, name?: string): Record<string, any> {
  const n = flow.find((x) => x.type === type && (name === undefined || x.name === name));
  if (!n) throw new Error(`no ${type}${name ? ` "${name}"` : ''} in the flow`);
  return n;
}

/** UDP sockets a process holds (ss, in our own netns): what a call must give back. */
export function udpSocketsOf(pid: number): number {
  return udpSocketList(pid).length;
}

export function udpSocketList(pid: number): string[] {
  const out = execFileSync('ss', ['-uanp'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(`pid=${pid},`)).map((l) => l.replace(/\s+/g, ' ').trim());
}

/** baresip registered (its `reginfo` says OK): it registers before its control socket is up, so the event is missed. */
export async function baresipRegistered(b: { command(c: string, p?: string): void; events: Array<Record<string, unknown>> }, ms = 15000): Promise<void> {
  await waitFor(
    async () => {
      b.command('reginfo');
      await new Promise((r) => setTimeout(r, 300));
      const last = [...b.events].reverse().find((e) => e.response === true && typeof e.data === 'string' && e.data.includes('User Agents'));
      // its status word is coloured (ANSI escapes): look for OK between them
      return !!last && /[\s\dm;[]OK[\s\x5b]/.test(String(last.data));
    },
    'baresip registered',
    ms,
    200,
  );
}
