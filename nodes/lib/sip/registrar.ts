/**
 * A registrar for panels and gateways (RFC 3261 §10.3): digest challenge with expiring,
 * replay-proof nonces (digest.ts), bindings with expiry, 423 for too-short intervals, and
 * admission by source address per account. It answers REGISTER only; calls from a
 * panel account are admitted by the endpoint through `authorizeInvite()` (digest again,
 * RFC 3261 §22.2: a registration proves nothing about who sends an INVITE later).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../core/log';
import type { Clock, TimerHandle } from './clock';
import { admitted, type CidrRule } from '../net/cidr';
import { type DigestAlgorithm, DigestServer, parseAuthParams } from '../auth/digest';
import { AuthGuard, type Lockout } from '../auth/guard';
import { LogSummary, type SummaryOptions } from '../net/summary';
import { type SecurityEvent, SecurityReports } from './security';
import type { RequestHandler } from './endpoint';
import { header, headers as headerValues, parseNameAddr, parseUri, randomToken, type SipRequest, splitComma } from './message';
import type { ResponseOptions, ServerTransaction } from './transactions';
import type { Remote } from './transport';

export interface RegistrarAccount {
  user: string;
  password: string;
  /** where this account may register from; empty = anywhere */
  allowedSources: CidrRule[];
}

export interface Binding {
  user: string;
  contact: string;
  expiresAt: number;
  source: Remote;
}

export interface RegistrarOptions {
  realm: string;
  accounts: RegistrarAccount[];
  clock: Clock;
  logger: Logger;
  algorithm?: DigestAlgorithm;
  nonceTtlMs?: number;
  minExpires?: number;
  maxExpires?: number;
  /** the account's name, in log lines and security events */
  account?: string;
  /** password guessing: delays and lockouts (auth/guard.ts); a fresh in-memory one if none */
  guard?: AuthGuard;
  /** how refusals are summarised (tests shorten it) */
  summary?: SummaryOptions;
}

type Tag = { toTag: string };

export class Registrar extends EventEmitter<{ binding: [user: string, contact: string, expires: number]; security: [ev: SecurityEvent]; error: [err: Error] }> implements RequestHandler {
  private readonly digest: DigestServer;
  private readonly bindings = new Map<string, Binding[]>();
  private readonly accounts = new Map<string, RegistrarAccount>();
  readonly guard: AuthGuard;
  readonly stats = { challenged: 0, refused: 0, registered: 0, locked: 0 };
  private readonly refusals: LogSummary;
  private readonly reports: SecurityReports;
  /** failures answered later (auth/guard.ts): cleared on close */
  private readonly delayed = new Set<TimerHandle>();
  private closed = false;

  constructor(private opts: RegistrarOptions) {
    super();
    this.digest = new DigestServer(opts.realm, () => opts.clock.now(), opts.nonceTtlMs ?? 300_000);
    for (const a of opts.accounts) this.accounts.set(a.user, a);
    this.guard = opts.guard ?? new AuthGuard({}, () => opts.clock.now());
    this.refusals = new LogSummary(opts.logger, { clock: opts.clock, ...opts.summary });
    this.reports = new SecurityReports((ev) => this.emit('security', ev), { clock: opts.clock, ...opts.summary });
    this.on('error', () => undefined);
  }

  private get alg(): DigestAlgorithm {
    return this.opts.algorithm ?? 'MD5';
  }

  private challenge(respond: (status: number, opts: ResponseOptions) => void, tag: Tag, stale = false): void {
    this.stats.challenged++;
    respond(401, { ...tag, headers: [['WWW-Authenticate', this.digest.challenge(this.alg, stale)]] });
  }

