/**
 * A small HTTP(S) client for door relays and camera snapshots, on node:http/https only.
 * What a panel on the LAN needs and a general client does not give by default:
 * - one total deadline per call (connect, headers, body, auth round trips), so a
 *   slow-loris peer cannot hold an open request for ever;
 * - a body size cap (a misconfigured URL can point at a video stream);
 * - Basic (RFC 7617) and Digest (RFC 7616) auth, with the digest nonce kept for the next
 *   request (nc counts up, §3.4) so an open usually costs one round trip;
 * - redirects followed only within the same origin: credentials never go to another host;
 * - TLS verification on by default, with a per-door opt-in for self-signed panels;
 * - `delivered` on every failure: whether the request may have reached the device,
 *   which decides whether a non-idempotent open may be retried.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { errorText } from '../core/errors';
import { basicAuthorization, hasBasicChallenge } from '../auth/basic';
import { authorize, pickDigestChallenge, type Credentials, type DigestChallenge } from '../auth/digest';
import { HttpError } from './errors';
import { redactUrl } from './redact';

export { HttpError, type HttpFailure } from './errors';
export { redactUrl } from './redact';

export type AuthMode = 'none' | 'basic' | 'digest' | 'auto';

export interface HttpRequestSpec {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  auth?: AuthMode;
  credentials?: Credentials;
  /** total deadline for the whole call, ms */
  timeoutMs?: number;
  maxBodyBytes?: number;
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** how many HTTP requests this call made (auth round trips, redirects) */
  requests: number;
}

export interface HttpClientOptions {
  /** accept self-signed / untrusted TLS certificates (most panels ship one) */
  insecureTls?: boolean;
  timeoutMs?: number;
  maxBodyBytes?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 3;
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL|HOSTNAME/i;

interface NonceState {
  challenge: DigestChallenge;
  nc: number;
}

export class HttpClient {
  private readonly insecureTls: boolean;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  /** digest challenge per origin, reused with a growing nc (RFC 7616 §3.4) */
  private readonly nonces = new Map<string, NonceState>();
  private readonly inflight = new Set<http.ClientRequest>();

  constructor(opts: HttpClientOptions = {}) {
    this.insecureTls = opts.insecureTls === true;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
  }

