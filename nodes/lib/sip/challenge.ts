/**
 * Answering a digest challenge (RFC 3261 §22.2, §22.3): a 401 (WWW-Authenticate) or 407
 * (Proxy-Authenticate) to a request we sent is answered by sending the request again, with
 * the next CSeq and the credentials, at most twice per request, so a wrong password ends
 * in one failure rather than a loop. The INVITE client (invite-client.ts) and the
 * endpoint's requests outside a dialog (REGISTER, OPTIONS: `requestWithChallenge`) both
 * answer challenges here.
 */
import { authorize, type Credentials, parseChallenge } from '../auth/digest';
import { header, type HeaderList, type SipResponse, withoutHeader } from './message';
import type { RequestSpec, TransactionLayer } from './transactions';

const MAX_CHALLENGES = 2;

export type AuthHeader = [name: 'Authorization' | 'Proxy-Authorization', value: string];

/** The credentials of one request and its retries; nonce counts go up per answer. */
export class ChallengeAnswerer {
  private tries = 0;
  private nc = 0;

  constructor(private readonly creds: Credentials | undefined) {}

  /** The header answering `res` for `method uri`, or undefined when it is no challenge we can answer. */
  answer(res: SipResponse, method: string, uri: string): AuthHeader | undefined {
    if ((res.status !== 401 && res.status !== 407) || !this.creds || this.tries >= MAX_CHALLENGES) return undefined;
    const proxy = res.status === 407;
    const ch = parseChallenge(header(res, proxy ? 'proxy-authenticate' : 'www-authenticate') ?? '');
    if (!ch) return undefined;
    this.tries++;
    return [proxy ? 'Proxy-Authorization' : 'Authorization', authorize(ch, this.creds, method, uri, ++this.nc)];
  }
}

/** `headers` with the answer in place of an earlier one of the same name. */
export function withAuth(headers: HeaderList, auth: AuthHeader): HeaderList {
  return [...withoutHeader(headers, auth[0]), auth];
}

export interface ChallengedResult {
  res?: SipResponse;
  status: number;
  /** the CSeq the last attempt used */
  cseq: number;
}

/**
 * A non-INVITE request outside a dialog, answering challenges. Resolves with the final
 * response; a Timer F timeout resolves as 408 (RFC 3261 §17.1.2.2).
 */
export function requestWithChallenge(layer: TransactionLayer, build: (cseq: number) => RequestSpec, creds: Credentials | undefined, startCSeq = 1): Promise<ChallengedResult> {
  const answerer = new ChallengeAnswerer(creds);
  return new Promise((resolve) => {
    let cseq = startCSeq;
    let auth: AuthHeader | undefined;
    const send = (): void => {
      const spec = build(cseq);
      if (auth) spec.headers = withAuth(spec.headers, auth);
      layer.sendRequest(spec, {
        onTimeout: () => resolve({ status: 408, cseq }),
        onResponse: (res) => {
          if (res.status < 200) return;
          const next = answerer.answer(res, spec.method, spec.uri);
          if (next) {
            auth = next;
            cseq++;
            return send();
          }
          resolve({ res, status: res.status, cseq });
        },
      });
    };
    send();
  });
}
