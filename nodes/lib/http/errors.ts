/**
 * Why an HTTP call failed, as a code (text in intercom.errors.http.*) plus what the caller
 * must know to decide on a retry: the kind of failure and whether the request may have
 * reached the device (`delivered`): a door command that may have arrived is not sent again
 * unless repeating it is harmless.
 */
import { IntercomError, type MessageParams } from '../core/errors';

export type HttpFailure = 'timeout' | 'unreachable' | 'too-large' | 'redirect-refused' | 'tls' | 'network' | 'bad-url';

export class HttpError extends IntercomError {
  constructor(
    code: string,
    params: MessageParams,
    readonly kind: HttpFailure,
    /** the request may have reached the device */
    readonly delivered: boolean,
    /** HTTP requests made before it failed (auth round trips, redirects) */
    readonly requests = 0,
  ) {
    super(code, params);
  }

  /** The same failure, counting the requests of the whole call. */
  after(requests: number): HttpError {
    return new HttpError(this.code, this.params, this.kind, this.delivered, requests);
  }
}
