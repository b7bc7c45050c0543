/**
 * Small HTTP servers on 127.0.0.1 that behave like each vendor's door endpoint as its
 * published API describes it, auth included. The digest check here is written from
 * RFC 7616 independently of nodes/lib/auth/digest.ts (lighttpd checks that one too).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface VendorServer {
  url: string;
  port: number;
  hits: Hit[];
  /** requests that passed authentication and reached the door command */
  opens: Hit[];
  logins: number;
  /** BAS-IP: forget every token, as a reboot does */
  revokeTokens(): void;
  /** answer every request with this status (500s, etc.) */
  failWith?: number;
  close(): Promise<void>;
}

export interface VendorAuth {
  user: string;
  password: string;
  realm?: string;
  algorithm?: 'MD5' | 'SHA-256' | 'MD5-sess' | 'SHA-256-sess';
  /** nonce lifetime in requests: after this many uses the server answers 401 stale=true */
  nonceUses?: number;
  pin?: string;
}

const hash = (alg: string, s: string): string => createHash(alg.startsWith('SHA-256') ? 'sha256' : 'md5').update(s).digest('hex');

function parseAuthParams(h: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of h.matchAll(/([a-z]+)=(?:"([^"]*)"|([^,\s]*))/gi)) out[m[1].toLowerCase()] = m[2] ?? m[3];
  return out;
}

class DigestGate {
  private nonces = new Map<string, number>(); // nonce -> uses
  stale = false;
  constructor(private readonly auth: VendorAuth) {}
  challenge(): string {
    const nonce = randomBytes(12).toString('hex');
    this.nonces.set(nonce, 0);
    const stale = this.stale ? ', stale=true' : '';
    this.stale = false;
    return `Digest realm="${this.auth.realm ?? 'door'}", qop="auth", algorithm=${this.auth.algorithm ?? 'MD5'}, nonce="${nonce}", opaque="op42"${stale}`;
  }
  ok(req: http.IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Digest ')) return false;
    const p = parseAuthParams(h.slice(7));
    const alg = this.auth.algorithm ?? 'MD5';
    const uses = this.nonces.get(p.nonce);
    if (uses === undefined || p.username !== this.auth.user || p.uri !== req.url || p.qop !== 'auth' || p.opaque !== 'op42') return false;
    if (p.algorithm?.toUpperCase() !== alg.toUpperCase()) return false;
    if (this.auth.nonceUses !== undefined && uses >= this.auth.nonceUses) {
      // RFC 7616 §3.3: the nonce expired but the credentials may be right: stale=true.
      this.nonces.delete(p.nonce);
      this.stale = true;
      return false;
    }
    this.nonces.set(p.nonce, uses + 1);
    let ha1 = hash(alg, `${this.auth.user}:${this.auth.realm ?? 'door'}:${this.auth.password}`);
    if (/-sess$/i.test(alg)) ha1 = hash(alg, `${ha1}:${p.nonce}:${p.cnonce}`);
    const ha2 = hash(alg, `${req.method}:${p.uri}`);
    return p.response === hash(alg, `${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`);
  }
}

function basicOk(req: http.IncomingMessage, a: VendorAuth): boolean {
  return req.headers.authorization === 'Basic ' + Buffer.from(`${a.user}:${a.password}`).toString('base64');
}

export type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse, s: VendorServer) => void;

export function json(res: http.ServerResponse, status: number, v: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(v));
}

export function withDigest(auth: VendorAuth, inner: Handler): Handler {
  const gate = new DigestGate(auth);
  return (req, body, res, s) => {
    if (!gate.ok(req)) {
      res.writeHead(401, { 'www-authenticate': gate.challenge() });
      res.end('Unauthorized');
      return;
    }
    inner(req, body, res, s);
  };
}

export function withBasic(auth: VendorAuth, inner: Handler): Handler {
  return (req, body, res, s) => {
    if (!basicOk(req, auth)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="door"' });
      res.end('Unauthorized');
      return;
    }
    inner(req, body, res, s);
  };
}

