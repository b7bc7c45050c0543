/**
 * The PIN list of a whitelist's credentials as text, read and checked without hashing, so
 * the editor checks it with the rule the runtime uses (pin.ts hashes what this returns),
 * and the lockout policy the dialog sets.
 */
import { IntercomError } from '../core/errors';
import { numberSetting, type NumberRule } from '../core/settings';
import { Problems, type Place } from './problems';

export interface PinPolicy {
  /** digits a PIN has (wrong length is refused before any comparison) */
  length: number;
  /** wrong tries per caller at a door before a lockout */
  maxTries: number;
  /** wrong tries at a door from all callers before the door locks (0 = off) */
  maxDoorTries: number;
  /** first lockout, doubled for each further one */
  lockoutMs: number;
  /** ceiling for the growing delay */
  maxLockoutMs: number;
  /** failures older than this are forgotten (and the doubling starts over) */
  forgetMs: number;
}

export const DEFAULT_POLICY: PinPolicy = {
  length: 4,
  maxTries: 3,
  maxDoorTries: 10,
  lockoutMs: 60_000,
  maxLockoutMs: 3_600_000,
  forgetMs: 86_400_000,
};

/** The lockout policy's fields as the dialog has them, whole numbers in these ranges. */
export const POLICY_FIELDS = {
  pinLength: { default: DEFAULT_POLICY.length, min: 3, max: 12, integer: true },
  maxTries: { default: DEFAULT_POLICY.maxTries, min: 1, max: 100, integer: true },
  maxDoorTries: { default: DEFAULT_POLICY.maxDoorTries, min: 0, max: 10_000, integer: true },
  lockoutSec: { default: DEFAULT_POLICY.lockoutMs / 1000, min: 1, max: 86_400, integer: true },
  maxLockoutMin: { default: DEFAULT_POLICY.maxLockoutMs / 60_000, min: 1, max: 10_080, integer: true },
} satisfies Record<string, Omit<NumberRule, 'field'>>;

/** The lockout policy; each number is named by its label key when it is out of range. */
export function pinPolicy(s: { pinLength?: unknown; maxTries?: unknown; maxDoorTries?: unknown; lockoutSec?: unknown; maxLockoutMin?: unknown }): PinPolicy {
  const whole = (raw: unknown, field: keyof typeof POLICY_FIELDS): number => numberSetting(raw, { field, ...POLICY_FIELDS[field] });
  return {
    length: whole(s.pinLength, 'pinLength'),
    maxTries: whole(s.maxTries, 'maxTries'),
    maxDoorTries: whole(s.maxDoorTries, 'maxDoorTries'),
    lockoutMs: whole(s.lockoutSec, 'lockoutSec') * 1000,
    maxLockoutMs: whole(s.maxLockoutMin, 'maxLockoutMin') * 60_000,
    forgetMs: DEFAULT_POLICY.forgetMs,
  };
}

/**
 * PINs from the credentials field: lines "name:pin" ('#' comments), or JSON
 * {"name": "pin"} / [{"name": ..., "pin": ...}]. Problems name the line and the user,
 * never the PIN (access.pinsInvalid).
 */
export function readPins(text: string, length: number): Array<{ name: string; pin: string }> {
  const t = (text ?? '').trim();
  if (!t) return [];
  const pairs: Array<[string, unknown, Place]> = [];
  if (t.startsWith('{') || t.startsWith('[')) {
    let j: unknown;
    try {
      j = JSON.parse(t);
    } catch {
      // Not the parser's message: it may quote the text, and the text holds PINs.
      throw new IntercomError('access.pins.notJson');
    }
    if (Array.isArray(j)) j.forEach((u, i) => pairs.push([String((u as { name?: unknown })?.name ?? ''), (u as { pin?: unknown })?.pin, { entry: i + 1 }]));
    else if (j && typeof j === 'object') for (const [k, v] of Object.entries(j)) pairs.push([k, v, { key: k }]);
  } else {
    t.split('\n').forEach((raw, i) => {
      const line = raw.replace(/#.*$/, '').trim();
      if (!line) return;
      const c = line.lastIndexOf(':');
      pairs.push(c > 0 ? [line.slice(0, c).trim(), line.slice(c + 1).trim(), { line: i + 1 }] : ['', '', { line: i + 1 }]);
    });
  }
  const problems = new Problems();
  const users: Array<{ name: string; pin: string }> = [];
  const names = new Set<string>();
  for (const [name, pin, at] of pairs) {
    const p = typeof pin === 'number' ? String(pin) : pin;
    if (!name) problems.add(at, new IntercomError('access.pin.format'));
    else if (typeof p !== 'string' || !/^\d+$/.test(p)) problems.add(at, new IntercomError('access.pin.notDigits', { name }));
    else if (p.length !== length) problems.add(at, new IntercomError('access.pin.length', { name, count: length }));
    else if (names.has(name)) problems.add(at, new IntercomError('access.pin.twice', { name }));
    else {
      names.add(name);
      users.push({ name, pin: p });
    }
  }
  problems.check('pins');
  return users;
}

