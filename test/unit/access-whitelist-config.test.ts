/**
 * The whitelist's settings as the dialog stores them, and msg.access as flows read it.
 */
import { accessMessage, callerAccess, denied, pinAccess } from '../../nodes/lib/access/access-record';
import { DEFAULT_PLAN } from '../../nodes/lib/access/number';
import { DEFAULT_POLICY, PinChecker } from '../../nodes/lib/access/pin';
import { messageFields, pinPolicy, whitelistConfig } from '../../nodes/lib/access/whitelist-config';
import { isIntercomError } from '../../nodes/lib/core/errors';

const codeOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return isIntercomError(err) ? { code: err.code, ...err.params } : err;
  }
  return undefined;
};

describe('whitelist settings', () => {
  test('an empty dialog is caller mode with the defaults', () => {
    const c = whitelistConfig({}, '');
    expect(c).toMatchObject({ mode: 'caller', callerProp: 'call.from.user', pinProp: 'payload', plan: DEFAULT_PLAN, trusted: [], pin: null });
    expect(typeof c.timezone).toBe('string');
  });

  test('PIN mode: the policy from the dialog (seconds and minutes to ms), users from the credential', () => {
    const c = whitelistConfig({ mode: 'pin', pinLength: '6', maxTries: 5, maxDoorTries: '0', lockoutSec: '30', maxLockoutMin: 2, pinProp: ' digits ' }, 'alice:123456');
    expect(c.pinProp).toBe('digits');
    expect(c.pin?.policy).toEqual({ length: 6, maxTries: 5, maxDoorTries: 0, lockoutMs: 30_000, maxLockoutMs: 120_000, forgetMs: DEFAULT_POLICY.forgetMs });
    expect(c.pin?.users.map((u) => u.name)).toEqual(['alice']);
    expect(pinPolicy({})).toEqual(DEFAULT_POLICY);
  });

  test('numbers out of range name their field; nothing is clamped', () => {
    expect(codeOf(() => pinPolicy({ pinLength: 2 }))).toMatchObject({ code: 'setting.integer', field: 'pinLength', min: 3, max: 12 });
    expect(codeOf(() => pinPolicy({ maxTries: '1.5' }))).toMatchObject({ code: 'setting.integer', field: 'maxTries' });
    expect(codeOf(() => pinPolicy({ maxDoorTries: -1 }))).toMatchObject({ field: 'maxDoorTries' });
    expect(codeOf(() => pinPolicy({ lockoutSec: '0' }))).toMatchObject({ field: 'lockoutSec' });
    expect(codeOf(() => pinPolicy({ maxLockoutMin: 'a week' }))).toMatchObject({ field: 'maxLockoutMin' });
    // caller mode does not look at the PIN settings at all
    expect(whitelistConfig({ pinLength: 2 }, '').pin).toBeNull();
  });

  test('zone, trusted PBX and PIN list problems are errors with their codes', () => {
    expect(codeOf(() => whitelistConfig({ timezone: 'Mars/Olympus' }, ''))).toMatchObject({ code: 'access.schedule.badTimeZone' });
    expect(codeOf(() => whitelistConfig({ trustedSources: '10.0.0.5 pbx.local' }, ''))).toEqual({ code: 'setting.cidrList', field: 'trustedSources', entries: 'pbx.local', count: 1 });
    expect(codeOf(() => whitelistConfig({ mode: 'pin' }, 'alice:12'))).toMatchObject({ code: 'access.pinsInvalid', count: 1 });
    expect(codeOf(() => whitelistConfig({ countryCode: 'seven' }, ''))).toMatchObject({ code: 'access.planDigits', field: 'countryCode' });
    expect(whitelistConfig({ trustedSources: '10.0.0.5\n192.168.0.0/16' }, '').trusted.map((c) => c.text)).toEqual(['10.0.0.5', '192.168.0.0/16']);
  });

  test('the msg fields are known even when the rest is wrong', () => {
    expect(messageFields({ mode: 'pin', callerProp: ' who ', pinProp: 7 })).toEqual({ mode: 'pin', callerProp: 'who', pinProp: 'payload' });
    expect(messageFields({ mode: 'anything' }).mode).toBe('caller');
  });
});

describe('msg.access', () => {
  test('a caller decision: its fields, then mode, door and event; nothing undefined', () => {
    const a = callerAccess({ allowed: true, result: 'allowed', reason: 'listed', caller: '74951234567', identity: 'from', rule: 'office' });
    const m = accessMessage(a, 'caller', 'gate', 'ring');
    expect(m).toEqual({ result: 'allowed', reason: 'listed', caller: '74951234567', identity: 'from', rule: 'office', mode: 'caller', door: 'gate', event: 'ring' });
    expect(Object.keys(m)).toEqual(['result', 'reason', 'caller', 'identity', 'rule', 'mode', 'door', 'event']);
  });

  test('a PIN lockout: the end as ISO time and the scope; no door is undefined', () => {
    const c = new PinChecker([], { ...DEFAULT_POLICY, maxTries: 1 }, () => Date.UTC(2026, 0, 1));
    expect(pinAccess(c.check('1', '200', ''))).toEqual({ result: 'denied', reason: 'no-pins' });
    const a = pinAccess({ allowed: false, reason: 'lockout', lockedUntil: Date.UTC(2026, 0, 1, 0, 1), scope: 'caller' });
    expect(accessMessage(a, 'pin', '', 'dtmf')).toEqual({ result: 'denied', reason: 'lockout', lockedUntil: '2026-01-01T00:01:00.000Z', scope: 'caller', mode: 'pin', door: undefined, event: 'dtmf' });
  });

  test('denials outside the rules keep their stable reasons', () => {
    for (const r of ['bad-configuration', 'rules-invalid', 'internal-error']) expect(denied(r)).toEqual({ result: 'denied', reason: r });
  });
});
