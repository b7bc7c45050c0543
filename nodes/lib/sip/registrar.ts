/**
 * A registrar for panels and gateways (RFC 3261 §10.3): digest challenge with expiring,
 * replay-proof nonces (digest.ts), bindings with expiry, 423 for too-short intervals, and
 * admission by source address per account. It answers REGISTER only; calls from a
 * panel account are admitted by the endpoint through `authorizeInvite()` (digest again,
 * RFC 3261 §22.2: a registration proves nothing about who sends an INVITE later).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from '../core/log';
import type { Clock } from './clock';
import { admitted, type CidrRule } from '../net/cidr';
import { type DigestAlgorithm, DigestServer } from '../auth/digest';
import type { RequestHandler } from './endpoint';
import { header, headers as headerValues, parseNameAddr, parseUri, type SipRequest, splitComma } from './message';
import type { ServerTransaction } from './transactions';
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
}

export class Registrar extends EventEmitter implements RequestHandler {
  private readonly digest: DigestServer;
  private readonly bindings = new Map<string, Binding[]>();
  private readonly accounts = new Map<string, RegistrarAccount>();
  readonly stats = { challenged: 0, refused: 0, registered: 0 };

  constructor(private opts: RegistrarOptions) {
    super();
    this.digest = new DigestServer(opts.realm, () => opts.clock.now(), opts.nonceTtlMs ?? 300_000);
    for (const a of opts.accounts) this.accounts.set(a.user, a);
    this.on('error', () => undefined);
  }

  handle(req: SipRequest, tx: ServerTransaction, remote: Remote): boolean {
    const toUri = parseNameAddr(header(req, 'to') ?? '')?.uri;
    const user = toUri?.user ?? '';
    const account = this.accounts.get(user);
    const tag = { toTag: Math.random().toString(36).slice(2, 10) };
    const alg = this.opts.algorithm ?? 'MD5';
    if (!account || !admitted(account.allowedSources, remote.address)) {
      // Same answer for unknown user and wrong source: do not tell a scanner which users exist.
      this.stats.refused++;
      const who = { user: user.slice(0, 64), address: remote.address };
      if (account) this.opts.logger.warn('sip.registerSourceRefused', who);
      else this.opts.logger.warn('sip.registerUnknownUser', who);
      tx.respond(403, tag);
      return true;
    }
    const auth = header(req, 'authorization');
    if (!auth) {
      this.stats.challenged++;
      tx.respond(401, { ...tag, headers: [['WWW-Authenticate', this.digest.challenge(alg)]] });
      return true;
    }
    const v = this.digest.verify(auth, 'REGISTER', (u) => this.accounts.get(u)?.password);
    if (!v.ok) {
      if (v.stale || v.reason === 'auth.foreignNonce') {
        this.stats.challenged++;
        tx.respond(401, { ...tag, headers: [['WWW-Authenticate', this.digest.challenge(alg, !!v.stale)]] });
      } else {
        this.stats.refused++;
        this.opts.logger.warn('sip.registerDigestRefused', { user: user.slice(0, 64), address: remote.address, detail: v.reason });
        tx.respond(403, tag);
      }
      return true;
    }
    if (v.user !== user) {
      tx.respond(403, { ...tag, reason: 'Forbidden (auth user does not own this address)' });
      return true;
    }
    return this.update(req, tx, remote, user, tag);
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
   * Digest for an INVITE from a panel: 401 challenge first (answered here), then the
   * panel's credentials, which must belong to an account whose sources admit the caller.
   */
  authorizeInvite(req: SipRequest, tx: ServerTransaction, remote: Remote): boolean | 'answered' {
    const alg = this.opts.algorithm ?? 'MD5';
    const tag = { toTag: Math.random().toString(36).slice(2, 10) };
    const auth = header(req, 'authorization') ?? header(req, 'proxy-authorization');
    if (!auth) {
      this.stats.challenged++;
      tx.respondAndForget(401, { ...tag, headers: [['WWW-Authenticate', this.digest.challenge(alg)]] });
      return 'answered';
    }
    const v = this.digest.verify(auth, 'INVITE', (u) => this.accounts.get(u)?.password);
    if (v.stale || (!v.ok && v.reason === 'auth.foreignNonce')) {
      this.stats.challenged++;
      tx.respondAndForget(401, { ...tag, headers: [['WWW-Authenticate', this.digest.challenge(alg, !!v.stale)]] });
      return 'answered';
    }
    const account = v.user ? this.accounts.get(v.user) : undefined;
    if (!v.ok || !account || !admitted(account.allowedSources, remote.address)) {
      this.stats.refused++;
      if (v.ok) this.opts.logger.warn('sip.inviteSourceRefused', { user: v.user, address: remote.address });
      else this.opts.logger.warn('sip.inviteDigestRefused', { address: remote.address, detail: v.reason });
      return false;
    }
    return true;
  }

  get users(): string[] {
    return [...this.accounts.keys()];
  }

  /** The digest realm REGISTER is challenged with (a page stores its HA1 for it). */
  get realm(): string {
    return this.opts.realm;
  }
}