export function opened(s: VendorServer, req: http.IncomingMessage, body: string): void {
  s.opens.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
}

/** The vendor endpoints, keyed by preset id. */
export function vendorHandler(preset: string, auth: VendorAuth): Handler {
  switch (preset) {
    case '2n':
      return withDigest(auth, (req, body, res, s) => {
        if (req.method === 'GET' && /^\/api\/switch\/ctrl\?switch=\d+&action=trigger$/.test(req.url ?? '')) {
          opened(s, req, body);
          json(res, 200, { success: true });
        } else json(res, 200, { success: false, error: { code: 12, param: 'switch', description: 'invalid parameter value' } });
      });
    case 'bas-ip': {
      let tokens = new Set<string>();
      return (req, body, res, s) => {
        s.revokeTokens = () => (tokens = new Set());
        const u = new URL(req.url ?? '/', 'http://x');
        if (u.pathname === '/api/v0/login') {
          s.logins++;
          if (u.searchParams.get('username') === auth.user && u.searchParams.get('password') === hash('MD5', auth.password)) {
            const t = randomBytes(8).toString('hex');
            tokens.add(t);
            json(res, 200, { account_type: 'admin', token: t });
          } else json(res, 401, { error: 'Invalid credentials' });
          return;
        }
        if (req.method === 'GET' && /^\/api\/v0\/access\/general\/lock\/open\/remote\/accepted\/\d+$/.test(u.pathname)) {
          const t = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
          if (!t || !tokens.has(t)) return json(res, 401, { error: 'Unauthorized' });
          opened(s, req, body);
          return json(res, 200, {});
        }
        json(res, 404, {});
      };
    }
    case 'hikvision':
      return withDigest(auth, (req, body, res, s) => {
        if (req.method === 'PUT' && /^\/ISAPI\/AccessControl\/RemoteControl\/door\/\d+$/.test(req.url ?? '') && /<cmd>open<\/cmd>/.test(body)) {
          opened(s, req, body);
          res.writeHead(200, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?><ResponseStatus version="2.0"><requestURL>/ISAPI/AccessControl/RemoteControl/door/1</requestURL><statusCode>1</statusCode><statusString>OK</statusString><subStatusCode>ok</subStatusCode></ResponseStatus>');
        } else {
          res.writeHead(400, { 'content-type': 'application/xml' });
          res.end('<ResponseStatus><statusCode>4</statusCode><statusString>Invalid Operation</statusString></ResponseStatus>');
        }
      });
    case 'dahua':
      return withDigest(auth, (req, body, res, s) => {
        const u = new URL(req.url ?? '/', 'http://x');
        if (u.pathname === '/cgi-bin/accessControl.cgi' && u.searchParams.get('action') === 'openDoor' && u.searchParams.get('Type') === 'Remote' && u.searchParams.get('channel')) {
          opened(s, req, body);
          res.end('OK\r\n');
        } else res.end('Error\r\nBad Request!\r\n');
      });
    case 'akuvox':
      return (req, body, res, s) => {
        const u = new URL(req.url ?? '/', 'http://x');
        if (u.pathname === '/fcgi/do' && u.searchParams.get('action') === 'OpenDoor') {
          if (u.searchParams.get('UserName') !== auth.user || u.searchParams.get('Password') !== auth.password) return json(res, 401, { retcode: -1, message: 'auth failed' });
          opened(s, req, body);
          return json(res, 200, { retcode: 0, action: 'OpenDoor', message: 'OK' });
        }
        json(res, 404, {});
      };
    case 'doorbird':
      return withBasic(auth, (req, body, res, s) => {
        if (/^\/bha-api\/open-door\.cgi\?r=\d+$/.test(req.url ?? '')) {
          opened(s, req, body);
          json(res, 200, { BHA: { RETURNCODE: '1' } });
        } else json(res, 404, {});
      });
    case 'grandstream-gds': {
      const challenges = new Map<string, string>(); // idcode -> challenge
      return (req, body, res, s) => {
        const u = new URL(req.url ?? '/', 'http://x');
        res.setHeader('content-type', 'text/xml;charset=UTF-8');
        if (u.pathname !== '/goform/apicmd') return void res.writeHead(404).end();
        if (u.searchParams.get('cmd') === '0') {
          s.logins++;
          const ch = randomBytes(16).toString('hex');
          const id = randomBytes(10).toString('hex').toUpperCase();
          challenges.set(id, ch);
          return void res.end(`<?xml version="1.0" encoding="UTF-8"?><Configuration><ResCode>0</ResCode><ChallengeCode>${ch}</ChallengeCode><IDCode>${id}</IDCode><RetMsg>OK</RetMsg></Configuration>`);
        }
        const id = u.searchParams.get('idcode') ?? '';
        const ch = challenges.get(id);
        challenges.delete(id);
        const good = ch && u.searchParams.get('cmd') === '1' && u.searchParams.get('type') === '1' && u.searchParams.get('authcode') === hash('MD5', `${ch}:${auth.pin ?? ''}:${auth.password}`);
        if (!good) return void res.end('<?xml version="1.0" encoding="UTF-8"?><Configuration><ResCode>1</ResCode><RetMsg>Authentication error</RetMsg></Configuration>');
        opened(s, req, body);
        res.end('<?xml version="1.0" encoding="UTF-8"?><Configuration><ResCode>0</ResCode><RetMsg>Authentication OK</RetMsg></Configuration>');
      };
    }
    case 'beward':
      return withBasic(auth, (req, body, res, s) => {
        if (/^\/cgi-bin\/intercom_cgi\?action=(maindoor|altdoor)$/.test(req.url ?? '')) {
          opened(s, req, body);
          res.end('OK\r\n');
        } else res.writeHead(400).end('Error');
      });
    case 'shelly-gen1':
      return withBasic(auth, (req, body, res, s) => {
        const m = /^\/relay\/(\d)\?turn=on&timer=(\d+)$/.exec(req.url ?? '');
        if (!m) return json(res, 400, {});
        opened(s, req, body);
        json(res, 200, { ison: true, has_timer: true, timer_started: 1700000000, timer_duration: Number(m[2]), timer_remaining: Number(m[2]), source: 'http' });
      });
    case 'shelly-gen2':
      // Gen2 digest: SHA-256, user "admin", realm = device id (Shelly docs, Authentication).
      return withDigest({ ...auth, algorithm: 'SHA-256', realm: auth.realm ?? 'shellyplus1-a8032ab12345' }, (req, body, res, s) => {
        let p: { id?: unknown; on?: unknown; toggle_after?: unknown } = {};
        try {
          p = JSON.parse(body);
        } catch {
          /* bad body */
        }
        if (req.method === 'POST' && req.url === '/rpc/Switch.Set' && typeof p.id === 'number' && p.on === true) {
          opened(s, req, body);
          json(res, 200, { was_on: false });
        } else json(res, 400, { code: -103, message: 'Invalid argument' });
      });
    default:
      throw new Error('no vendor ' + preset);
  }
}

/** Serves `handler` on 127.0.0.1:`port` (0 = a free one; a fixed one to come back where it was). */
export function startServer(handler: Handler, port = 0): Promise<VendorServer> {
  const s: VendorServer = {
    url: '',
    port: 0,
    hits: [],
    opens: [],
    logins: 0,
    revokeTokens: () => undefined,
    close: () => Promise.resolve(),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      s.hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (s.failWith) {
        res.writeHead(s.failWith);
        res.end('failure');
        return;
      }
      handler(req, body, res, s);
    });
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      s.port = (server.address() as AddressInfo).port;
      s.url = `http://127.0.0.1:${s.port}`;
      s.close = () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        });
      resolve(s);
    });
  });
}

export function startVendor(preset: string, auth: VendorAuth, port = 0): Promise<VendorServer> {
  return startServer(vendorHandler(preset, auth), port);
}