  /**
   * The digest check REGISTER and INVITE share. Every name gets the same treatment, account
   * or not, right source or not: a challenge first, then the same 403 after the same delay
   * for any failure, and a lockout when guesses keep coming (auth/guard.ts). Returns the
   * account name that proved itself, or undefined when the request was answered here.
   */
  private authenticate(
    method: 'REGISTER' | 'INVITE',
    remote: Remote,
    auth: string | undefined,
    respond: (status: number, opts: ResponseOptions) => void,
    owner?: string,
  ): string | undefined {
    const tag = { toTag: randomToken(4) };
    if (!auth) {
      this.challenge(respond, tag);
      return undefined;
    }
    const named = claimedUser(auth);
    const lock = this.guard.locked(remote.address, named);
    if (lock) {
      this.stats.locked++;
      this.stats.refused++;
      this.refusals.warn('sip.authLocked', remote.address, { account: this.account, method, user: named.slice(0, 64), address: remote.address, minutes: minutes(lock.until - this.opts.clock.now()) });
      respond(403, tag);
      return undefined;
    }
    const v = this.digest.verify(auth, method, (u) => this.accounts.get(u)?.password);
    // An expired nonce with the right answer, or a nonce we never issued (another process,
    // a restart): a fresh challenge, no guess counted (§3.3 stale=true).
    if (v.stale || (!v.ok && v.reason === 'auth.foreignNonce')) {
      this.challenge(respond, tag, !!v.stale);
      return undefined;
    }
    const account = v.ok && v.user ? this.accounts.get(v.user) : undefined;
    let reason: string | undefined = v.ok ? undefined : v.reason;
    if (account && !admitted(account.allowedSources, remote.address)) reason = 'sip.sourceNotAllowed';
    else if (account && owner !== undefined && account.user !== owner) reason = 'sip.notOwner';
    if (!reason && account) {
      this.guard.succeed(remote.address, account.user);
      return account.user;
    }
    this.stats.refused++;
    const f = this.guard.fail(remote.address, named);
    this.refusals.warn(method === 'REGISTER' ? 'sip.registerRefused' : 'sip.inviteDigestRefused', remote.address, { account: this.account, user: named.slice(0, 64), address: remote.address, port: remote.port, detail: reason ?? '' });
    if (f.lockout) this.lockedOut(f.lockout, remote, method);
    if (f.delayMs > 0 && !this.closed) {
      const h = this.opts.clock.setTimeout(() => {
        this.delayed.delete(h);
        respond(403, tag);
      }, f.delayMs);
      this.delayed.add(h);
    } else respond(403, tag);
    return undefined;
  }

  private lockedOut(l: Lockout, remote: Remote, method: string): void {
    const mins = minutes(l.until - this.opts.clock.now());
    this.opts.logger.warn(l.scope === 'source' ? 'sip.authLockoutSource' : 'sip.authLockoutUser', { account: this.account, method, address: remote.address, user: l.scope === 'user' ? l.key.slice(0, 64) : '', minutes: mins });
    this.reports.report({ kind: 'lockout', reason: l.scope, account: this.account, source: `${remote.address}:${remote.port}`, user: l.scope === 'user' ? l.key.slice(0, 64) : undefined, until: l.until }, `${l.scope}/${l.key}`);
  }

  private get account(): string {
    return this.opts.account ?? this.opts.realm;
  }

  handle(req: SipRequest, tx: ServerTransaction, remote: Remote): boolean {
    const toUri = parseNameAddr(header(req, 'to') ?? '')?.uri;
    const user = toUri?.user ?? '';
    const who = this.authenticate('REGISTER', remote, header(req, 'authorization'), (status, o) => tx.respond(status, o), user);
    if (who === undefined) return true;
    return this.update(req, tx, remote, who, { toTag: randomToken(4) });
  }

