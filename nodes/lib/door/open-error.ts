/**
 * How an open ends, as stable values the nodes translate: an `outcome` word and, when it
 * failed, an error code with its values (intercom.errors.<code>). A try that fails throws an
 * OpenError saying whether another try is safe (retryable) and the HTTP status it got.
 */
import { errorText, IntercomError, type MessageParams } from '../core/errors';

/** "throttled": within the minimum interval; "unconfirmed": accepted, confirmation missing; "unavailable": no provider */
export type OpenOutcome = 'ok' | 'failed' | 'throttled' | 'unconfirmed' | 'unavailable';

/** A failure as a result carries it: the code and its values. */
export interface OpenProblem {
  code: string;
  params: MessageParams;
}

export class OpenError extends IntercomError {
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly outcome: OpenOutcome;

  constructor(code: string, params: MessageParams = {}, opts: { retryable?: boolean; status?: number; outcome?: OpenOutcome } = {}) {
    super(code, params);
    this.retryable = opts.retryable === true;
    this.status = opts.status;
    this.outcome = opts.outcome ?? 'failed';
  }

  get problem(): OpenProblem {
    return { code: this.code, params: this.params };
  }
}

/** Anything a try threw, as an OpenError: core codes keep theirs, the rest is its text. */
export function asOpenError(err: unknown): OpenError {
  if (err instanceof OpenError) return err;
  if (err instanceof IntercomError) return new OpenError(err.code, err.params);
  return new OpenError('door.unexpected', { detail: errorText(err).slice(0, 120) });
}
