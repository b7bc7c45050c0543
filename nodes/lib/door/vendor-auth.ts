/**
 * The two vendors whose open needs a login step before the command:
 * BAS-IP (bearer token from /api/v0/login, cached until shortly before it expires and
 * fetched again after a 401) and Grandstream GDS (a fresh challenge per command).
 */
import { IntercomError, type MessageParams } from '../core/errors';
import { hash, type Credentials } from '../auth/digest';
import type { HttpClient, HttpResult } from '../http/client';

/** BAS-IP tokens live about two hours; refresh well before. */
const BASIP_TOKEN_TTL_MS = 90 * 60 * 1000;

export class BasIpSession {
  private token: string | undefined;
  private expires = 0;

  constructor(
    private readonly http: HttpClient,
    private readonly baseUrl: string,
    private readonly credentials: Credentials,
    private readonly now: () => number = Date.now,
  ) {}

  /** Run a request with the bearer token; log in when there is none, and once more when a cached one is refused. */
  async request(method: string, path: string, timeoutMs: number): Promise<HttpResult & { loginRequests: number }> {
    let loginRequests = 0;
    const deadline = this.now() + timeoutMs;
    const left = (): number => Math.max(1, deadline - this.now());
    const send = (): Promise<HttpResult> =>
      this.http.request({ method, url: this.baseUrl + path, headers: { authorization: `Bearer ${this.token}` }, timeoutMs: left() });
    const cached = this.token !== undefined && this.now() < this.expires;
    if (!cached) loginRequests += await this.login(left());
    let res = await send();
    if (res.status === 401 && cached) {
      // The panel forgot our token (reboot, expiry before ours): log in once more.
      loginRequests += await this.login(left());
      res = await send();
    }
    if (res.status === 401) this.token = undefined;
    return { ...res, loginRequests };
  }

  private async login(timeoutMs: number): Promise<number> {
    // BAS-IP API v0: the password travels as its MD5 hex digest.
    const q = `username=${encodeURIComponent(this.credentials.user)}&password=${hash('MD5', this.credentials.password)}`;
    const res = await this.http.request({ method: 'GET', url: `${this.baseUrl}/api/v0/login?${q}`, timeoutMs: Math.max(1, timeoutMs) });
    if (res.status !== 200) throw new LoginError('door.basipLoginRefused', { status: res.status }, res.status, res.requests);
    let token: unknown;
    try {
      token = (JSON.parse(res.body.toString('utf8')) as { token?: unknown }).token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || !token) throw new LoginError('door.basipNoToken', {}, res.status, res.requests);
    this.token = token;
    this.expires = this.now() + BASIP_TOKEN_TTL_MS;
    return res.requests;
  }
}

/** A vendor's login step refused us; never retried (a lockout is worse than a failed open). */
export class LoginError extends IntercomError {
  constructor(
    code: string,
    params: MessageParams,
    readonly status: number,
    readonly requests: number,
  ) {
    super(code, params);
  }
}

/** Grandstream GDS step 1: returns the params step 2 needs. */
export async function gdsChallenge(
  http: HttpClient,
  baseUrl: string,
  credentials: Credentials,
  pin: string,
  timeoutMs: number,
): Promise<{ authcode: string; idcode: string; requests: number }> {
  const res = await http.request({ method: 'GET', url: `${baseUrl}/goform/apicmd?cmd=0&user=${encodeURIComponent(credentials.user)}`, timeoutMs });
  const text = res.body.toString('utf8');
  const challenge = /<ChallengeCode>\s*([^<\s]+)\s*<\/ChallengeCode>/.exec(text)?.[1];
  const idcode = /<IDCode>\s*([^<\s]+)\s*<\/IDCode>/.exec(text)?.[1];
  if (res.status !== 200 || !challenge || !idcode) {
    const why = /<RetMsg>([^<]{1,80})</.exec(text)?.[1];
    if (why) throw new LoginError('door.gdsRefusedWhy', { status: res.status, detail: why }, res.status, res.requests);
    throw new LoginError('door.gdsRefused', { status: res.status }, res.status, res.requests);
  }
  // GDS37xx HTTP API: authcode = md5(ChallengeCode:RemotePIN:Password), lowercase hex.
  return { authcode: hash('MD5', `${challenge}:${pin}:${credentials.password}`), idcode, requests: res.requests };
}
