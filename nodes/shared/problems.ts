/**
 * A refused list (rules, PINs, exceptions, opening hours) in the user's language: each
 * problem with its place ("line 3: …", "Monday: …"), the first five of them, then how many
 * more.
 */
import { ListError, type Place } from '../lib/access/problems';
import type { Texts } from './i18n';

const SHOWN = 5;

export function describeProblems(T: Texts, err: unknown): string {
  if (!(err instanceof ListError)) return T.describe(err);
  const place = (at: Place): string => Object.keys(at)[0];
  // A weekday is named as the time window's dialog labels its field, not by its code ("mon").
  const where = (at: Place): Record<string, string | number> => ('day' in at ? { day: T.common(`access.weekday.${at.day}`) } : at);
  const shown = err.problems.slice(0, SHOWN).map((p) => T.common(`access.at.${place(p.at)}`, { ...where(p.at), problem: T.describe(p.error) }));
  const more = err.problems.length - shown.length;
  const problems = shown.join('; ') + (more > 0 ? T.common('access.andMore', { count: more }) : '');
  return T.common(`errors.${err.code}`, { count: err.problems.length, problems });
}
