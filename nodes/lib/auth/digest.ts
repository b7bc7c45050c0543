/**
 * HTTP Digest authentication, one implementation for both sides and both protocols:
 * the door HTTP client and the SIP user agent answer challenges, the SIP registrar issues
 * and checks them. RFC 7616 (which obsoletes RFC 2617 and keeps its RFC 2069 form without
 * qop for old servers), with MD5, SHA-256 and SHA-512-256 (RFC 7616 §3.2; the same three for
 * SIP by RFC 8760 §2.2), their -sess variants for HTTP, qop "auth", userhash (§3.4.4) and
 * quoted values escaped (RFC 7230 §3.2.6).
 *
 * The server side is stateless about nonces: a nonce is its timestamp and an HMAC of it,
 * so a nonce we never issued is told apart from an expired one (stale=true, §3.3), and only
 * the highest nonce-count seen per nonce is kept, which refuses a replayed answer.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { IntercomError } from '../core/errors';
import { parseAuthParams, parseChallenges, quote } from './challenges';

export { parseAuthParams, parseChallenges };

export type DigestAlgorithm = 'MD5' | 'MD5-SESS' | 'SHA-256' | 'SHA-256-SESS' | 'SHA-512-256' | 'SHA-512-256-SESS';

const HASHES: Record<DigestAlgorithm, string> = {
  MD5: 'md5',
  'MD5-SESS': 'md5',
  'SHA-256': 'sha256',
  'SHA-256-SESS': 'sha256',
  'SHA-512-256': 'sha512-256',
  'SHA-512-256-SESS': 'sha512-256',
};

export interface Credentials {
  user: string;
  password: string;
}

export interface DigestChallenge {
  scheme: 'Digest';
  realm: string;
  nonce: string;
  opaque?: string;
  /** upper case; MD5 when the challenge names none (RFC 7616 §3.3) */
  algorithm: DigestAlgorithm;
  /** lower case; empty for an RFC 2069 challenge */
  qop: string[];
  stale: boolean;
  userhash: boolean;
}
/** The name SIP used for it. */
export type Challenge = DigestChallenge;

export function hash(alg: DigestAlgorithm, s: string): string {
  return createHash(HASHES[alg]).update(s, 'utf8').digest('hex');
}

function algorithmOf(v: string | undefined): DigestAlgorithm | undefined {
  const a = (v ?? 'MD5').toUpperCase();
  return a in HASHES ? (a as DigestAlgorithm) : undefined;
}

function strength(alg: DigestAlgorithm): number {
  return alg.startsWith('SHA-512-256') ? 3 : alg.startsWith('SHA-256') ? 2 : 1;
}

/** A challenge we can answer, or undefined (no nonce or realm, an algorithm or qop we lack). */
function answerable(params: Record<string, string>, sess: boolean): DigestChallenge | undefined {
  if (!params.nonce || params.realm === undefined) return undefined;
  const algorithm = algorithmOf(params.algorithm);
  if (!algorithm || (!sess && algorithm.endsWith('-SESS'))) return undefined;
  const qop = (params.qop ?? '').split(',').map((q) => q.trim().toLowerCase()).filter(Boolean);
  // §3.3: a server that lists qop wants one of them; only "auth" is answered here.
  if (qop.length > 0 && !qop.includes('auth')) return undefined;
  return {
    scheme: 'Digest',
    realm: params.realm,
    nonce: params.nonce,
    opaque: params.opaque,
    algorithm,
    qop,
    stale: (params.stale ?? '').toLowerCase() === 'true',
    userhash: (params.userhash ?? '').toLowerCase() === 'true',
  };
}

function strongest(header: string | string[] | undefined, sess: boolean): DigestChallenge | undefined {
  const found: DigestChallenge[] = [];
  for (const c of parseChallenges(header)) {
    const ch = c.scheme === 'digest' ? answerable(c.params, sess) : undefined;
    if (ch) found.push(ch);
  }
  // §3.7: a server may offer one challenge per algorithm; take the strongest we support.
  // The sort is stable, so among equals the server's order stands.
  found.sort((a, b) => strength(b.algorithm) - strength(a.algorithm));
  return found[0];
}

