/**
 * HTTP authentication for door relays: Basic (RFC 7617) and Digest (RFC 7616) with
 * MD5, MD5-sess, SHA-256 and SHA-256-sess, qop "auth" (and the RFC 2069 form without qop
 * that old panels still send). Pure functions: the HTTP client decides when to use them.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface Credentials {
  user: string;
  password: string;
}

export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque?: string;
  algorithm: string; // upper case as sent, default MD5 (RFC 7616 §3.3)
  qop?: string[];
  stale?: boolean;
  userhash?: boolean;
}

export function basicAuthorization(c: Credentials): string {
  // RFC 7617 §2: user-id ":" password, UTF-8, base64.
  return 'Basic ' + Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64');
}

/** Split a WWW-Authenticate header value into its challenges (scheme + params). */
export function parseChallenges(header: string | string[] | undefined): Array<{ scheme: string; params: Record<string, string> }> {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  const out: Array<{ scheme: string; params: Record<string, string> }> = [];
  // RFC 7235 §4.1 / §2.1: challenges and their auth-params are both comma separated; a
  // token that is not followed by "=" starts a new challenge (its scheme).
  const token = /[A-Za-z0-9!#$%&'*+.^_`|~-]+/y;
  for (const value of values) {
    let current: { scheme: string; params: Record<string, string> } | null = null;
    let i = 0;
    const skip = (): void => {
      while (i < value.length && /[\s,]/.test(value[i])) i++;
    };
    for (;;) {
      skip();
      if (i >= value.length) break;
      token.lastIndex = i;
      const m = token.exec(value);
      if (!m) break; // garbage: stop, keep what we have
      i = token.lastIndex;
      let j = i;
      while (j < value.length && value[j] === ' ') j++;
      if (value[j] !== '=') {
        current = { scheme: m[0].toLowerCase(), params: {} };
        out.push(current);
        continue;
      }
      i = j + 1;
      while (i < value.length && value[i] === ' ') i++;
      let v = '';
      if (value[i] === '"') {
        i++;
        while (i < value.length && value[i] !== '"') {
          if (value[i] === '\\' && i + 1 < value.length) i++;
          v += value[i++];
        }
        i++;
      } else {
        while (i < value.length && value[i] !== ',' && value[i] !== ' ') v += value[i++];
        // token68 padding ("abc==") is not a param; skip its trailing "="s
        while (value[i] === '=') i++;
      }
      if (current) current.params[m[0].toLowerCase()] = v;
    }
  }
  return out;
}

const HASHES: Record<string, 'md5' | 'sha256' | 'sha512-256'> = {
  MD5: 'md5',
  'MD5-SESS': 'md5',
  'SHA-256': 'sha256',
  'SHA-256-SESS': 'sha256',
};

/** The strongest digest challenge we support, or undefined (RFC 7616 §3.7: prefer the first we support in order of strength). */
export function pickDigestChallenge(header: string | string[] | undefined): DigestChallenge | undefined {
  const candidates: DigestChallenge[] = [];
  for (const c of parseChallenges(header)) {
    if (c.scheme !== 'digest' || !c.params.nonce || c.params.realm === undefined) continue;
    const algorithm = (c.params.algorithm ?? 'MD5').toUpperCase();
    if (!HASHES[algorithm]) continue;
    candidates.push({
      realm: c.params.realm,
      nonce: c.params.nonce,
      opaque: c.params.opaque,
      algorithm,
      qop: c.params.qop ? c.params.qop.split(',').map((q) => q.trim().toLowerCase()) : undefined,
      stale: c.params.stale?.toLowerCase() === 'true',
      userhash: c.params.userhash?.toLowerCase() === 'true',
    });
  }
  candidates.sort((a, b) => rank(b.algorithm) - rank(a.algorithm));
  return candidates[0];
}

function rank(alg: string): number {
  return alg.startsWith('SHA-256') ? 2 : 1;
}

export function hasBasicChallenge(header: string | string[] | undefined): boolean {
  return parseChallenges(header).some((c) => c.scheme === 'basic');
}

function h(alg: string, s: string): string {
  return createHash(HASHES[alg]).update(s, 'utf8').digest('hex');
}

export interface DigestInput {
  challenge: DigestChallenge;
  credentials: Credentials;
  method: string;
  uri: string; // request-target as sent
  nc: number;
  cnonce?: string;
}

/** The Authorization header value for one request (RFC 7616 §3.4). */
export function digestAuthorization(input: DigestInput): string {
  const { challenge: c, credentials, method, uri } = input;
  const alg = c.algorithm;
  const cnonce = input.cnonce ?? randomBytes(16).toString('hex');
  const nc = input.nc.toString(16).padStart(8, '0');
  const qop = c.qop ? (c.qop.includes('auth') ? 'auth' : undefined) : undefined;
  if (c.qop && !qop) throw new Error(`digest qop ${c.qop.join(',')} not supported (only auth)`);
  // §3.4.2: A1 = user:realm:password; for -sess, H(user:realm:password):nonce:cnonce.
  let ha1 = h(alg, `${credentials.user}:${c.realm}:${credentials.password}`);
  if (alg.endsWith('-SESS')) ha1 = h(alg, `${ha1}:${c.nonce}:${cnonce}`);
  // §3.4.3: A2 = method:uri for qop=auth.
  const ha2 = h(alg, `${method}:${uri}`);
  const response = qop ? h(alg, `${ha1}:${c.nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : h(alg, `${ha1}:${c.nonce}:${ha2}`);
  // §3.4.4: with userhash the username is H(user:realm).
  const username = c.userhash ? h(alg, `${credentials.user}:${c.realm}`) : credentials.user;
  const parts = [
    `username="${quote(username)}"`,
    `realm="${quote(c.realm)}"`,
    `nonce="${quote(c.nonce)}"`,
    `uri="${quote(uri)}"`,
    `algorithm=${alg}`,
    `response="${response}"`,
  ];
  if (c.opaque !== undefined) parts.push(`opaque="${quote(c.opaque)}"`);
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${quote(cnonce)}"`);
  if (c.userhash) parts.push('userhash=true');
  return 'Digest ' + parts.join(', ');
}

function quote(s: string): string {
  return s.replace(/[\\"]/g, (x) => '\\' + x);
}

export function md5Hex(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}
