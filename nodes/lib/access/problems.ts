/**
 * A list the user wrote (rules, PINs, date exceptions, a week of opening hours) is taken
 * whole or not at all, and when it is refused the user needs every reason and where it
 * is. A ListError carries each problem as a code with its place; the node that shows it
 * translates the problems and their places (nodes/shared/problems.ts). Its own message,
 * for logs where nothing translates, names the codes.
 */
import { formatCode, IntercomError } from '../core/errors';

/**
 * Where a problem sits: a line of text, the n-th rule or entry of a JSON array, a key of a
 * JSON object, a weekday's field.
 */
export type Place = { line: number } | { rule: number } | { entry: number } | { key: string } | { day: string };

export interface Problem {
  at: Place;
  error: IntercomError;
}

export type ListKind = 'rules' | 'pins' | 'exceptions' | 'weekly';

export class ListError extends IntercomError {
  constructor(
    readonly list: ListKind,
    readonly problems: Problem[],
  ) {
    super(`access.${list}Invalid`, {
      count: problems.length,
      problems: problems.map((p) => formatCode(p.error.code, { ...p.at, ...p.error.params })).join('; '),
    });
  }
}

/** Collects the problems of one list while it is read. */
export class Problems {
  readonly list: Problem[] = [];
  add(at: Place, err: unknown): void {
    // Anything but our own codes is a bug in the reader: let it surface as it is.
    if (!(err instanceof IntercomError)) throw err;
    this.list.push({ at, error: err });
  }
  /** Throws the list's ListError when anything was wrong. */
  check(kind: ListKind): void {
    if (!this.list.length) return;
    // Problems are found in passes (the line form, then each rule): report them by line.
    const line = (p: Problem): number => ('line' in p.at ? p.at.line : 0);
    throw new ListError(kind, [...this.list].sort((a, b) => line(a) - line(b)));
  }
}
