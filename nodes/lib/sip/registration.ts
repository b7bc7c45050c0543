/**
 * Registration client (RFC 3261 §10.2): REGISTER with digest (MD5 / SHA-256, qop=auth),
 * refresh before the granted expiry, 423 Interval Too Brief (§10.3 step 7: retry with
 * Min-Expires), servers that challenge every refresh, exponential backoff on failure, and
 * an Expires: 0 unregister on stop.
 *
 * Events: 'state' (RegistrationState, { status?, reason? }).
 */
import { EventEmitter } from 'node:events';
import { errorText } from '../core/errors';
import { ALLOW } from './call';
import type { TimerHandle } from './clock';
import type { Credentials } from '../auth/digest';
import type { SipEndpoint } from './endpoint';
import { type HeaderList, header, headers as headerValues, parseNameAddr, randomToken, splitComma } from './message';
import type { Remote } from './transport';

export type RegistrationState = 'unregistered' | 'registering' | 'registered' | 'failed';
/** Why a registration failed, for the account node to word: 401/403/407, 408, anything else. */
export type RegistrationFailure = 'authFailed' | 'noAnswer' | 'serverStatus';

export interface RegistrationEvents {
  state: [state: RegistrationState, detail: { status?: number; reason?: RegistrationFailure }];
  error: [err: Error];
}

