/**
 * A node's dialog as rules, one per field: the one place that says what a setting may
 * hold. The node's config parser checks its settings with them at deploy, and the same
 * rules, bundled into the package's editor script (resources/), flag the field in the
 * dialog while the user types. A rule throws an IntercomError that names its field (the
 * key of the field's label); empty means the default, by the one settings policy
 * (settings.ts). A rule may look at the other fields (a server only matters in client
 * mode): `all` holds every setting and credential the dialog shows.
 */
import { errorText, IntercomError } from './errors';
import { choiceSetting, jsonObjectSetting, numberSetting, type NumberRule } from './settings';

export type Values = Readonly<Record<string, unknown>>;

/** Throws an IntercomError naming `field` when `value` cannot be used there. */
export type Check = (value: unknown, field: string, all: Values) => void;

export interface Form {
  /** the node's settings, in the order the dialog shows them */
  readonly fields: Readonly<Record<string, Check>>;
  /** its credentials (a stored secret never comes back to the editor: not checked there) */
  readonly credentials?: Readonly<Record<string, Check>>;
}

export function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** The text of a setting, trimmed; '' for anything that is not text or a number. */
export function textOf(v: unknown): string {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
}

/** What is wrong with one field, or undefined. `values` are the settings and credentials together. */
export function fieldProblem(form: Form, field: string, values: Values): IntercomError | undefined {
  const check = form.fields[field] ?? form.credentials?.[field];
  if (!check) return undefined;
  try {
    check(values[field], field, values);
    return undefined;
  } catch (err) {
    if (err instanceof IntercomError) return err;
    // A rule that fails for another reason is a bug in the rule: surface it as it is.
    throw err;
  }
}

/** Every problem, in the dialog's order. */
export function formProblems(form: Form, settings: Values, credentials: Values = {}): IntercomError[] {
  const values = { ...settings, ...credentials };
  return [...Object.keys(form.fields), ...Object.keys(form.credentials ?? {})]
    .map((f) => fieldProblem(form, f, values))
    .filter((e): e is IntercomError => e !== undefined);
}

/** At deploy: throws the first problem of the form, so the node says which field to fix. */
export function checkForm(form: Form, settings: Values, credentials: Values = {}): void {
  const [first] = formProblems(form, settings, credentials);
  if (first) throw first;
}

// ---------------------------------------------------------------- rules to build forms with

/** Anything goes (a name, a note): listed so every field of the dialog has its rule. */
export const anything: Check = () => undefined;

export const number =
  (rule: Omit<NumberRule, 'field'>): Check =>
  (v, field) =>
    void numberSetting(v, { ...rule, field });

export const choice =
  (allowed: readonly string[]): Check =>
  (v, field) =>
    void choiceSetting(v, field, allowed, allowed[0]);

export const jsonObject: Check = (v, field) => void jsonObjectSetting(v, field);

/** A regular expression as JavaScript reads it (the engine's words for what is wrong). */
export const pattern: Check = (v, field) => {
  if (isEmpty(v)) return;
  try {
    new RegExp(String(v));
  } catch (err) {
    throw new IntercomError('setting.pattern', { field, detail: errorText(err).slice(0, 80) });
  }
};

/** Text that must match `re` (empty allowed unless required); `code` says what it should look like. */
export const matching =
  (re: RegExp, code: string): Check =>
  (v, field) => {
    if (isEmpty(v)) return;
    const t = textOf(v);
    if (!re.test(t)) throw new IntercomError(code, { field, value: t.slice(0, 60) });
  };

/** Must be set, then `check` too. */
export const required =
  (check: Check = anything): Check =>
  (v, field, all) => {
    if (isEmpty(v)) throw new IntercomError('setting.required', { field });
    check(v, field, all);
  };

/** The rule applies only when the other fields say the field is in use (its row is shown). */
export const when =
  (applies: (all: Values) => boolean, check: Check): Check =>
  (v, field, all) => {
    if (applies(all)) check(v, field, all);
  };

/** Several rules, in order. */
export const both =
  (...checks: Check[]): Check =>
  (v, field, all) => {
    for (const c of checks) c(v, field, all);
  };
