/**
 * Who may call us, and how much (the UAS decides, RFC 3261 §8.2). An INVITE from an
 * allowed source is admitted; one from anywhere else only when the registrar admits it by
 * its digest credentials (RFC 3261 §22.2; the registrar sends the 401 challenge itself).
 * Then, because an allowed range (the LAN) can hold a scanner as well as the panel:
 *
 * - only the request-URI users the account expects, when it names them (404 otherwise,
 *   RFC 3261 §21.4.5); a URI without a user (`sip:IP`, how panels dial) always passes;
 * - new dialogs per source (address and port) at a panel's pace, a token bucket: a panel
 *   makes about one call a second, a scanner thousands; a source that never completed a
 *   call also shares one bucket per address (a scanner that changes port each packet);
 * - calls at once per source, and in all (`maxInboundCalls`);
 * - an answered call whose ACK has not come after `ackGraceMs` holds no slot: a new INVITE
 *   that finds no slot takes that one (the UAS ends the half-open call, §13.3.1.4), so
 *   INVITEs that are never ACKed cannot hold the panel out until Timer H.
 *
 * A source is known good once a call of its was ACKed: it skips the shared address
 * bucket, so the panel on the scanner's own address is told apart by its port and rate.
 */
import { admitted, type CidrRule } from '../net/cidr';
import { parseUri, type SipRequest } from './message';
import type { ServerTransaction } from './transactions';
import type { Remote } from './transport';

export interface AdmissionLimits {
  /** inbound calls at once (default 16) */
  maxInboundCalls: number;
  /** inbound calls at once from one source address:port (default 4) */
  perSourceCalls: number;
  /** new INVITEs a minute per source address:port once its burst is spent (default 60) */
  perSourceRate: number;
  /** INVITEs a source may send back to back (default 5) */
  perSourceBurst: number;
  /** sources that never completed a call share a bucket per address this many times larger (default 4) */
  perAddressFactor: number;
  /** request-URI users we answer; empty = any */
  acceptUsers: string[];
  /** an answered call without ACK for this long gives its slot to a new INVITE (default 2 s) */
  ackGraceMs: number;
  /** INVITEs refused to one source within a second before its INVITEs are dropped unread (default 20) */
  muteAfter: number;
  /** how long they are dropped (default 2 s, again each time it goes on) */
  muteMs: number;
}

export const DEFAULT_LIMITS: AdmissionLimits = {
  maxInboundCalls: 16,
  perSourceCalls: 4,
  perSourceRate: 60,
  perSourceBurst: 5,
  perAddressFactor: 4,
  acceptUsers: [],
  ackGraceMs: 2000,
  muteAfter: 20,
  muteMs: 2000,
};

export interface AdmissionPolicy {
  /** who may call; empty = everyone */
  allowedSources: CidrRule[];
  /** sources outside every per-source limit (client mode: the account's own PBX, which carries every caller) */
  unlimited?: (remote: Remote) => boolean;
  /** a second way in (registrar: a panel's digest); 'answered' = it answered the INVITE itself */
  admit?: (remote: Remote, req: SipRequest, tx: ServerTransaction) => boolean | 'answered';
  limits?: Partial<AdmissionLimits>;
}

/** What admission needs to know of an inbound call that holds a slot. */
export interface Slot {
  /** `address:port` it came from */
  readonly sourceKey: string;
  /** when we sent the 2xx; undefined while it rings */
  readonly answeredAt?: number;
  /** the ACK for our 2xx came */
  readonly acked: boolean;
  readonly isEnded: boolean;
}

export type AdmissionVerdict =
  /** admitted; `evict` must be ended first to give its slot */
  | { kind: 'admitted'; evict?: Slot }
  /** the admit hook answered the INVITE itself (a 401 challenge, a delayed 403) */
  | { kind: 'answered' }
  /** 403: not an allowed source, no valid credentials */
  | { kind: 'forbidden' }
  /** 404: a request-URI user the account does not expect */
  | { kind: 'unknown-user'; user: string }
  /** 503: the source (or its address) sends new dialogs faster than a panel does */
  | { kind: 'rate' }
  /** 503: the source holds its share of calls already */
  | { kind: 'source-busy' }
  /** 503: every slot is taken by calls that are up or ringing */
  | { kind: 'overload' };

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 4096;
const GOOD_SOURCES = 1024;
const GOOD_FOR_MS = 86_400_000;

/** A token bucket per key, bounded in memory: keys whose bucket is full again are dropped first. */
class Buckets {
  private readonly map = new Map<string, Bucket>();
  constructor(private readonly perMinute: number, private readonly burst: number) {}