  async request(spec: HttpRequestSpec): Promise<HttpResult> {
    const deadline = Date.now() + (spec.timeoutMs ?? this.timeoutMs);
    const maxBody = spec.maxBodyBytes ?? this.maxBodyBytes;
    let url: URL;
    try {
      url = new URL(spec.url);
    } catch {
      throw new HttpError('http.badUrl', { url: redactUrl(spec.url) }, 'bad-url', false);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpError('http.notHttp', { protocol: url.protocol }, 'bad-url', false);
    const origin = url.origin;
    const mode: AuthMode = spec.credentials ? (spec.auth ?? 'auto') : 'none';
    let requests = 0;
    let method = spec.method.toUpperCase();
    let body = spec.body;
    let redirects = 0;
    let authTries = 0;
    for (;;) {
      const headers: Record<string, string> = { ...(spec.headers ?? {}) };
      const target = url.pathname + url.search;
      if (spec.credentials && mode !== 'none') {
        const known = this.nonces.get(origin);
        if (mode === 'basic') headers.authorization = basicAuthorization(spec.credentials);
        else if (known && (mode === 'digest' || mode === 'auto')) {
          known.nc++;
          headers.authorization = authorize(known.challenge, spec.credentials, method, target, known.nc);
        }
      }
      requests++;
      let res: HttpResult;
      try {
        res = await this.once(url, method, headers, body, deadline, maxBody);
      } catch (err) {
        // node:http throws synchronously on a header it cannot send; nothing left then.
        throw err instanceof HttpError ? err.after(requests) : new HttpError('http.connectionFailed', { host: url.host, detail: errorText(err).slice(0, 80) }, 'network', false, requests);
      }
      res.requests = requests;
      if (res.status === 401 && spec.credentials && mode !== 'none' && authTries < 2) {
        const www = res.headers['www-authenticate'];
        const challenge = mode === 'basic' ? undefined : pickDigestChallenge(www);
        const hadAuth = headers.authorization !== undefined;
        if (challenge) {
          const prev = this.nonces.get(origin);
          // A second 401 for a fresh nonce means the password is wrong: stop here, one
          // request per try, no storm. A stale nonce (§3.3 stale=true) earns one retry.
          const staleRetry = challenge.stale === true || (prev !== undefined && prev.challenge.nonce !== challenge.nonce && authTries === 0);
          if (!hadAuth || staleRetry) {
            this.nonces.set(origin, { challenge, nc: 0 });
            authTries++;
            continue;
          }
          this.nonces.delete(origin);
        } else if (mode === 'auto' && !hadAuth && hasBasicChallenge(www)) {
          authTries++;
          spec = { ...spec, auth: 'basic' };
          return this.request({ ...spec, timeoutMs: Math.max(1, deadline - Date.now()) }).then((r) => ({ ...r, requests: r.requests + requests }));
        }
        return res;
      }
      if (REDIRECTS.has(res.status) && typeof res.headers.location === 'string') {
        let next: URL;
        try {
          next = new URL(res.headers.location, url);
        } catch {
          throw new HttpError('http.redirectInvalid', {}, 'redirect-refused', true, requests);
        }
        // Never carry credentials (or a door command) to another origin.
        if (next.origin !== origin) {
          throw new HttpError('http.redirectOtherHost', { host: next.host }, 'redirect-refused', true, requests);
        }
        if (++redirects > MAX_REDIRECTS) throw new HttpError('http.tooManyRedirects', { max: MAX_REDIRECTS }, 'redirect-refused', true, requests);
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      return res;
    }
  }

  private once(url: URL, method: string, headers: Record<string, string>, body: string | Buffer | undefined, deadline: number, maxBody: number): Promise<HttpResult> {
    return new Promise<HttpResult>((resolve, reject) => {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        reject(new HttpError('http.timedOut', {}, 'timeout', false));
        return;
      }
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
      if (payload) headers['content-length'] = String(payload.length);
      headers.connection = 'close';
      const isHttps = url.protocol === 'https:';
      const options: https.RequestOptions = {
        method,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || (isHttps ? 443 : 80),
        path: url.pathname + url.search,
        headers,
        agent: false,
      };
      if (isHttps) options.rejectUnauthorized = !this.insecureTls;
      let delivered = false;
      let settled = false;
      const req = (isHttps ? https : http).request(options);
      this.inflight.add(req);
      const finish = (err: HttpError | null, result?: HttpResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inflight.delete(req);
        if (err) {
          req.destroy();
          reject(err);
        } else resolve(result as HttpResult);
      };
      const timer = setTimeout(() => {
        finish(new HttpError('http.noAnswer', { host: url.host }, 'timeout', delivered));
      }, remaining);
      req.on('finish', () => {
        delivered = true;
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? '';
        if (TLS_CODES.test(code) || TLS_CODES.test(err.message)) {
          finish(new HttpError('http.tls', { host: url.host, detail: (code || err.message).slice(0, 80) }, 'tls', false));
        } else if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL'].includes(code)) {
          finish(new HttpError('http.unreachable', { host: url.host, detail: code }, 'unreachable', false));
        } else if (code.startsWith('HPE_')) {
          finish(new HttpError('http.notHttpAnswer', { host: url.host, detail: code }, 'network', delivered));
        } else {
          finish(new HttpError('http.connectionFailed', { host: url.host, detail: (code || err.message).slice(0, 80) }, 'network', delivered));
        }
      });
      req.on('response', (res: http.IncomingMessage) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBody) {
          finish(new HttpError('http.tooLargeDeclared', { bytes: declared, max: maxBody }, 'too-large', true));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBody) {
            finish(new HttpError('http.tooLarge', { max: maxBody }, 'too-large', true));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => finish(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), requests: 1 }));
        res.on('error', (err: Error) => finish(new HttpError('http.brokeOff', { host: url.host, detail: err.message.slice(0, 80) }, 'network', true)));
        res.on('aborted', () => finish(new HttpError('http.brokeOff', { host: url.host, detail: 'aborted' }, 'network', true)));
      });
      req.end(payload);
    });
  }

  /** Abort whatever is in flight (node close). */
  close(): void {
    for (const req of this.inflight) req.destroy();
    this.inflight.clear();
    this.nonces.clear();
  }
}
