/**
 * The settings of one intercom-whitelist as its dialog stores them, checked once at deploy:
 * the mode, where the caller and the PIN are read, the number plan, the zone of `time=`
 * conditions, the trusted PBX and, in PIN mode, the lockout policy and the PIN users (from
 * credentials). Anything wrong throws with its code; the node then denies every entry.
 * The checks are the rules the dialog flags fields with (access-forms.ts).
 */
import type { Cidr } from '../net/cidr';
import { planFrom, type NumberPlan } from './number';
import { parsePins, type PinUser } from './pin';
import { pinPolicy, type PinPolicy } from './pin-list';
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

export { pinPolicy } from './pin-list';

export function messageFields(s: WhitelistSettings): MessageFields {
  return {
    mode: s.mode === 'pin' ? 'pin' : 'caller',
    callerProp: text(s.callerProp) || 'call.from.user',
    pinProp: text(s.pinProp) || 'payload',
  };
}

/** `pinsText` is the credential; its problems name lines and users, never a PIN. */
export function whitelistConfig(s: WhitelistSettings, pinsText: string): WhitelistConfig {
  const fields = messageFields(s);
  const tz = text(s.timezone);
  const caller = fields.mode === 'caller';
  const policy = caller ? null : pinPolicy(s);
  return {
    ...fields,
    plan: planFrom(s),
    // the zone of time= conditions and the trusted PBX belong to caller rules; PIN mode hides them
    timezone: caller && tz ? checkTimeZone(tz) : systemTimeZone(),
    trusted: caller ? trustedList(s.trustedSources ?? '') : [],
    pin: policy ? { policy, users: parsePins(pinsText, policy.length) } : null,
  };
}
