/**
 * Who is using a door page: the page's user proves it knows its extension's password by
 * the same HTTP digest (RFC 7616, MD5, qop=auth) its SIP registration uses, against the
 * same realm, so a page can keep one HA1 for both and no password crosses the network.
 * A login gives an opaque session token, sent in a header (never a cookie: a cross-site
 * form cannot send it, and a framed page cannot be driven by another site). Only the
 * page's own users log in; an unknown user and a wrong password get the same answer, and
 * an address that keeps failing is told to wait.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DigestServer } from '../auth/digest';

export interface Session {
  user: string;
  /** the address the login came from (journaled with an Open) */
  address: string;
  createdAt: number;
  lastSeen: number;
}

export interface SessionOptions {
  realm: string;
  /** the users of this page */
  users: readonly string[];
  /** a page user's SIP password (the account's registrar password) */
  password(user: string): string | undefined;
  now?: () => number;
  /** a session unused this long ends (default 12 h) */
  idleMs?: number;
  /** sessions at once; the least recently used goes first (default 256) */
  maxSessions?: number;
  /** failed logins per address per window before 'wait' (default 10 per 5 min) */
  maxFailures?: number;
  failureWindowMs?: number;
}

export type LoginResult = { ok: true; token: string; user: string } | { ok: false; why: 'refused' | 'stale' | 'wait' };

const key = (token: string): string => createHash('sha256').update(token).digest('hex');

export class PageSessions {
  private readonly digest: DigestServer;
  /** by sha256 of the token: a lookup leaks nothing of a token's bytes through timing */
  private readonly sessions = new Map<string, Session>();
  private readonly failures = new Map<string, number[]>();
  private readonly now: () => number;

  constructor(private readonly opts: SessionOptions) {
    this.now = opts.now ?? Date.now;
    this.digest = new DigestServer(opts.realm, this.now);
  }

  get realm(): string {
    return this.opts.realm;
  }

  /** A WWW-Authenticate value with a fresh nonce, as the page's digest code reads it. */
  challenge(): string {
    return this.digest.challenge('MD5');
  }

  login(authorization: string, address: string): LoginResult {
    const now = this.now();
    const window = this.opts.failureWindowMs ?? 300_000;
    const recent = (this.failures.get(address) ?? []).filter((t) => now - t < window);
    if (recent.length >= (this.opts.maxFailures ?? 10)) return { ok: false, why: 'wait' };
    const v = this.digest.verify(authorization.slice(0, 2048), 'POST', (u) => (this.opts.users.includes(u) ? this.opts.password(u) : undefined));
    if (!v.ok || !v.user) {
      // A nonce is one per millisecond: two pages logging in at once share it, and the second
      // one's nc=1 reads as a replay. Either way the answer is a fresh challenge, never a session.
      if (v.stale || v.reason === 'auth.foreignNonce' || v.reason === 'auth.replayedNonceCount') return { ok: false, why: 'stale' };
      recent.push(now);
      this.failures.set(address, recent);
      if (this.failures.size > 1000) this.pruneFailures(now, window);
      return { ok: false, why: 'refused' };
    }
    this.failures.delete(address);
    const token = randomBytes(32).toString('base64url');
    this.sessions.set(key(token), { user: v.user, address, createdAt: now, lastSeen: now });
    this.evict(now);
    return { ok: true, token, user: v.user };
  }

  /** The live session a token names (its use keeps it alive), or nothing. */
  check(token: string | undefined): Session | undefined {
    if (!token || token.length > 100) return undefined;
    const k = key(token);
    const s = this.sessions.get(k);
    if (!s) return undefined;
    const now = this.now();
    if (now - s.lastSeen > (this.opts.idleMs ?? 12 * 3600_000) || !this.opts.users.includes(s.user)) {
      this.sessions.delete(k);
      return undefined;
    }
    s.lastSeen = now;
    // Most recently used last: eviction takes the front.
    this.sessions.delete(k);
    this.sessions.set(k, s);
    return s;
  }

  logout(token: string | undefined): void {
    if (token) this.sessions.delete(key(token));
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Every session ends (the node closes: a redeploy logs the pages in again). */
  clear(): void {
    this.sessions.clear();
    this.failures.clear();
  }

  private evict(now: number): void {
    const idle = this.opts.idleMs ?? 12 * 3600_000;
    for (const [k, s] of this.sessions) if (now - s.lastSeen > idle) this.sessions.delete(k);
    const max = this.opts.maxSessions ?? 256;
    for (const k of this.sessions.keys()) {
      if (this.sessions.size <= max) break;
      this.sessions.delete(k);
    }
  }

  private pruneFailures(now: number, window: number): void {
    for (const [a, list] of this.failures) if (!list.some((t) => now - t < window)) this.failures.delete(a);
  }
}
