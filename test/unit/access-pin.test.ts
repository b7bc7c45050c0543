import { DEFAULT_POLICY, parsePins, pinDigits, PinChecker } from '../../nodes/lib/access/pin';
import { texts } from '../../nodes/shared/i18n';
import { describeProblems } from '../../nodes/shared/problems';
import type { RED } from '../../nodes/shared/red';
import { translate } from '../helpers/i18n';

// What the user reads: the error through the real en-US catalog, as the node shows it.
const T = texts({ _: (k: string, p?: Record<string, unknown>) => translate(k, p) } as unknown as RED, 'intercom-whitelist');
function shown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return describeProblems(T, err);
  }
  return '(nothing thrown)';
}

function checker(policy = {}) {
  let now = 1_000_000;
  const clock = { advance: (ms: number) => (now += ms) };
  const c = new PinChecker(parsePins('alice:1234\nbob:0042', 4), { ...DEFAULT_POLICY, ...policy }, () => now);
  return { c, clock };
}

describe('PIN check and lockout (injected clock)', () => {
  test('the right PIN names its user; leading zeros count', () => {
    const { c } = checker();
    expect(c.check('1234', '200', 'front')).toEqual({ allowed: true, reason: 'pin-ok', user: 'alice' });
    expect(c.check('0042#', '200', 'front')).toMatchObject({ allowed: true, user: 'bob' });
    expect(c.check({ digits: '0042' }, '200', 'front').allowed).toBe(true);
  });

  test('wrong, short, malformed and missing entries are refused with their reason', () => {
    const { c } = checker({ maxTries: 10 });
    expect(c.check('9999', '200', 'front')).toMatchObject({ allowed: false, reason: 'pin-wrong', triesLeft: 9 });
    expect(c.check('123', '200', 'front')).toMatchObject({ allowed: false, reason: 'pin-length' });
    expect(c.check('12345', '200', 'front')).toMatchObject({ allowed: false, reason: 'pin-length' });
    expect(c.check('12a4', '200', 'front')).toMatchObject({ allowed: false, reason: 'pin-malformed' });
    expect(c.check(1234, '200', 'front')).toMatchObject({ allowed: false, reason: 'pin-malformed' });
    expect(c.check(undefined, '200', 'front')).toMatchObject({ allowed: false, reason: 'pin-missing' });
  });

  test('N wrong tries lock the caller at that door, with a doubling delay', () => {
    const { c, clock } = checker({ maxTries: 3, lockoutMs: 60_000 });
    expect(c.check('0000', '200', 'front').reason).toBe('pin-wrong');
    expect(c.check('0000', '200', 'front').reason).toBe('pin-wrong');
    const lock = c.check('0000', '200', 'front');
    expect(lock).toMatchObject({ allowed: false, reason: 'lockout', scope: 'caller', lockedUntil: 1_060_000 });
    // Inside the lockout even the right PIN is refused.
    clock.advance(59_999);
    expect(c.check('1234', '200', 'front')).toMatchObject({ allowed: false, reason: 'locked-out' });
    // Other callers and other doors are not affected.
    expect(c.check('1234', '201', 'front').allowed).toBe(true);
    expect(c.check('1234', '200', 'back').allowed).toBe(true);
    clock.advance(1);
    // The second lockout lasts twice as long.
    c.check('0000', '200', 'front');
    c.check('0000', '200', 'front');
    expect(c.check('0000', '200', 'front')).toMatchObject({ reason: 'lockout', lockedUntil: 1_060_000 + 120_000 });
    clock.advance(120_000);
    expect(c.check('1234', '200', 'front')).toMatchObject({ allowed: true });
    // Success resets the doubling.
    for (let i = 0; i < 2; i++) c.check('0000', '200', 'front');
    expect(c.check('0000', '200', 'front').lockedUntil).toBe(1_060_000 + 120_000 + 60_000);
  });

  test('a door locks when many callers guess at it (caller IDs are cheap to spoof)', () => {
    const { c } = checker({ maxTries: 3, maxDoorTries: 5 });
    for (let i = 0; i < 4; i++) expect(c.check('0000', `spoof${i}`, 'gate').reason).toBe('pin-wrong');
    expect(c.check('0000', 'spoof4', 'gate')).toMatchObject({ reason: 'lockout', scope: 'door' });
    expect(c.check('1234', 'someone-else', 'gate')).toMatchObject({ reason: 'locked-out', scope: 'door' });
  });

  test('the delay has a ceiling and old failures are forgotten', () => {
    const { c, clock } = checker({ maxTries: 1, lockoutMs: 60_000, maxLockoutMs: 200_000, forgetMs: 3_600_000 });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = c.check('0000', '200', 'front');
      delays.push((d.lockedUntil as number) - (clock.advance(0) as number));
      clock.advance(d.lockedUntil! - clock.advance(0));
    }
    expect(delays).toEqual([60_000, 120_000, 200_000, 200_000, 200_000]);
    clock.advance(3_600_001);
    expect(c.check('0000', '200', 'front').lockedUntil! - clock.advance(0)).toBe(60_000);
  });

  test('PIN lists: lines or JSON, errors name the entry but never the PIN', () => {
    expect(parsePins('{"alice": "1234", "bob": 5678}', 4).map((u) => u.name)).toEqual(['alice', 'bob']);
    expect(parsePins('[{"name":"carol","pin":"4321"}]', 4).map((u) => u.name)).toEqual(['carol']);
    const bad = () => parsePins('alice:1234\nbob:98765\nnocolon\nalice:1111', 4);
    const msg = shown(bad);
    expect(msg).toBe('line 2: the PIN of bob must have 4 digits; line 3: want name:pin; line 4: "alice" appears twice');
    expect(shown(() => parsePins('bob:1', 1))).toBe('(nothing thrown)');
    expect(shown(() => parsePins('bob:12', 1))).toBe('line 1: the PIN of bob must have 1 digit');
    expect(shown(() => parsePins('{"alice": "12a4"}', 4))).toBe('entry "alice": the PIN of alice must be digits');
    expect(shown(() => parsePins('[{"pin": "1234"}]', 4))).toBe('entry 1: want name:pin');
    expect(shown(() => parsePins('{"alice": "1234"', 4))).toBe('PIN list is not valid JSON');
    // neither the text shown nor the untranslated message holds a PIN
    expect(msg).not.toMatch(/98765|1111/);
    expect(() => bad()).toThrow(/^(?!.*(98765|1111))/);
    expect(shown(() => parsePins('{"alice": "98765"', 4))).not.toMatch(/98765/);
    expect(parsePins('', 4)).toEqual([]);
    expect(pinDigits('12 34')).toBeNull();
  });

  test('no PINs configured: everything is refused', () => {
    const c = new PinChecker([], DEFAULT_POLICY, () => 0);
    expect(c.check('1234', '200', 'front')).toMatchObject({ allowed: false, reason: 'no-pins' });
  });
});

