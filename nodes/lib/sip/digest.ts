/**
 * HTTP digest for SIP (RFC 3261 §22, RFC 2617, RFC 7616) with MD5 and SHA-256 (RFC 8760),
 * qop=auth. Client side answers challenges; server side mints nonces that expire and
 * refuses replayed nonce-counts.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type DigestAlgorithm = 'MD5' | 'SHA-256';

export interface Challenge {
  scheme: string;
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: DigestAlgorithm;
  qop: string[];
  stale: boolean;
}

/** key="value", key=token, ... (auth-param list); never throws. */
export function parseAuthParams(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  return out;
}

export function parseChallenge(value: string): Challenge | undefined {
  const sm = /^\s*(\S+)\s+(.*)$/s.exec(value);
  if (!sm || sm[1].toLowerCase() !== 'digest') return undefined;
  const p = parseAuthParams(sm[2]);
  if (!p.realm || !p.nonce) return undefined;
  const alg = (p.algorithm ?? 'MD5').toUpperCase();
  if (alg !== 'MD5' && alg !== 'SHA-256') return undefined; // -sess variants are not offered by panels
  return {
    scheme: 'Digest',
    realm: p.realm,
    nonce: p.nonce,
    opaque: p.opaque,
    algorithm: alg,
    qop: (p.qop ?? '').split(',').map((q) => q.trim().toLowerCase()).filter(Boolean),
    stale: (p.stale ?? '').toLowerCase() === 'true',
  };
}

export function hash(alg: DigestAlgorithm, s: string): string {
  return createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');
}

export interface Credentials {
  user: string;
  password: string;
}

/** The Authorization / Proxy-Authorization value answering `ch` (RFC 7616 §3.4). */
export function authorize(ch: Challenge, creds: Credentials, method: string, uri: string, nc: number, cnonce = randomBytes(8).toString('hex')): string {
  const ha1 = hash(ch.algorithm, `${creds.user}:${ch.realm}:${creds.password}`);
  const ha2 = hash(ch.algorithm, `${method}:${uri}`);
  const useQop = ch.qop.includes('auth');
  const ncHex = nc.toString(16).padStart(8, '0');
  const response = useQop ? hash(ch.algorithm, `${ha1}:${ch.nonce}:${ncHex}:${cnonce}:auth:${ha2}`) : hash(ch.algorithm, `${ha1}:${ch.nonce}:${ha2}`);
  const parts = [
    `username="${creds.user}"`,
    `realm="${ch.realm}"`,
    `nonce="${ch.nonce}"`,
    `uri="${uri}"`,
    `response="${response}"`,
    `algorithm=${ch.algorithm}`,
  ];
  if (ch.opaque !== undefined) parts.push(`opaque="${ch.opaque}"`);
  if (useQop) parts.push('qop=auth', `nc=${ncHex}`, `cnonce="${cnonce}"`);
  return 'Digest ' + parts.join(', ');
}

export interface VerifyResult {
  ok: boolean;
  /** true when the response was right but the nonce has expired: challenge again with stale=true */
  stale?: boolean;
  reason?: string;
  user?: string;
}

/**
 * Server side: stateless nonces (timestamp + HMAC) that expire after `nonceTtlMs`, and a
 * per-nonce highest nonce-count so a captured Authorization cannot be replayed (RFC 7616 §3.3).
 */
export class DigestServer {
  private readonly secret = randomBytes(32);
  private readonly seen = new Map<string, number>();

  constructor(readonly realm: string, private readonly now: () => number, private readonly nonceTtlMs = 300_000) {}

  challenge(algorithm: DigestAlgorithm, stale = false): string {
    const ts = this.now().toString(16);
    const mac = createHmac('sha256', this.secret).update(ts).digest('hex').slice(0, 32);
    return `Digest realm="${this.realm}", nonce="${ts}.${mac}", algorithm=${algorithm}, qop="auth"${stale ? ', stale=true' : ''}`;
  }

  /** `lookup(user)` returns the password for a known account. */
  verify(authorization: string, method: string, lookup: (user: string) => string | undefined): VerifyResult {
    const sm = /^\s*Digest\s+(.*)$/is.exec(authorization);
    if (!sm) return { ok: false, reason: 'not digest' };
    const p = parseAuthParams(sm[1]);
    const user = p.username;
    if (!user || !p.nonce || !p.response || !p.uri) return { ok: false, reason: 'incomplete credentials' };
    if (p.realm !== this.realm) return { ok: false, reason: 'wrong realm', user };
    const [ts, mac] = p.nonce.split('.');
    const expect = createHmac('sha256', this.secret).update(ts ?? '').digest('hex').slice(0, 32);
    if (!mac || !safeEqual(mac, expect)) return { ok: false, reason: 'nonce not ours', user };
    const password = lookup(user);
    if (password === undefined) return { ok: false, reason: 'unknown user', user };
    const alg: DigestAlgorithm = (p.algorithm ?? 'MD5').toUpperCase() === 'SHA-256' ? 'SHA-256' : 'MD5';
    const ha1 = hash(alg, `${user}:${this.realm}:${password}`);
    const ha2 = hash(alg, `${method}:${p.uri}`);
    const good = p.qop ? hash(alg, `${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`) : hash(alg, `${ha1}:${p.nonce}:${ha2}`);
    if (!safeEqual(good, p.response.toLowerCase())) return { ok: false, reason: 'wrong password', user };
    const age = this.now() - parseInt(ts, 16);
    if (!(age >= 0 && age <= this.nonceTtlMs)) return { ok: false, stale: true, reason: 'nonce expired', user };
    if (p.qop) {
      const nc = parseInt(p.nc ?? '', 16);
      const last = this.seen.get(p.nonce) ?? 0;
      if (!(nc > last)) return { ok: false, reason: 'replayed nonce count', user };
      this.seen.set(p.nonce, nc);
      if (this.seen.size > 10000) this.prune();
    }
    return { ok: true, user };
  }

  private prune(): void {
    const cutoff = this.now() - this.nonceTtlMs;
    for (const n of this.seen.keys()) if (parseInt(n.split('.')[0], 16) < cutoff) this.seen.delete(n);
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
