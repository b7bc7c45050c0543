/**
 * What an HTTP answer (or its absence) means for a door open, the same for every HTTP
 * action: a request that provably never left may be sent again whatever it does; one that
 * may have arrived only when repeating it is harmless; a refused password never (no
 * lockout, no request storm).
 */
import type { HttpResult } from '../http/client';
import { HttpError } from '../http/errors';
import { checkSuccess, type SuccessCheck } from './presets';
import { LoginError } from './vendor-auth';
import { OpenError } from './open-error';
import type { Tally } from './action';

/** Sends, counts the requests, and turns every failure into an OpenError. Resolves with the status. */
export async function sendAndJudge(send: () => Promise<HttpResult>, idempotent: boolean, success: SuccessCheck | undefined, tally: Tally): Promise<number> {
  let res: HttpResult;
  try {
    res = await send();
  } catch (err) {
    if (err instanceof HttpError) {
      tally.requests += err.requests;
      // Never delivered: safe to try again whatever the action. Delivered but no (full)
      // answer: only an idempotent action may be sent again.
      const retryable = !err.delivered || (idempotent && (err.kind === 'timeout' || err.kind === 'network'));
      throw new OpenError(err.code, err.params, { retryable });
    }
    if (err instanceof LoginError) {
      tally.requests += err.requests;
      throw new OpenError(err.code, err.params, { status: err.status });
    }
    throw err;
  }
  tally.requests += res.requests;
  const status = res.status;
  if (status === 401 || status === 403) throw new OpenError('door.authRefused', { status }, { status });
  if (status >= 500) throw new OpenError('door.deviceError', { status }, { status, retryable: idempotent });
  if (status < 200 || status >= 300) throw new OpenError('door.deviceRefused', { status }, { status });
  const refusal = checkSuccess(success, res.body.toString('utf8'));
  if (refusal) throw new OpenError(refusal.code, refusal.params, { status });
  return status;
}