  private update(req: SipRequest, tx: ServerTransaction, remote: Remote, user: string, tag: { toTag: string }): boolean {
    const now = this.opts.clock.now();
    const min = this.opts.minExpires ?? 60;
    const max = this.opts.maxExpires ?? 3600;
    const headerExpires = header(req, 'expires');
    const defaultExpires = headerExpires !== undefined && /^\d+$/.test(headerExpires) ? Number(headerExpires) : 3600;
    const contacts = headerValues(req, 'contact').flatMap(splitComma);
    let list = (this.bindings.get(user) ?? []).filter((b) => b.expiresAt > now);
    if (contacts.length === 1 && contacts[0].trim() === '*') {
      // §10.2.2: "*" only with Expires: 0 removes every binding.
      if (defaultExpires !== 0) {
        tx.respond(400, tag);
        return true;
      }
      list = [];
    }
    for (const c of contacts) {
      if (c.trim() === '*') continue;
      const na = parseNameAddr(c);
      if (!na || !parseUri(na.uri.toString())) {
        tx.respond(400, tag);
        return true;
      }
      const p = na.getParam('expires');
      const exp = p !== undefined && /^\d+$/.test(String(p)) ? Number(p) : defaultExpires;
      const uri = na.uri.toString();
      list = list.filter((b) => b.contact !== uri);
      if (exp === 0) {
        this.emit('binding', user, uri, 0);
        continue;
      }
      if (exp < min) {
        tx.respond(423, { ...tag, headers: [['Min-Expires', String(min)]] });
        return true;
      }
      const e = Math.min(exp, max);
      list.push({ user, contact: uri, expiresAt: now + e * 1000, source: remote });
      this.emit('binding', user, uri, e);
    }
    if (list.length) this.bindings.set(user, list);
    else this.bindings.delete(user);
    this.stats.registered++;
    tx.respond(200, {
      ...tag,
      headers: list.map((b): [string, string] => ['Contact', `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`]),
    });
    return true;
  }

  /**
   * A connection-oriented peer went away (a page closed its SIP WebSocket, RFC 7118 §5):
   * its bindings can never be reached again, so they go now rather than at expiry.
   */
  dropSource(source: Remote): void {
    for (const [user, list] of this.bindings) {
      const keep = list.filter((b) => !(b.source.protocol === source.protocol && b.source.address === source.address && b.source.port === source.port));
      if (keep.length === list.length) continue;
      for (const b of list) if (!keep.includes(b)) this.emit('binding', user, b.contact, 0);
      if (keep.length) this.bindings.set(user, keep);
      else this.bindings.delete(user);
    }
  }

  /** Live bindings of an account, newest last. */
  lookup(user: string): Binding[] {
    const now = this.opts.clock.now();
    return (this.bindings.get(user) ?? []).filter((b) => b.expiresAt > now);
  }

  /**
   * Digest for an INVITE from a panel (RFC 3261 §22.2): a 401 challenge first, then the
   * panel's credentials, which must belong to an account whose sources admit the caller.
   * Every refusal is answered here ('answered'), after the guard's delay.
   */
  authorizeInvite(req: SipRequest, tx: ServerTransaction, remote: Remote): boolean | 'answered' {
    const auth = header(req, 'authorization') ?? header(req, 'proxy-authorization');
    const who = this.authenticate('INVITE', remote, auth, (status, o) => tx.respondAndForget(status, o));
    return who === undefined ? 'answered' : true;
  }

  /** Stop answering late: the account closes. Pending summaries are reported now. */
  async close(): Promise<void> {
    this.closed = true;
    for (const h of this.delayed) this.opts.clock.clearTimeout(h);
    this.delayed.clear();
    this.refusals.close();
    this.reports.close();
    await this.guard.close();
  }

  get users(): string[] {
    return [...this.accounts.keys()];
  }

  /** The digest realm REGISTER is challenged with (a page stores its HA1 for it). */
  get realm(): string {
    return this.opts.realm;
  }
}

/** The name an Authorization answer claims (username, or username* of RFC 7616 §3.4.4), for the guard's counters. */
function claimedUser(auth: string): string {
  const m = /^\s*Digest\s+(.*)$/is.exec(auth);
  const p = m ? parseAuthParams(m[1]) : {};
  return (p.username ?? p['username*'] ?? '').slice(0, 128);
}

function minutes(ms: number): number {
  return Math.max(1, Math.ceil(ms / 60_000));
}
