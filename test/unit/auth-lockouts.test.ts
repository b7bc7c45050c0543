/** The one wrong-tries counter of the PIN check and the digest guard (nodes/lib/auth/lockouts.ts). */
import { isCounter, LockoutCounters } from '../../nodes/lib/auth/lockouts';

const policy = { forgetMs: 1000, lockoutMs: 100, maxLockoutMs: 350 };

describe('lockout counters', () => {
  test('each lockout doubles up to the ceiling, and clears the failures', () => {
    const c = new LockoutCounters(() => policy, 10);
    const k = c.counter('a', 0);
    k.fails = 3;
    expect(c.lock(k, 0)).toBe(100);
    expect(k.fails).toBe(0);
    expect(c.lock(k, 1000)).toBe(1200);
    expect(c.lock(k, 2000)).toBe(2350); // 400 capped at 350
  });

  test('a counter is forgotten after forgetMs without a failure, unless it is locked', () => {
    const c = new LockoutCounters(() => policy, 10);
    c.counter('idle', 0).fails = 2;
    expect(c.counter('idle', 1001).fails).toBe(0);
    const locked = c.counter('locked', 0);
    c.lock(locked, 0);
    locked.lockedUntil = 5000;
    expect(c.counter('locked', 2000)).toBe(locked);
  });

  test('a flood of keys stays bounded and never pushes out a lockout in force', () => {
    const c = new LockoutCounters(() => policy, 50);
    const locked = c.counter('guesser', 0);
    c.lock(locked, 0);
    locked.lockedUntil = 1e9;
    for (let i = 0; i < 1000; i++) c.counter(`spoofed-${i}`, 10 + i);
    expect(c.size).toBeLessThanOrEqual(50);
    expect(c.get('guesser')).toBe(locked);
  });

  test('a state file entry is a counter only with four finite numbers', () => {
    expect(isCounter({ fails: 1, lockouts: 0, lockedUntil: 0, last: 5 })).toBe(true);
    expect(isCounter({ fails: 1, lockouts: 0, lockedUntil: Infinity, last: 5 })).toBe(false);
    expect(isCounter({ fails: '1', lockouts: 0, lockedUntil: 0, last: 5 })).toBe(false);
    expect(isCounter(null)).toBe(false);
  });
});
