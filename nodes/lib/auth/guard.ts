/**
 * Against password guessing at a digest server (the SIP registrar's REGISTER and INVITE):
 * failures are counted per source address and per account name. After a few, each further
 * failure is answered later, twice as late each time (up to `maxDelayMs`); at
 * `sourceMaxFailures` the address is locked out, at `userMaxFailures` (guesses spread over
 * many addresses) the account name is locked for every address it never logged in from,
 * so the panel that knows its password keeps working. A lockout lasts `lockoutMs`, twice
 * as long each time it comes back, and is kept in a state file, so neither a redeploy nor a
 * restart lifts it. Names that are no account are counted exactly like real ones: what the
 * guard does never tells a scanner which names exist.
 */
import { type Counter, isCounter, LockoutCounters } from './lockouts';
import type { StateFile } from './state-file';

export interface GuardPolicy {
  /** failures per counter answered without delay */
  freeFailures: number;
  /** the first delay, doubled per further failure */
  baseDelayMs: number;
  maxDelayMs: number;
  /** failures from one address before it is locked out */
  sourceMaxFailures: number;
  /** failures naming one account (from anywhere) before it is locked for unknown addresses */
  userMaxFailures: number;
  /** first lockout, doubled for each further one */
  lockoutMs: number;
  maxLockoutMs: number;
  /** failures older than this are forgotten, and the doubling starts over */
  forgetMs: number;
}

export const DEFAULT_GUARD: GuardPolicy = {
  freeFailures: 3,
  baseDelayMs: 500,
  maxDelayMs: 8000,
  sourceMaxFailures: 10,
  userMaxFailures: 30,
  lockoutMs: 300_000,
  maxLockoutMs: 86_400_000,
  forgetMs: 3_600_000,
};

export interface Lockout {
  scope: 'source' | 'user';
  /** the address, or the account name the guesses named */
  key: string;
  /** epoch ms */
  until: number;
}

export interface GuardFailure {
  /** answer the failure this much later */
  delayMs: number;
  /** this failure started a lockout */
  lockout?: Lockout;
}


/** The state file's content. */
export interface GuardState {
  version: 1;
  counters: Array<[string, Counter]>;
  /** `user\0address` → when that address last logged in as that user */
  trusted: Array<[string, number]>;
}

const MAX_COUNTERS = 10_000;
const MAX_SAVED = 2000;
const MAX_TRUSTED = 1000;
const TRUST_MS = 30 * 86_400_000;

const sourceKey = (address: string): string => `s\u0000${address}`;
const userKey = (user: string): string => `u\u0000${user.slice(0, 128)}`;
const trustKey = (user: string, address: string): string => `${user}\u0000${address}`;

export class AuthGuard {
  readonly policy: GuardPolicy;
  private readonly counters = new LockoutCounters(() => this.policy, MAX_COUNTERS);
  private readonly trusted = new Map<string, number>();

  constructor(policy: Partial<GuardPolicy> = {}, private readonly now: () => number = Date.now, private readonly file?: StateFile<GuardState>) {
    this.policy = { ...DEFAULT_GUARD, ...policy };
    const saved = file?.load();
    if (saved && saved.version === 1) {
      for (const [k, c] of Array.isArray(saved.counters) ? saved.counters : []) if (isCounter(c)) this.counters.set(String(k), c);
      for (const [k, at] of Array.isArray(saved.trusted) ? saved.trusted : []) if (typeof at === 'number') this.trusted.set(String(k), at);
    }
  }

  /** The lockout that refuses `user` from `address` now, if any (asked before any check). */
  locked(address: string, user: string): Lockout | undefined {
    const t = this.now();
    const s = this.counters.get(sourceKey(address));
    if (s && t < s.lockedUntil) return { scope: 'source', key: address, until: s.lockedUntil };
    const u = this.counters.get(userKey(user));
    if (u && t < u.lockedUntil && !this.isTrusted(user, address, t)) return { scope: 'user', key: user, until: u.lockedUntil };
    return undefined;
  }

  /** A failed login of `user` (a real account or not) from `address`. */
  fail(address: string, user: string): GuardFailure {
    const t = this.now();
    const s = this.counters.counter(sourceKey(address), t);
    const u = this.counters.counter(userKey(user), t);
    s.fails++;
    u.fails++;
    s.last = u.last = t;
    const p = this.policy;
    let lockout: Lockout | undefined;
    if (s.fails >= p.sourceMaxFailures) lockout = { scope: 'source', key: address, until: this.counters.lock(s, t) };
    else if (u.fails >= p.userMaxFailures) lockout = { scope: 'user', key: user, until: this.counters.lock(u, t) };
    const over = Math.max(s.fails, u.fails) - p.freeFailures;
    const delayMs = lockout || over <= 0 ? 0 : Math.min(p.baseDelayMs * 2 ** (over - 1), p.maxDelayMs);
    this.save(!!lockout);
    return { delayMs, lockout };
  }

  /** `user` logged in from `address`: the address is trusted for that name from now on. */
  succeed(address: string, user: string): void {
    const t = this.now();
    const s = this.counters.get(sourceKey(address));
    if (s) {
      s.fails = 0;
      s.lockouts = 0;
    }
    // The name's counter is left alone: a panel's success must not reset guesses made
    // from elsewhere, or spreading them between its registrations would never lock.
    const k = trustKey(user, address);
    const known = this.trusted.has(k);
    this.trusted.delete(k);
    this.trusted.set(k, t);
    if (this.trusted.size > MAX_TRUSTED) this.trusted.delete(this.trusted.keys().next().value as string);
    this.save(!known);
  }

  /** Lockouts in force now. */
  get lockouts(): Lockout[] {
    const t = this.now();
    const out: Lockout[] = [];
    for (const [k, c] of this.counters) if (t < c.lockedUntil) out.push({ scope: k[0] === 's' ? 'source' : 'user', key: k.slice(2), until: c.lockedUntil });
    return out;
  }

  async close(): Promise<void> {
    await this.file?.flush();
  }

  private isTrusted(user: string, address: string, t: number): boolean {
    const at = this.trusted.get(trustKey(user, address));
    return at !== undefined && t - at < TRUST_MS;
  }




  private save(urgent: boolean): void {
    this.file?.save(() => this.state(), urgent);
  }

  private state(): GuardState {
    const t = this.now();
    const live = [...this.counters].filter(([, c]) => t < c.lockedUntil || (t - c.last <= this.policy.forgetMs && (c.fails > 0 || c.lockouts > 0)));
    // Locked ones first, so a flood of single failures cannot push a lockout out of the file.
    live.sort((a, b) => Number(t < b[1].lockedUntil) - Number(t < a[1].lockedUntil) || b[1].last - a[1].last);
    const trusted = [...this.trusted].filter(([, at]) => t - at < TRUST_MS);
    return { version: 1, counters: live.slice(0, MAX_SAVED), trusted };
  }
}