export interface RegistrationOptions {
  user: string;
  domain: string;
  server: Remote;
  credentials?: Credentials;
  /** requested binding lifetime in seconds */
  expires?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class Registration extends EventEmitter<RegistrationEvents> {
  state: RegistrationState = 'unregistered';
  lastStatus?: number;
  grantedExpires?: number;
  private expires: number;
  private readonly callId = randomToken(12);
  private readonly fromTag = randomToken();
  private cseq = 1;
  private timer?: TimerHandle;
  private failures = 0;
  private stopped = false;
  private inFlight?: Promise<void>;
  /** bumped when a REGISTER must start over: the answer to an older one is then ignored */
  private generation = 0;
  private lastFailure?: RegistrationFailure;

  constructor(private ep: SipEndpoint, private opts: RegistrationOptions) {
    super();
    this.expires = opts.expires ?? 600;
    this.on('error', () => undefined);
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /**
   * The registrar said it has no binding for us (a restart forgot it, keepalive.ts): REGISTER
   * again now. Only while we believe we are registered: a registrar refusing our password
   * keeps its backoff.
   */
  bindingLost(): void {
    if (this.stopped || this.state !== 'registered') return;
    this.ep.log.info('sip.bindingLost', { user: this.opts.user, domain: this.opts.domain });
    this.restart();
  }

  /** The registrar stopped answering: say so (calls through it cannot reach us now). */
  registrarGone(): void {
    if (this.stopped || (this.state !== 'registered' && this.state !== 'registering')) return;
    this.ep.log.warn('sip.registrarGone', { server: `${this.opts.server.address}:${this.opts.server.port}` });
    this.lastFailure = 'noAnswer';
    this.set('failed', { reason: 'noAnswer' });
  }

  /** It answers again after it was gone: REGISTER now instead of at the next backoff step. */
  registrarBack(): void {
    if (this.stopped || this.state !== 'failed' || this.lastFailure !== 'noAnswer') return;
    this.ep.log.info('sip.registrarBack', { server: `${this.opts.server.address}:${this.opts.server.port}` });
    this.restart();
  }

  private restart(): void {
    this.generation++;
    this.cseq += 10; // past any REGISTER still in flight (its answer is ignored)
    this.failures = 0;
    this.schedule(0);
  }

  private set(state: RegistrationState, detail: { status?: number; reason?: RegistrationFailure } = {}): void {
    const changed = state !== this.state;
    this.state = state;
    if (changed || state === 'failed') this.emit('state', state, detail);
  }

  private schedule(ms: number): void {
    this.ep.clock.clearTimeout(this.timer);
    this.timer = this.ep.clock.setTimeout(() => {
      this.inFlight = this.register().catch((err: unknown) => this.ep.log.warn('sip.registerError', { detail: errorText(err) }));
    }, ms);
  }

  private build(expires: number) {
    const { user, domain, server } = this.opts;
    const aor = `<sip:${user}@${domain}>`;
    return (cseq: number) => ({
      method: 'REGISTER',
      uri: `sip:${domain}`,
      remote: server,
      headers: [
        ['Max-Forwards', '70'],
        ['From', `${aor};tag=${this.fromTag}`],
        ['To', aor],
        ['Call-ID', this.callId],
        ['CSeq', `${cseq} REGISTER`],
        ['Contact', this.ep.contact(user)],
        ['Expires', String(expires)],
        ['Allow', ALLOW],
        ['User-Agent', this.ep.userAgent],
      ] as HeaderList,
    });
  }

  private async register(): Promise<void> {
    if (this.stopped) return;
    const generation = this.generation;
    if (this.state !== 'registered') this.set('registering');
    const r = await this.ep.request(this.build(this.expires), this.opts.credentials, this.cseq);
    this.cseq = Math.max(this.cseq, r.cseq + 1);
    if (this.stopped || generation !== this.generation) return;
    this.lastStatus = r.status;
    if (r.status === 423 && r.res) {
      const min = Number(header(r.res, 'min-expires'));
      if (Number.isFinite(min) && min > this.expires && min < 86400 * 7) {
        this.expires = min;
        return this.register();
      }
    }
    if (r.status >= 200 && r.status < 300 && r.res) {
      this.failures = 0;
      this.lastFailure = undefined;
      this.grantedExpires = this.granted(r.res) ?? this.expires;
      this.set('registered', { status: r.status });
      // Refresh well before expiry: half-way for short bindings, 30 s ahead for long ones.
      const g = this.grantedExpires * 1000;
      this.schedule(Math.max(1000, Math.min(g / 2, g - 30_000)));
      return;
    }
    this.failures++;
    const reason: RegistrationFailure = r.status === 401 || r.status === 407 || r.status === 403 ? 'authFailed' : r.status === 408 ? 'noAnswer' : 'serverStatus';
    this.lastFailure = reason;
    this.set('failed', { status: r.status, reason });
    const min = this.opts.minBackoffMs ?? 2000;
    const max = this.opts.maxBackoffMs ?? 300_000;
    const backoff = Math.min(max, min * 2 ** Math.min(this.failures - 1, 16));
    this.schedule(backoff * (0.8 + Math.random() * 0.4));
  }

  /** Our binding's expiry from the 200 (Contact expires param, else Expires header). */
  private granted(res: { headers: Map<string, string[]> }): number | undefined {
    const mine = this.ep.contact(this.opts.user).replace(/[<>]/g, '');
    for (const c of headerValues(res, 'contact').flatMap(splitComma)) {
      const na = parseNameAddr(c);
      if (!na) continue;
      const host = na.uri.host;
      if (mine.includes(`@${host}:${na.uri.port}`) || mine.includes(`@${host};`) || mine.endsWith(`@${host}`)) {
        const e = Number(na.getParam('expires'));
        if (Number.isFinite(e) && e > 0) return e;
      }
    }
    const e = Number(header(res, 'expires'));
    return Number.isFinite(e) && e > 0 ? e : undefined;
  }

  /** Stop refreshing and remove our binding (Expires: 0), waiting at most `timeoutMs`. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.stopped = true;
    this.ep.clock.clearTimeout(this.timer);
    // A REGISTER in flight may take up to 64*T1; do not hold a redeploy hostage to it.
    await Promise.race([this.inFlight, new Promise((r) => setTimeout(r, 1000).unref())]);
    if (this.state !== 'registered') {
      this.set('unregistered');
      return;
    }
    const un = this.ep.request(this.build(0), this.opts.credentials, this.cseq);
    await Promise.race([un, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    this.set('unregistered');
  }
}
