/**
 * Wrong tries counted per key (a caller at a door, an address, a user name), with lockouts
 * that double each time: the one copy for the PIN check (access/pin.ts) and the digest
 * guard (auth/guard.ts). A counter is forgotten after `forgetMs` without a failure (unless
 * it is locked), and memory stays bounded under a flood of keys: forgotten counters go
 * first, then the oldest unlocked ones; a lockout in force is never dropped for room.
 */

export interface Counter {
  fails: number;
  lockouts: number;
  lockedUntil: number;
  last: number;
}

export interface LockoutPolicy {
  /** failures older than this are forgotten (and the doubling starts over) */
  forgetMs: number;
  /** first lockout, doubled for each further one */
  lockoutMs: number;
  /** ceiling for the growing lockout */
  maxLockoutMs: number;
}

/** A counter as a state file holds it. */
export function isCounter(c: unknown): c is Counter {
  const o = c as Counter | null;
  return !!o && typeof o === 'object' && [o.fails, o.lockouts, o.lockedUntil, o.last].every((n) => typeof n === 'number' && Number.isFinite(n));
}

export class LockoutCounters extends Map<string, Counter> {
  constructor(
    private readonly policy: () => LockoutPolicy,
    private readonly maxKeys: number,
  ) {
    super();
  }

  /** The counter of `key` at time `t`, a fresh one when there was none or it was forgotten. */
  counter(key: string, t: number): Counter {
    let c = this.get(key);
    if (c && t - c.last > this.policy().forgetMs && t >= c.lockedUntil) {
      this.delete(key);
      c = undefined;
    }
    if (!c) {
      if (this.size >= this.maxKeys) this.prune(t);
      c = { fails: 0, lockouts: 0, lockedUntil: 0, last: t };
      this.set(key, c);
    }
    return c;
  }

  /** Locks `c` from `t` for the policy's lockout, doubled per earlier lockout; returns until when. */
  lock(c: Counter, t: number): number {
    const p = this.policy();
    c.lockouts++;
    c.lockedUntil = t + Math.min(p.lockoutMs * 2 ** (c.lockouts - 1), p.maxLockoutMs);
    c.fails = 0;
    return c.lockedUntil;
  }

  private prune(t: number): void {
    const forget = this.policy().forgetMs;
    for (const [k, c] of this) if (t - c.last > forget && t >= c.lockedUntil) this.delete(k);
    if (this.size < this.maxKeys) return;
    const unlocked = [...this].filter(([, c]) => t >= c.lockedUntil).sort((a, b) => a[1].last - b[1].last);
    for (const [k] of unlocked.slice(0, Math.ceil(this.maxKeys / 10))) this.delete(k);
  }
}
