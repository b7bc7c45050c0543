/**
 * The settings of one intercom-whitelist as its dialog stores them, checked once at deploy:
 * the mode, where the caller and the PIN are read, the number plan, the zone of `time=`
 * conditions, the trusted PBX and, in PIN mode, the lockout policy and the PIN users (from
 * credentials). Anything wrong throws with its code; the node then denies every entry.
 */
import { numberSetting } from '../core/settings';
import type { Cidr } from '../net/cidr';
import { planFrom, type NumberPlan } from './number';
import { DEFAULT_POLICY, parsePins, type PinPolicy, type PinUser } from './pin';
import { trustedList } from './rules';
import { checkTimeZone, systemTimeZone } from './schedule';

export interface WhitelistSettings {
  mode?: unknown;
  callerProp?: unknown;
  pinProp?: unknown;
  countryCode?: unknown;
  trunkPrefix?: unknown;
  internationalPrefix?: unknown;
  nationalDigits?: unknown;
  timezone?: unknown;
  trustedSources?: unknown;
  pinLength?: unknown;
  maxTries?: unknown;
  maxDoorTries?: unknown;
  lockoutSec?: unknown;
  maxLockoutMin?: unknown;
}

/** What the node reads from a msg: settings that cannot be wrong, known even when others are. */
export interface MessageFields {
  mode: 'caller' | 'pin';
  /** msg property of the caller (call.from.user by default) */
  callerProp: string;
  /** msg property of the PIN entry (payload by default) */
  pinProp: string;
}

export interface WhitelistConfig extends MessageFields {
  plan: NumberPlan;
  timezone: string;
  trusted: Cidr[];
  /** PIN mode only: the lockout policy and the users */
  pin: { policy: PinPolicy; users: PinUser[] } | null;
}

const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

export function messageFields(s: WhitelistSettings): MessageFields {
  return {
    mode: s.mode === 'pin' ? 'pin' : 'caller',
    callerProp: text(s.callerProp) || 'call.from.user',
    pinProp: text(s.pinProp) || 'payload',
  };
}

/** The lockout policy; each number is named by its label key when it is out of range. */
export function pinPolicy(s: WhitelistSettings): PinPolicy {
  const whole = (raw: unknown, field: string, dflt: number, min: number, max: number): number => numberSetting(raw, { field, default: dflt, min, max, integer: true });
  return {
    length: whole(s.pinLength, 'pinLength', DEFAULT_POLICY.length, 3, 12),
    maxTries: whole(s.maxTries, 'maxTries', DEFAULT_POLICY.maxTries, 1, 100),
    maxDoorTries: whole(s.maxDoorTries, 'maxDoorTries', DEFAULT_POLICY.maxDoorTries, 0, 10_000),
    lockoutMs: whole(s.lockoutSec, 'lockoutSec', DEFAULT_POLICY.lockoutMs / 1000, 1, 86_400) * 1000,
    maxLockoutMs: whole(s.maxLockoutMin, 'maxLockoutMin', DEFAULT_POLICY.maxLockoutMs / 60_000, 1, 10_080) * 60_000,
    forgetMs: DEFAULT_POLICY.forgetMs,
  };
}

/** `pinsText` is the credential; its problems name lines and users, never a PIN. */
export function whitelistConfig(s: WhitelistSettings, pinsText: string): WhitelistConfig {
  const fields = messageFields(s);
  const tz = text(s.timezone);
  const policy = fields.mode === 'pin' ? pinPolicy(s) : null;
  return {
    ...fields,
    plan: planFrom(s),
    timezone: tz ? checkTimeZone(tz) : systemTimeZone(),
    trusted: trustedList(s.trustedSources ?? ''),
    pin: policy ? { policy, users: parsePins(pinsText, policy.length) } : null,
  };
}