describe('PIN counters across a restart (state file)', () => {
  const { mkdtempSync, readFileSync, rmSync } = require('node:fs') as typeof import('node:fs');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');
  const { StateFile } = require('../../nodes/lib/auth/state-file') as typeof import('../../nodes/lib/auth/state-file');

  test('wrong tries and a lockout carry over to a new checker on the same file; the file holds no PIN', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pins-'));
    const file = path.join(dir, 'pins.json');
    let now = 5_000_000;
    const users = parsePins('alice:1234', 4);
    try {
      const first = new PinChecker(users, DEFAULT_POLICY, () => now, new StateFile(file));
      expect(first.check('1111', '200', 'front')).toMatchObject({ reason: 'pin-wrong', triesLeft: 2 });
      await first.close();
      // "Restart": a new checker, same file. One more wrong try is the second, not the first.
      const second = new PinChecker(users, DEFAULT_POLICY, () => now, new StateFile(file));
      expect(second.check('2222', '200', 'front')).toMatchObject({ reason: 'pin-wrong', triesLeft: 1 });
      expect(second.check('3333', '200', 'front')).toMatchObject({ reason: 'lockout', scope: 'caller' });
      await second.close();
      const third = new PinChecker(users, DEFAULT_POLICY, () => now, new StateFile(file));
      expect(third.check('1234', '200', 'front')).toMatchObject({ allowed: false, reason: 'locked-out' });
      expect(readFileSync(file, 'utf8')).not.toMatch(/1111|2222|3333|1234/);
      now += 60_001;
      expect(third.check('1234', '200', 'front')).toMatchObject({ allowed: true, user: 'alice' });
      await third.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
