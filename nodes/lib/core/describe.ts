/**
 * An error in the user's language, given the catalog: the one wording rule for the
 * runtime (nodes/shared/i18n.ts, through RED._) and the editor (the package's browser
 * script, through the editor's i18n). A core code is `intercom.errors.<code>` with its
 * values; a field is named as its dialog labels it; a refused list (access/problems.ts)
 * shows each problem with its place, the first five, then how many more.
 */
import { errorText, isIntercomError, type MessageParams } from './errors';

export interface Wording {
  /** a shared text: `intercom.<key>` */
  common(key: string, params?: MessageParams): string;
  /** the label of one of the node's fields: `<type>.label.<field>` */
  label(field: string): string;
}

/** A problem of a refused list, as access/problems.ts's ListError carries them. */
interface ListedProblem {
  at: Record<string, string | number>;
  error: unknown;
}

const SHOWN = 5;

export function describeError(err: unknown, w: Wording): string {
  if (!isIntercomError(err)) return errorText(err);
  const list = (err as { problems?: unknown }).problems;
  if (Array.isArray(list)) {
    const problems = list as ListedProblem[];
    // A weekday is named as the time window's dialog labels its field, not by its code ("mon").
    const where = (at: ListedProblem['at']): ListedProblem['at'] => ('day' in at ? { day: w.common(`access.weekday.${at.day}`) } : at);
    const shown = problems.slice(0, SHOWN).map((p) => w.common(`access.at.${Object.keys(p.at)[0]}`, { ...where(p.at), problem: describeError(p.error, w) }));
    const more = problems.length - shown.length;
    return w.common(`errors.${err.code}`, { count: problems.length, problems: shown.join('; ') + (more > 0 ? w.common('access.andMore', { count: more }) : '') });
  }
  const params: MessageParams = { ...err.params };
  if (typeof params.field === 'string') params.field = w.label(params.field);
  return w.common(`errors.${err.code}`, params);
}
