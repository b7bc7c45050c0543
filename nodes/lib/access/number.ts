/**
 * Caller numbers to one canonical form, so `+7 495 123-45-67`, `8 (495) 123-45-67`,
 * `0074951234567` and `84951234567` are the same caller. The canonical form is the E.164
 * digits without '+' (ITU-T E.164 §6: at most 15 digits). Short internal extensions
 * (a PBX's "200") are kept as they are and never get a country code.
 */
import { IntercomError } from '../core/errors';
import { numberSetting } from '../core/settings';

export interface NumberPlan {
  /** country calling code of the installation, digits only, e.g. "7"; "" disables */
  countryCode: string;
  /** national trunk prefix dialled before an area code, e.g. "8" (RU) or "0" (DE) */
  trunkPrefix: string;
  /** international call prefix, e.g. "00" (most of the world) or "810" (old RU) */
  internationalPrefix: string;
  /** length of a national significant number when it is fixed (RU/US: 10), 0 if not */
  nationalDigits: number;
  /** numbers up to this many digits are extensions, never prefixed (default 6) */
  maxExtensionDigits: number;
}

export const DEFAULT_PLAN: NumberPlan = {
  countryCode: '7',
  trunkPrefix: '8',
  internationalPrefix: '00',
  nationalDigits: 10,
  maxExtensionDigits: 6,
};

export type NormalizeResult = { ok: true; number: string; extension: boolean } | { ok: false; reason: 'missing-caller' | 'malformed-caller' };

/** Separators a human or a panel puts into numbers; they carry no meaning. */
const PUNCTUATION = /[\s\-().\u00a0/]/g;

/** The user part of a SIP/tel URI or a bare number: `sip:+7495...@pbx;user=phone` → `+7495...`. */
export function userPart(raw: string): string {
  let s = raw.trim();
  const angle = s.match(/<([^>]*)>/); // name-addr form (RFC 3261 §20.10)
  if (angle) s = angle[1];
  s = s.replace(/^(sips?|tel):/i, '');
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const semi = s.indexOf(';'); // tel: parameters (RFC 3966 §3) or user parameters
  if (semi >= 0) s = s.slice(0, semi);
  try {
    s = decodeURIComponent(s);
  } catch {
    /* a stray % stays as it is and fails the digit check below */
  }
  return s.trim();
}

/**
 * How the canonical form is made from compact digits: drop `strip` leading characters,
 * put `prepend` in front. Works on patterns too, where 'X' stands for any digit (only its
 * length matters here), so a pattern and the numbers it means normalize the same way.
 */
export function canonicalForm(digits: string, plus: boolean, plan: NumberPlan): { strip: number; prepend: string; extension: boolean } {
  if (plus) return { strip: 0, prepend: '', extension: false };
  if (digits.length <= plan.maxExtensionDigits) return { strip: 0, prepend: '', extension: true };
  const cc = plan.countryCode;
  if (plan.internationalPrefix && digits.length > plan.internationalPrefix.length && digits.startsWith(plan.internationalPrefix)) {
    return { strip: plan.internationalPrefix.length, prepend: '', extension: false };
  }
  if (!cc) return { strip: 0, prepend: '', extension: false };
  const nd = plan.nationalDigits;
  const trunk = plan.trunkPrefix;
  // With a fixed national length, the length tells which prefix (if any) is present;
  // RU "8" + 10 digits and "7" + 10 digits are both 11 long, the first digit decides.
  if (nd > 0) {
    if (digits.length === nd) return { strip: 0, prepend: cc, extension: false };
    if (trunk && digits.length === trunk.length + nd && digits.startsWith(trunk)) return { strip: trunk.length, prepend: cc, extension: false };
    return { strip: 0, prepend: '', extension: false };
  }
  if (trunk && digits.startsWith(trunk)) return { strip: trunk.length, prepend: cc, extension: false };
  return { strip: 0, prepend: '', extension: false };
}

/** Splits "+7 (495) 12X-XX-XX" into its leading '+' and the digits (and X when allowed). */
export function compactNumber(text: string, allowX: boolean): { plus: boolean; digits: string } | null {
  const compact = text.replace(PUNCTUATION, '');
  const m = (allowX ? /^(\+?)([\dXx]{1,15})$/ : /^(\+?)(\d{1,15})$/).exec(compact);
  return m ? { plus: m[1] === '+', digits: m[2].toUpperCase() } : null;
}

export function normalizeNumber(raw: unknown, plan: NumberPlan = DEFAULT_PLAN): NormalizeResult {
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0) raw = String(raw);
  if (typeof raw !== 'string') return { ok: false, reason: raw === undefined || raw === null || raw === '' ? 'missing-caller' : 'malformed-caller' };
  const user = userPart(raw);
  if (!user) return { ok: false, reason: 'missing-caller' };
  const c = compactNumber(user, false);
  if (!c) return { ok: false, reason: 'malformed-caller' };
  const f = canonicalForm(c.digits, c.plus, plan);
  return { ok: true, number: f.prepend + c.digits.slice(f.strip), extension: f.extension };
}

/** A prefix of the plan: up to four digits, empty to switch it off; absent means `dflt`. */
export function planDigits(v: unknown, field: string, dflt: string): string {
  if (v === undefined || v === null) return dflt;
  const t = String(v).trim();
  if (!/^\d{0,4}$/.test(t)) throw new IntercomError('access.planDigits', { field, value: t.slice(0, 20) });
  return t;
}

export const NATIONAL_DIGITS = { field: 'nationalDigits', default: DEFAULT_PLAN.nationalDigits, min: 0, max: 14, integer: true };

/**
 * The plan as the whitelist dialog stores it. The prefixes are up to four digits, empty to
 * switch one off; absent means the default. Anything else is an error naming the field.
 */
export function planFrom(cfg: { countryCode?: unknown; trunkPrefix?: unknown; internationalPrefix?: unknown; nationalDigits?: unknown }): NumberPlan {
  return {
    countryCode: planDigits(cfg.countryCode, 'countryCode', DEFAULT_PLAN.countryCode),
    trunkPrefix: planDigits(cfg.trunkPrefix, 'trunkPrefix', DEFAULT_PLAN.trunkPrefix),
    internationalPrefix: planDigits(cfg.internationalPrefix, 'internationalPrefix', DEFAULT_PLAN.internationalPrefix),
    nationalDigits: numberSetting(cfg.nationalDigits, NATIONAL_DIGITS),
    maxExtensionDigits: DEFAULT_PLAN.maxExtensionDigits,
  };
}
