/**
 * The digest guard (auth/guard.ts): growing delays, lockouts per address and per account
 * name, trusted addresses, names that are no account counted like real ones, and the
 * state file that carries lockouts over a restart (a new guard on the same file).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AuthGuard, type GuardState } from '../../nodes/lib/auth/guard';
import { StateFile } from '../../nodes/lib/auth/state-file';
import { waitFor } from '../helpers/wait';

let now = 1_700_000_000_000;
const clock = () => now;
const policy = { freeFailures: 3, baseDelayMs: 500, maxDelayMs: 8000, sourceMaxFailures: 10, userMaxFailures: 30, lockoutMs: 300_000, maxLockoutMs: 86_400_000, forgetMs: 3_600_000 };

describe('AuthGuard', () => {
  test('three failures free, then 0.5, 1, 2, 4, 8, 8 s; the tenth locks the address for 5 minutes, the next lockout 10', () => {
    const g = new AuthGuard(policy, clock);
    const delays = Array.from({ length: 9 }, () => g.fail('10.0.0.9', 'panel').delayMs);
    expect(delays).toEqual([0, 0, 0, 500, 1000, 2000, 4000, 8000, 8000]);
    const tenth = g.fail('10.0.0.9', 'panel');
    expect(tenth).toEqual({ delayMs: 0, lockout: { scope: 'source', key: '10.0.0.9', until: now + 300_000 } });
    expect(g.locked('10.0.0.9', 'anyone')).toEqual({ scope: 'source', key: '10.0.0.9', until: now + 300_000 });
    expect(g.locked('10.0.0.8', 'panel')).toBeUndefined();
    now += 300_001;
    expect(g.locked('10.0.0.9', 'panel')).toBeUndefined();
    for (let i = 0; i < 9; i++) g.fail('10.0.0.9', 'panel');
    expect(g.fail('10.0.0.9', 'panel').lockout?.until).toBe(now + 600_000);
  });

  test('guesses spread over addresses lock the name for addresses it never logged in from; the panel keeps working', () => {
    const g = new AuthGuard(policy, clock);
    now += 86_400_000;
    g.succeed('192.168.1.20', 'panel');
    let lock;
    for (let i = 0; i < 30 && !lock; i++) lock = g.fail(`10.1.0.${i}`, 'panel').lockout;
    expect(lock).toEqual({ scope: 'user', key: 'panel', until: now + 300_000 });
    expect(g.locked('10.9.9.9', 'panel')?.scope).toBe('user');
    expect(g.locked('192.168.1.20', 'panel')).toBeUndefined();
    // The panel's own logins do not reset the guesses made elsewhere.
    g.succeed('192.168.1.20', 'panel');
    expect(g.locked('10.9.9.9', 'panel')?.scope).toBe('user');
  });

  test('a name that is no account goes through the very same counts as a real one', () => {
    const a = new AuthGuard(policy, clock);
    const b = new AuthGuard(policy, clock);
    now += 86_400_000;
    const real = Array.from({ length: 40 }, (_, i) => JSON.stringify(a.fail(`10.2.${i % 4}.1`, 'panel')));
    const none = Array.from({ length: 40 }, (_, i) => JSON.stringify(b.fail(`10.2.${i % 4}.1`, 'nobody-here')).replace('nobody-here', 'panel'));
    expect(none).toEqual(real);
  });

  test('failures older than an hour are forgotten', () => {
    const g = new AuthGuard(policy, clock);
    now += 86_400_000;
    for (let i = 0; i < 5; i++) g.fail('10.3.0.1', 'x');
    now += 3_600_001;
    expect(g.fail('10.3.0.1', 'x').delayMs).toBe(0);
  });

  test('lockouts and trusted addresses survive a restart through the state file (mode 0600); a damaged file starts empty, reported', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'guard-'));
    const file = path.join(dir, 'sub', 'guard.json');
    try {
      now += 86_400_000;
      const g = new AuthGuard(policy, clock, new StateFile<GuardState>(file));
      for (let i = 0; i < 10; i++) g.fail('10.4.0.1', 'panel');
      g.succeed('192.168.1.20', 'panel');
      await g.close();
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).not.toMatch(/password/i);

      const again = new AuthGuard(policy, clock, new StateFile<GuardState>(file));
      expect(again.locked('10.4.0.1', 'panel')).toEqual({ scope: 'source', key: '10.4.0.1', until: now + 300_000 });
      // Trust came back too: a name lockout does not shut the panel's address out.
      for (let i = 0; i < 30; i++) again.fail(`10.5.0.${i}`, 'panel');
      expect(again.locked('192.168.1.20', 'panel')).toBeUndefined();
      expect(again.locked('10.6.0.1', 'panel')?.scope).toBe('user');

      writeFileSync(file, '{ not json');
      const errors: string[] = [];
      const fresh = new AuthGuard(policy, clock, new StateFile<GuardState>(file, { onError: (e) => errors.push(e.code) }));
      expect(fresh.lockouts).toEqual([]);
      expect(errors).toEqual(['auth.stateUnreadable']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a flood of failures is one write a second, a lockout is written at once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'guard-'));
    const file = path.join(dir, 'guard.json');
    try {
      now += 86_400_000;
      const g = new AuthGuard({ ...policy, sourceMaxFailures: 1000, userMaxFailures: 1000 }, clock, new StateFile<GuardState>(file, { debounceMs: 200 }));
      for (let i = 0; i < 500; i++) g.fail(`10.7.${i >> 8}.${i & 255}`, 'x');
      expect(() => statSync(file)).toThrow();
      // After the 200 ms debounce, one write with all of them (a busy machine may take longer to finish it).
      const counters = (): number => (JSON.parse(readFileSync(file, 'utf8')) as GuardState).counters.length;
      await waitFor(() => counters() === 501, 'the debounced write', 5000);
      // A lockout does not wait for its 60 s debounce: it is on disk well before.
      const g2 = new AuthGuard(policy, clock, new StateFile<GuardState>(path.join(dir, 'g2.json'), { debounceMs: 60_000 }));
      for (let i = 0; i < 10; i++) g2.fail('10.8.0.1', 'x');
      await waitFor(() => readFileSync(path.join(dir, 'g2.json'), 'utf8').includes('10.8.0.1'), 'the lockout written at once', 5000);
      await g.close();
      await g2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
