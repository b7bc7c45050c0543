/**
 * What a door page asks of Node-RED, below its path (`/door/...` under httpNodeRoot):
 *
 *   GET  /            the page; its script, style, the dashboard card module and sip.js
 *   GET  api/config   title, door, where SIP over WebSocket is, the page's words
 *   POST api/login    digest login (sessions.ts): a challenge, then a session token
 *   GET  api/ring     who rings, for the call the page's INVITE named (?call=<Call-ID>)
 *   GET  api/snapshot that ring's picture (or the door now, for Look)
 *   GET  api/look     the camera live (multipart JPEG) for a Look or while it rings
 *   POST api/open     Open: one message to the flow, and the flow's answer back
 *
 * Everything but the files and the config needs a session (header X-Intercom-Session).
 * Bad input gets a status and a short code, never a crash; nothing here opens a door:
 * Open only hands a request to the flow.
 */
import type * as http from 'node:http';
import type { Snapshot } from '../camera/snapshotter';
import type { IntercomError } from '../core/errors';
import type { Logger } from '../core/log';
import type { Call } from '../sip/call';
import type { PageConfig } from './config';
import { baseHeaders, readJson, sendFile, sendJson, StaticFiles } from './http';
import type { OpenRequest, OpenRequests } from './opens';
import type { RingBook } from './rings';
import type { PageSessions, Session } from './sessions';
import type { PageCatalog } from './texts';

export const SESSION_HEADER = 'x-intercom-session';

/** The door as the page shows it. */
export interface PageDoor {
  id: string;
  name: string;
  snapshot?(): Promise<Snapshot>;
  watch?(onFrame: (jpeg: Buffer) => void, onError?: (err: IntercomError) => void): () => void;
}

/** Where and how the page reaches the account's SIP over WebSocket. */
export interface BrowserSip {
  on: 'node-red' | 'port';
  /** on Node-RED's server: the path below httpNodeRoot; on its own port: the path there */
  path: string;
  port?: number;
  /** the SIP domain the page registers in (empty: the host it loaded from) */
  domain?: string;
  /** browser origins allowed besides the page's own: they may frame the page (a dashboard card) */
  origins: string[];
}

export interface OpenEvent {
  user: string;
  address: string;
  /** the page's call when it pressed Open in one (its origin is the panel's call) */
  leg?: Call;
  request: OpenRequest;
}

export interface PageApiOptions {
  config: PageConfig;
  sessions: PageSessions;
  opens: OpenRequests;
  rings: RingBook;
  catalog: PageCatalog;
  door?: PageDoor;
  sip: BrowserSip;
  /** the page's own files (index.html, door-page.js, door-page.css, card.js) */
  assetsDir: string;
  /** sip.js as the package depends on it: its lib/ and version */
  sipjs: { dir: string; version: string };
  open(ev: OpenEvent): void;
  look(who: { user: string; address: string }): void;
  log: Logger;
  /** a live view of a ring lasts at most this long (default 1 h) */
  maxRingLookMs?: number;
}

const ASSETS: Record<string, string> = { '/': 'index.html', '/index.html': 'index.html', '/door-page.js': 'door-page.js', '/door-page.css': 'door-page.css', '/card.js': 'card.js', '/icon.svg': 'icon.svg' };
const KEY = /^[A-Za-z0-9_-]{8,64}$/;

export class PageApi {
  private readonly assets: StaticFiles;
  private readonly sipjs: StaticFiles;
  private readonly streams = new Set<() => void>();

  constructor(private readonly o: PageApiOptions) {
    this.assets = new StaticFiles(o.assetsDir);
    this.sipjs = new StaticFiles(o.sipjs.dir);
  }

