/**
 * PIN checks with lockout. PINs are compared in constant time (every user's digest is
 * compared, equal-length digests, crypto.timingSafeEqual) so neither the position of a
 * wrong digit nor which user matched shows in the timing. Wrong tries are counted per
 * caller at a door and per door; reaching the limit locks out for a delay that doubles
 * with each lockout. The clock is injected so tests can step through the delays. With a
 * state file the counters (never a PIN) outlive a redeploy and a restart, so hanging up,
 * redeploying or restarting Node-RED gives a guesser no fresh tries.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Counter, isCounter, LockoutCounters } from '../auth/lockouts';
import type { StateFile } from '../auth/state-file';
import { readPins, type PinPolicy } from './pin-list';

export interface PinUser {
  name: string;
  digest: Buffer;
}

export { DEFAULT_POLICY, type PinPolicy } from './pin-list';

export type PinReason = 'pin-ok' | 'pin-wrong' | 'pin-length' | 'pin-malformed' | 'pin-missing' | 'no-pins' | 'lockout' | 'locked-out';

export interface PinDecision {
  allowed: boolean;
  reason: PinReason;
  user?: string;
  /** tries left before a lockout, after a wrong PIN */
  triesLeft?: number;
  /** epoch ms until which the caller (or door) is locked */
  lockedUntil?: number;
  /** which counter locked: the caller at this door, or the door itself */
  scope?: 'caller' | 'door';
}

/** Secret per process, so digests held in memory say nothing about the PIN outside it. */
const KEY = randomBytes(32);
const digest = (pin: string): Buffer => createHmac('sha256', KEY).update(pin, 'utf8').digest();

/** The PIN users of the credentials field, digests only (pin-list.ts reads and checks the text). */
export function parsePins(text: string, length: number): PinUser[] {
  return readPins(text, length).map(({ name, pin }) => ({ name, digest: digest(pin) }));
}

/** The digits of an entry from intercom-dtmf: "1234", "1234#", 1234 or {digits: "1234"}. */
export function pinDigits(v: unknown): string | null | undefined {
  if (v && typeof v === 'object' && 'digits' in (v as object)) v = (v as { digits: unknown }).digits;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return null; // leading zeros lost: refuse
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || v.length > 32) return null;
  const s = v.trim().replace(/#$/, '');
  return /^\d+$/.test(s) ? s : null;
}


/** The state file's content: the counters by caller-at-door and door, no PIN. */
export interface PinState {
  version: 1;
  counters: Array<[string, Counter]>;
}

export class PinChecker {
  /** by caller-at-door and by door; bounded under a flood of callers */
  private readonly counters = new LockoutCounters(() => this.policy, 10_000);

  constructor(
    private users: PinUser[],
    private readonly policy: PinPolicy,
    private readonly now: () => number,
    private readonly file?: StateFile<PinState>,
  ) {
    const saved = file?.load();
    if (saved?.version === 1 && Array.isArray(saved.counters)) {
      for (const [k, c] of saved.counters) if (isCounter(c)) this.counters.set(String(k), c);
    }
  }

  /** Write what is pending (the node closes). */
  async close(): Promise<void> {
    await this.file?.flush();
  }

  private save(): void {
    // Entries come at the pace of a keypad, so every change is written at once.
    this.file?.save(() => {
      const t = this.now();
      const live = [...this.counters].filter(([, c]) => t < c.lockedUntil || t - c.last <= this.policy.forgetMs);
      return { version: 1, counters: live.slice(-2000) };
    }, true);
  }

  setUsers(users: PinUser[]): void {
    this.users = users;
  }

  get userCount(): number {
    return this.users.length;
  }




  /** Check one entry; `caller` and `door` key the counters (use '' when unknown). */
  check(entry: unknown, caller: string, door: string): PinDecision {
    const t = this.now();
    const mine = this.counters.counter(`c\u0000${caller}\u0000${door}`, t);
    const doorC = this.policy.maxDoorTries > 0 ? this.counters.counter(`d\u0000${door}`, t) : null;
    // A locked caller or door is refused before the PIN is even looked at, so a
    // correct guess inside the lockout tells the guesser nothing.
    if (t < mine.lockedUntil) return { allowed: false, reason: 'locked-out', lockedUntil: mine.lockedUntil, scope: 'caller' };
    if (doorC && t < doorC.lockedUntil) return { allowed: false, reason: 'locked-out', lockedUntil: doorC.lockedUntil, scope: 'door' };
    if (this.users.length === 0) return { allowed: false, reason: 'no-pins' };
    const digits = pinDigits(entry);
    let reason: PinReason;
    let user: string | undefined;
    if (digits === undefined) reason = 'pin-missing';
    else if (digits === null) reason = 'pin-malformed';
    else if (digits.length !== this.policy.length) reason = 'pin-length';
    else {
      const d = digest(digits);
      for (const u of this.users) {
        // No early exit: every user is compared whatever matched.
        if (timingSafeEqual(d, u.digest) && user === undefined) user = u.name;
      }
      reason = user === undefined ? 'pin-wrong' : 'pin-ok';
    }
    if (reason === 'pin-ok') {
      const had = mine.fails > 0 || mine.lockouts > 0;
      mine.fails = 0;
      mine.lockouts = 0;
      mine.last = t;
      if (had) this.save();
      return { allowed: true, reason, user };
    }
    // Every refused entry counts: a wrong length is a guess too.
    mine.fails++;
    mine.last = t;
    if (doorC) {
      doorC.fails++;
      doorC.last = t;
    }
    let decision: PinDecision;
    if (mine.fails >= this.policy.maxTries) decision = { allowed: false, reason: 'lockout', lockedUntil: this.counters.lock(mine, t), scope: 'caller' };
    else if (doorC && doorC.fails >= this.policy.maxDoorTries) decision = { allowed: false, reason: 'lockout', lockedUntil: this.counters.lock(doorC, t), scope: 'door' };
    else decision = { allowed: false, reason, triesLeft: this.policy.maxTries - mine.fails };
    this.save();
    return decision;
  }
}

