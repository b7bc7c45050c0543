/**
 * Settings as the editor stores them (strings, numbers, empty for "default"), checked once
 * when a node starts. One policy for every node: empty means the default, anything else
 * must be valid or the node refuses to start with an error naming the field (the key of
 * its label in the node's locale file). Nothing is clamped or silently replaced.
 */
import { IntercomError } from './errors';

export interface NumberRule {
  /** the setting's name as the dialog labels it (label.<field>) */
  field: string;
  default: number;
  min: number;
  max: number;
  /** whole numbers only */
  integer?: boolean;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** A number setting: empty → the default; otherwise a finite number within [min, max]. */
export function numberSetting(raw: unknown, rule: NumberRule): number {
  if (isEmpty(raw)) return rule.default;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : NaN;
  if (!Number.isFinite(n) || n < rule.min || n > rule.max || (rule.integer && !Number.isInteger(n))) {
    throw new IntercomError(rule.integer ? 'setting.integer' : 'setting.number', { field: rule.field, min: rule.min, max: rule.max, value: String(raw).slice(0, 40) });
  }
  return n;
}

/** A duration typed in seconds, returned in milliseconds. */
export function secondsSetting(raw: unknown, rule: NumberRule): number {
  return Math.round(numberSetting(raw, rule) * 1000);
}

/** One of a fixed set of words: empty → the default; anything else must be listed. */
export function choiceSetting<T extends string>(raw: unknown, field: string, allowed: readonly T[], dflt: T): T {
  if (isEmpty(raw)) return dflt;
  const v = String(raw).trim();
  if (!(allowed as readonly string[]).includes(v)) throw new IntercomError('setting.choice', { field, value: v.slice(0, 40), allowed: allowed.join(', ') });
  return v as T;
}

/** A JSON object of string values (HTTP headers and the like): empty → {}. */
export function jsonObjectSetting(raw: unknown, field: string): Record<string, string> {
  if (isEmpty(raw)) return {};
  let parsed: unknown;
  try {
    parsed = typeof raw === 'string' ? JSON.parse(raw) : raw;
  } catch (err) {
    throw new IntercomError('setting.json', { field, detail: err instanceof Error ? err.message : String(err) });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new IntercomError('setting.jsonObject', { field });
  return Object.fromEntries(Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}