  take(key: string, now: number): boolean {
    let b = this.map.get(key);
    if (!b) {
      if (this.map.size >= MAX_BUCKETS) this.prune(now);
      b = { tokens: this.burst, at: now };
      this.map.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.perMinute) / 60_000);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private prune(now: number): void {
    const fullAfter = this.perMinute > 0 ? (this.burst * 60_000) / this.perMinute : Infinity;
    for (const [k, b] of this.map) if (now - b.at >= fullAfter) this.map.delete(k);
    // Still full of active keys (a spoofed flood): forget the oldest tenth.
    if (this.map.size >= MAX_BUCKETS) {
      let n = Math.ceil(MAX_BUCKETS / 10);
      for (const k of this.map.keys()) {
        if (n-- <= 0) break;
        this.map.delete(k);
      }
    }
  }
}

export const sourceKey = (r: { address: string; port: number }): string => `${r.address}:${r.port}`;

export class Admission {
  readonly limits: AdmissionLimits;
  private readonly perSource: Buckets;
  private readonly perAddress: Buckets;
  private readonly accept: Set<string> | undefined;
  /** sources (address:port) whose call was ACKed, with when */
  private readonly good = new Map<string, number>();
  /** refused INVITEs per source in the current second */
  private readonly refusals = new Map<string, { since: number; count: number }>();

  constructor(private readonly policy: AdmissionPolicy, private readonly now: () => number) {
    this.limits = { ...DEFAULT_LIMITS, ...policy.limits };
    const l = this.limits;
    this.perSource = new Buckets(l.perSourceRate, l.perSourceBurst);
    this.perAddress = new Buckets(l.perSourceRate * l.perAddressFactor, l.perSourceBurst * l.perAddressFactor);
    this.accept = l.acceptUsers.length ? new Set(l.acceptUsers) : undefined;
  }

  decide(req: SipRequest, tx: ServerTransaction, remote: Remote, calls: Iterable<Slot>): AdmissionVerdict {
    let ok = admitted(this.policy.allowedSources, remote.address);
    if (!ok && this.policy.admit) {
      const r = this.policy.admit(remote, req, tx);
      if (r === 'answered') return { kind: 'answered' };
      ok = r;
    }
    if (!ok) return { kind: 'forbidden' };
    if (this.accept) {
      const user = parseUri(req.uri)?.user;
      if (user !== undefined && user !== '' && !this.accept.has(user)) return { kind: 'unknown-user', user };
    }
    const now = this.now();
    const key = sourceKey(remote);
    const limited = !this.policy.unlimited?.(remote);
    if (limited && !this.perSource.take(key, now)) return { kind: 'rate' };
    if (limited && !this.isGood(key, now) && !this.perAddress.take(remote.address, now)) return { kind: 'rate' };
    const l = this.limits;
    let total = 0;
    let mine = 0;
    let oldestMine: Slot | undefined;
    let oldest: Slot | undefined;
    for (const c of calls) {
      if (c.isEnded) continue;
      total++;
      const reclaimable = c.answeredAt !== undefined && !c.acked && now - c.answeredAt >= l.ackGraceMs;
      if (c.sourceKey === key) {
        mine++;
        if (reclaimable && (!oldestMine || (c.answeredAt ?? 0) < (oldestMine.answeredAt ?? 0))) oldestMine = c;
      }
      if (reclaimable && (!oldest || (c.answeredAt ?? 0) < (oldest.answeredAt ?? 0))) oldest = c;
    }
    if (limited && mine >= l.perSourceCalls) return oldestMine ? { kind: 'admitted', evict: oldestMine } : { kind: 'source-busy' };
    if (total >= l.maxInboundCalls) return oldest ? { kind: 'admitted', evict: oldest } : { kind: 'overload' };
    return { kind: 'admitted' };
  }

  /**
   * An INVITE from this source was refused (403, 404, 503): true when that makes more than
   * `muteAfter` within a second, and its INVITEs should be dropped unread for a while.
   */
  refused(remote: { address: string; port: number }): boolean {
    const now = this.now();
    const key = sourceKey(remote);
    let r = this.refusals.get(key);
    if (!r || now - r.since >= 1000) {
      if (!r && this.refusals.size >= MAX_BUCKETS) this.refusals.clear();
      r = { since: now, count: 0 };
      this.refusals.set(key, r);
    }
    return ++r.count > this.limits.muteAfter;
  }

  /** A call from this source was ACKed: it behaves as a user agent does. */
  markGood(remote: { address: string; port: number }): void {
    const key = sourceKey(remote);
    this.good.delete(key);
    this.good.set(key, this.now());
    if (this.good.size > GOOD_SOURCES) this.good.delete(this.good.keys().next().value as string);
  }

  private isGood(key: string, now: number): boolean {
    const at = this.good.get(key);
    if (at === undefined) return false;
    if (now - at > GOOD_FOR_MS) {
      this.good.delete(key);
      return false;
    }
    return true;
  }
}
