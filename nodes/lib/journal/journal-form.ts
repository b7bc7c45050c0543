/**
 * The intercom-journal dialog as rules (core/fields.ts): the file (empty = the default in
 * the user directory) and when it rotates; the node reads its numbers with the same rules.
 */
import { anything, number, type Form } from '../core/fields';

export const JOURNAL_NUMBERS = {
  /** rotate above this size in MB (0 = never) */
  maxSizeMB: { default: 0, min: 0, max: 1_000_000 },
  /** rotate when the first event is this many days old (0 = never) */
  maxAgeDays: { default: 0, min: 0, max: 36_500 },
  /** rotated files kept (0 = all) */
  keep: { default: 0, min: 0, max: 100_000, integer: true },
};

export const JOURNAL_FORM: Form = {
  fields: {
    name: anything,
    file: anything,
    note: anything,
    maxSizeMB: number(JOURNAL_NUMBERS.maxSizeMB),
    maxAgeDays: number(JOURNAL_NUMBERS.maxAgeDays),
    keep: number(JOURNAL_NUMBERS.keep),
  },
};