  /** One request below the page's path (`sub` is what follows it: '', '/', '/api/...'). */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, sub: string): Promise<void> {
    try {
      await this.route(req, res, sub);
    } catch (err) {
      this.o.log.warn('page.requestFailed', { path: sub.slice(0, 80), detail: (err as Error)?.message?.slice(0, 200) });
      sendJson(res, 500, { error: 'internal' });
    }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse, sub: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://page');
    const method = req.method ?? 'GET';
    if (sub === '') {
      // /door → /door/, relative so it holds under httpNodeRoot and behind a proxy (HA ingress).
      const last = this.o.config.path.split('/').pop();
      res.writeHead(301, baseHeaders({ Location: `${last}/${url.search}` }));
      return void res.end();
    }
    if (ASSETS[sub] || sub.startsWith('/sipjs/')) {
      if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, { error: 'method' });
      return this.file(res, sub);
    }
    const api = /^\/api\/([a-z]+)$/.exec(sub)?.[1];
    const routes: Record<string, [string, (s: Session | undefined) => Promise<void> | void, boolean]> = {
      config: ['GET', () => this.configOf(req, res), false],
      login: ['POST', () => this.login(req, res), false],
      logout: ['POST', () => this.logout(req, res), false],
      ring: ['GET', (s) => this.ring(res, s as Session, url), true],
      snapshot: ['GET', (s) => this.snapshot(res, s as Session, url), true],
      look: ['GET', (s) => this.look(req, res, s as Session, url), true],
      open: ['POST', (s) => this.openDoor(req, res, s as Session), true],
    };
    const route = api ? routes[api] : undefined;
    if (!route) return sendJson(res, 404, { error: 'not-found' });
    const [want, fn, needsSession] = route;
    if (method !== want) return sendJson(res, 405, { error: 'method' });
    const session = needsSession ? this.o.sessions.check(header(req, SESSION_HEADER)) : undefined;
    if (needsSession && !session) return sendJson(res, 401, { error: 'session' });
    await fn(session);
  }

  private async file(res: http.ServerResponse, sub: string): Promise<void> {
    if (sub.startsWith('/sipjs/')) {
      // sip.js by version: a browser may keep it for good, and an upgrade changes the path.
      const [, , version, ...rest] = sub.split('/');
      const f = version === this.o.sipjs.version && rest.length ? await this.sipjs.read(rest.join('/')) : undefined;
      if (!f || !f.type.startsWith('text/javascript')) return sendJson(res, 404, { error: 'not-found' });
      return sendFile(res, f, { 'Cache-Control': 'public, max-age=31536000, immutable' });
    }
    const name = ASSETS[sub];
    const f = await this.assets.read(name);
    if (!f) return sendJson(res, 404, { error: 'not-found' });
    const headers: Record<string, string> = { 'Cache-Control': 'no-cache' };
    if (name === 'index.html') headers['Content-Security-Policy'] = this.csp();
    // A dashboard loads the card as a module from its own origin: modules are fetched with CORS.
    if (name === 'card.js') headers['Access-Control-Allow-Origin'] = '*';
    sendFile(res, f, headers);
  }

  /** Only the page's own files run in it; only Node-RED's origin and the listed ones may frame it. */
  private csp(): string {
    const origins = this.o.sip.origins;
    const ancestors = origins.includes('*') ? '*' : ["'self'", ...origins].join(' ');
    return [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' blob: data:",
      "media-src 'self' blob: mediastream:",
      "connect-src 'self' ws: wss:",
      `frame-ancestors ${ancestors}`,
      "base-uri 'none'",
      "form-action 'none'",
      "object-src 'none'",
    ].join('; ');
  }

  private configOf(req: http.IncomingMessage, res: http.ServerResponse): void {
    const lang = this.o.catalog.pick(header(req, 'accept-language'));
    const door = this.o.door;
    sendJson(res, 200, {
      title: this.o.config.title ?? door?.name ?? this.o.config.name,
      path: this.o.config.path,
      door: door ? { name: door.name, camera: !!door.watch } : null,
      sip: { on: this.o.sip.on, path: this.o.sip.path, port: this.o.sip.port, domain: this.o.sip.domain },
      sipjs: this.o.sipjs.version,
      lookMs: this.o.config.lookMs,
      openWaitMs: this.o.config.openWaitMs,
      lang,
      texts: this.o.catalog.texts(lang),
    }, { 'Access-Control-Allow-Origin': '*' }); // public, and what the dashboard card module names itself with
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (!body) return sendJson(res, 400, { error: 'body' });
    const challenge = (): void => sendJson(res, 200, { challenge: this.o.sessions.challenge(), realm: this.o.sessions.realm });
    if (typeof body.authorization !== 'string' || !body.authorization) return challenge();
    const address = req.socket.remoteAddress ?? '';
    const r = this.o.sessions.login(body.authorization, address);
    if (r.ok) return sendJson(res, 200, { token: r.token, user: r.user, realm: this.o.sessions.realm });
    if (r.why === 'stale') return challenge();
    if (r.why === 'wait') return sendJson(res, 429, { error: 'wait' });
    this.o.log.warn('page.loginRefused', { address, user: typeof body.user === 'string' ? body.user.slice(0, 64) : '' });
    sendJson(res, 403, { error: 'refused' });
  }

  private logout(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.o.sessions.logout(header(req, SESSION_HEADER));
    sendJson(res, 200, { ok: true });
  }

  private ring(res: http.ServerResponse, s: Session, url: URL): void {
    const leg = this.o.rings.legOf(s.user, url.searchParams.get('call'));
    if (!leg) return sendJson(res, 404, { error: 'no-call' });
    const ring = this.o.rings.ringOf(leg);
    const from = (ring?.call ?? leg).info.from;
    sendJson(res, 200, {
      door: this.o.door?.name ?? null,
      from: { user: from.user, display: from.display },
      since: ring?.at ?? null,
      snapshot: !!(ring?.snapshot ?? this.o.door?.snapshot),
      camera: !!this.o.door?.watch,
    });
  }

  private async snapshot(res: http.ServerResponse, s: Session, url: URL): Promise<void> {
    const call = url.searchParams.get('call');
    const leg = call ? this.o.rings.legOf(s.user, call) : undefined;
    if (call && !leg) return sendJson(res, 404, { error: 'no-call' });
    const pending = (leg && this.o.rings.ringOf(leg)?.snapshot) ?? this.o.door?.snapshot?.();
    if (!pending) return sendJson(res, 404, { error: 'no-camera' });
    let snap: Snapshot;
    try {
      snap = await pending;
    } catch (err) {
      return sendJson(res, 502, { error: 'camera', code: (err as IntercomError)?.code });
    }
    res.writeHead(200, baseHeaders({ 'Content-Type': 'image/jpeg', 'Content-Length': String(snap.jpeg.length), 'X-Taken-At': String(snap.takenAt) }));
    res.end(snap.jpeg);
  }

  private look(req: http.IncomingMessage, res: http.ServerResponse, s: Session, url: URL): void {
    const watch = this.o.door?.watch;
    if (!watch) return sendJson(res, 404, { error: 'no-camera' });
    const call = url.searchParams.get('call');
    const leg = call ? this.o.rings.legOf(s.user, call) : undefined;
    if (call && !leg) return sendJson(res, 404, { error: 'no-call' });
    // Looking without a call is a message (who watched the door); the picture of a ring is part of the call.
    if (!leg) this.o.look({ user: s.user, address: req.socket.remoteAddress ?? '' });
    res.writeHead(200, baseHeaders({ 'Content-Type': 'multipart/x-mixed-replace; boundary=frame', Connection: 'keep-alive' }));
    let draining = false;
    const frame = (jpeg: Buffer): void => {
      // A slow viewer skips frames; nothing piles up for it.
      if (draining || res.writableEnded) return;
      res.write(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
      res.write(jpeg);
      if (!res.write('\r\n')) {
        draining = true;
        res.once('drain', () => (draining = false));
      }
    };
    const stop = watch(frame);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      stop();
      clearTimeout(timer);
      leg?.off('ended', end);
      this.streams.delete(end);
      if (!res.writableEnded) res.end();
    };
    const timer = setTimeout(end, leg ? (this.o.maxRingLookMs ?? 3600_000) : this.o.config.lookMs);
    leg?.once('ended', end);
    req.on('close', end);
    res.on('close', end);
    this.streams.add(end);
  }

  private async openDoor(req: http.IncomingMessage, res: http.ServerResponse, s: Session): Promise<void> {
    const body = await readJson(req);
    if (!body || typeof body.key !== 'string' || !KEY.test(body.key)) return sendJson(res, 400, { error: 'body' });
    // Pressed in a call that has ended since: still an Open, without the call.
    const leg = body.call === undefined ? undefined : this.o.rings.legOf(s.user, body.call);
    const b = this.o.opens.begin(s.user, body.key);
    if ('refused' in b) return sendJson(res, 429, { result: b.refused });
    if (b.fresh) this.o.open({ user: s.user, address: req.socket.remoteAddress ?? '', leg, request: b.request });
    sendJson(res, 200, await b.request.done);
  }

  /** Every live view ends (the node closes). */
  close(): void {
    for (const end of [...this.streams]) end();
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
