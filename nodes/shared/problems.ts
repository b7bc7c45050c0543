/**
 * A refused list (rules, PINs, exceptions, opening hours) in the user's language: each
 * problem with its place ("line 3: …"), the first five of them, then how many more. The
 * wording is lib/core/describe.ts, which every error goes through (T.describe).
 */
import type { Texts } from './i18n';

export function describeProblems(T: Texts, err: unknown): string {
  return T.describe(err);
}