/** HTTP: the strongest Digest challenge of the WWW-Authenticate value(s), -sess included. */
export function pickDigestChallenge(header: string | string[] | undefined): DigestChallenge | undefined {
  return strongest(header, true);
}

/**
 * SIP: the challenge of one WWW-Authenticate or Proxy-Authenticate value, or undefined when
 * it is not one we can answer. SIP keeps to the plain algorithms, as it always did here.
 */
export function parseChallenge(value: string): DigestChallenge | undefined {
  return strongest(value, false);
}

/** printable ASCII: anything else travels as username* (RFC 7616 §3.4.4, RFC 5987 ext-value). */
const PLAIN = /^[\x20-\x7e]*$/;

function extValue(s: string): string {
  return "UTF-8''" + encodeURIComponent(s).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function fromExtValue(s: string): string | undefined {
  const m = /^UTF-8'[^']*'(.*)$/i.exec(s);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

interface ResponseInput {
  alg: DigestAlgorithm;
  user: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  /** with qop: nc as sent (8 hex digits), cnonce and qop */
  qop?: { nc: string; cnonce: string; qop: string };
  /** -sess needs the cnonce even without qop */
  cnonce?: string;
}

/** The request-digest of RFC 7616 §3.4.1, with A1 of §3.4.2 and A2 of §3.4.3. */
function requestDigest(r: ResponseInput): string {
  let ha1 = hash(r.alg, `${r.user}:${r.realm}:${r.password}`);
  if (r.alg.endsWith('-SESS')) ha1 = hash(r.alg, `${ha1}:${r.nonce}:${r.qop?.cnonce ?? r.cnonce ?? ''}`);
  const ha2 = hash(r.alg, `${r.method}:${r.uri}`);
  return r.qop ? hash(r.alg, `${ha1}:${r.nonce}:${r.qop.nc}:${r.qop.cnonce}:${r.qop.qop}:${ha2}`) : hash(r.alg, `${ha1}:${r.nonce}:${ha2}`);
}

/**
 * The Authorization (or Proxy-Authorization) value answering `ch` for one request
 * (RFC 7616 §3.4). `nc` counts the requests made with this nonce, from 1.
 */
export function authorize(ch: DigestChallenge, creds: Credentials, method: string, uri: string, nc: number, cnonce = randomBytes(16).toString('hex')): string {
  const useQop = ch.qop.length > 0;
  if (useQop && !ch.qop.includes('auth')) throw new IntercomError('auth.qopUnsupported', { qop: ch.qop.join(',') });
  const ncHex = nc.toString(16).padStart(8, '0');
  const response = requestDigest({
    alg: ch.algorithm,
    user: creds.user,
    realm: ch.realm,
    password: creds.password,
    method,
    uri,
    nonce: ch.nonce,
    qop: useQop ? { nc: ncHex, cnonce, qop: 'auth' } : undefined,
    cnonce,
  });
  const parts: string[] = [];
  // §3.4.4: with userhash the name is H(user:realm); a name that is not plain ASCII goes
  // as username* so it arrives as it was typed.
  if (ch.userhash) parts.push(`username=${quote(hash(ch.algorithm, `${creds.user}:${ch.realm}`))}`);
  else if (PLAIN.test(creds.user)) parts.push(`username=${quote(creds.user)}`);
  else parts.push(`username*=${extValue(creds.user)}`);
  parts.push(`realm=${quote(ch.realm)}`, `nonce=${quote(ch.nonce)}`, `uri=${quote(uri)}`, `algorithm=${ch.algorithm}`, `response="${response}"`);
  if (ch.opaque !== undefined) parts.push(`opaque=${quote(ch.opaque)}`);
  if (useQop) parts.push('qop=auth', `nc=${ncHex}`, `cnonce=${quote(cnonce)}`);
  else if (ch.algorithm.endsWith('-SESS')) parts.push(`cnonce=${quote(cnonce)}`);
  if (ch.userhash) parts.push('userhash=true');
  return 'Digest ' + parts.join(', ');
}

/** Why a server refused an Authorization: stable codes, texts in intercom.errors.auth.*. */
export type VerifyReason =
  | 'auth.notDigest'
  | 'auth.incomplete'
  | 'auth.wrongRealm'
  | 'auth.foreignNonce'
  | 'auth.unsupportedAlgorithm'
  | 'auth.unknownUser'
  | 'auth.wrongPassword'
  | 'auth.nonceExpired'
  | 'auth.replayedNonceCount';

export interface VerifyResult {
  ok: boolean;
  /** the answer was right but its nonce expired: challenge again with stale=true (§3.3) */
  stale?: boolean;
  reason?: VerifyReason;
  /** the account the answer names (resolved from a userhash) */
  user?: string;
}

/**
 * Server side: stateless nonces (timestamp + HMAC) that expire after `nonceTtlMs`, and a
 * per-nonce highest nonce-count so a captured Authorization cannot be replayed.
 */
export class DigestServer {
  private readonly secret = randomBytes(32);
  /** the password an unknown name is checked against, so it costs what a real one does */
  private readonly decoy = randomBytes(12).toString('hex');
  private readonly seen = new Map<string, number>();

  constructor(
    readonly realm: string,
    private readonly now: () => number,
    private readonly nonceTtlMs = 300_000,
  ) {}

  private mac(ts: string): string {
    return createHmac('sha256', this.secret).update(ts).digest('hex').slice(0, 32);
  }

  /** A WWW-Authenticate value with a fresh nonce. */
  challenge(algorithm: DigestAlgorithm, stale = false): string {
    const ts = this.now().toString(16);
    return `Digest realm=${quote(this.realm)}, nonce="${ts}.${this.mac(ts)}", algorithm=${algorithm}, qop="auth"${stale ? ', stale=true' : ''}`;
  }

  /**
   * Checks an Authorization value. `lookup(user)` gives the password of a known account;
   * `users()` lists the accounts, needed only to resolve a userhash answer.
   */
  verify(authorization: string, method: string, lookup: (user: string) => string | undefined, users?: () => Iterable<string>): VerifyResult {
    const sm = /^\s*Digest\s+(.*)$/is.exec(authorization);
    if (!sm) return { ok: false, reason: 'auth.notDigest' };
    const p = parseAuthParams(sm[1]);
    const named = p.username ?? (p['username*'] !== undefined ? fromExtValue(p['username*']) : undefined);
    if (!named || !p.nonce || !p.response || !p.uri) return { ok: false, reason: 'auth.incomplete' };
    if (p.qop && (!p.nc || !p.cnonce)) return { ok: false, reason: 'auth.incomplete', user: named };
    if (p.realm !== this.realm) return { ok: false, reason: 'auth.wrongRealm', user: named };
    const [ts, mac] = p.nonce.split('.');
    if (!mac || !safeEqual(mac, this.mac(ts ?? ''))) return { ok: false, reason: 'auth.foreignNonce', user: named };
    const alg = algorithmOf(p.algorithm);
    if (!alg) return { ok: false, reason: 'auth.unsupportedAlgorithm', user: named };
    let user = named;
    if ((p.userhash ?? '').toLowerCase() === 'true') {
      const found = [...(users?.() ?? [])].find((u) => safeEqual(hash(alg, `${u}:${this.realm}`), named.toLowerCase()));
      if (found === undefined) return { ok: false, reason: 'auth.unknownUser' };
      user = found;
    }
    const password = lookup(user);
    // A name that is no account costs the same hashing as a wrong password: the time of
    // the answer must not tell which names exist.
    const good = requestDigest({
      alg,
      user,
      realm: this.realm,
      password: password ?? this.decoy,
      method,
      uri: p.uri,
      nonce: p.nonce,
      qop: p.qop ? { nc: p.nc, cnonce: p.cnonce, qop: p.qop } : undefined,
      cnonce: p.cnonce,
    });
    const matches = safeEqual(good, p.response.toLowerCase());
    if (password === undefined) return { ok: false, reason: 'auth.unknownUser', user };
    if (!matches) return { ok: false, reason: 'auth.wrongPassword', user };
    const age = this.now() - parseInt(ts, 16);
    if (!(age >= 0 && age <= this.nonceTtlMs)) return { ok: false, stale: true, reason: 'auth.nonceExpired', user };
    if (p.qop) {
      const nc = parseInt(p.nc, 16);
      const last = this.seen.get(p.nonce) ?? 0;
      if (!(nc > last)) return { ok: false, reason: 'auth.replayedNonceCount', user };
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

/** Compares without leaking where two strings differ. */
function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
