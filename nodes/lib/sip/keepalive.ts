/**
 * Watching the registrar of a client account between refreshes. A registrar that restarts
 * without a database forgets every binding, and over UDP nothing tells the client: it stays
 * "registered" while every call to it gets 404, until its next refresh (minutes later).
 *
 * So the account asks, every `intervalMs`, for itself: an OPTIONS (RFC 3261 §11) to its own
 * address of record, sent to the registrar. A registrar routes it like any request to a
 * local user: to our binding (we answer 200), or 404/480 when it has none, the sign the
 * binding is gone. A registrar that answers OPTIONS itself says at least that it is there.
 * No answer within `answerTimeoutMs`, twice in a row, means it is gone; it is then asked
 * every `outageIntervalMs`, so the first answer after it is back comes within that time.
 *
 * What to do about it is the Registration's (registration.ts): renew the binding at once,
 * say "not answering", and renew when it answers again.
 */
import { randomToken } from './message';
import type { Credentials } from '../auth/digest';
import type { TimerHandle } from './clock';
import type { SipEndpoint } from './endpoint';
import type { Remote } from './transport';

export interface RegistrarWatchOptions {
  user: string;
  domain: string;
  server: Remote;
  credentials?: Credentials;
  intervalMs: number;
  outageIntervalMs?: number;
  answerTimeoutMs?: number;
}

export interface RegistrarWatchHooks {
  /** the registrar answered that our address of record has no binding */
  bindingLost(): void;
  /** two probes in a row went unanswered */
  gone(): void;
  /** it answers again after being gone */
  back(): void;
}

/** Answers that say the address of record is unknown there (RFC 3261 §21.4.5, .18, .10; §21.6.4). */
const NO_BINDING = new Set([404, 410, 480, 604]);

export class RegistrarWatch {
  private timer?: TimerHandle;
  private stopped = true;
  private misses = 0;
  private isGone = false;
  private cseq = 1;
  private readonly callId = randomToken(12);
  private readonly fromTag = randomToken();

  constructor(
    private readonly ep: SipEndpoint,
    private readonly opts: RegistrarWatchOptions,
    private readonly hooks: RegistrarWatchHooks,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.ep.clock.clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const ms = this.isGone ? (this.opts.outageIntervalMs ?? 500) : this.opts.intervalMs;
    this.timer = this.ep.clock.setTimeout(() => {
      this.schedule();
      void this.probe();
    }, ms);
  }

  private async probe(): Promise<void> {
    const { user, domain, server, credentials } = this.opts;
    const aor = `sip:${user}@${domain}`;
    const build = (cseq: number) => ({
      method: 'OPTIONS',
      uri: aor,
      remote: server,
      headers: [
        ['Max-Forwards', '70'],
        ['From', `<${aor}>;tag=${this.fromTag}`],
        ['To', `<${aor}>`],
        ['Call-ID', this.callId],
        ['CSeq', `${cseq} OPTIONS`],
        ['Accept', 'application/sdp'],
        ['User-Agent', this.ep.userAgent],
      ] as Array<[string, string]>,
    });
    const start = this.cseq;
    this.cseq += 2; // room for a challenged retry
    const timeout = this.opts.answerTimeoutMs ?? 1000;
    let timer: TimerHandle | undefined;
    const answer = await Promise.race([
      this.ep.request(build, credentials, start).then(
        (r) => r.status,
        () => 0,
      ),
      new Promise<number>((resolve) => (timer = this.ep.clock.setTimeout(() => resolve(0), timeout))),
    ]);
    this.ep.clock.clearTimeout(timer);
    if (this.stopped) return;
    // 408 is the transaction's own timeout (Timer F), not the registrar's word
    if (answer === 0 || answer === 408) {
      if (++this.misses >= 2 && !this.isGone) {
        this.isGone = true;
        this.hooks.gone();
      }
      return;
    }
    this.misses = 0;
    if (this.isGone) {
      this.isGone = false;
      this.hooks.back();
      return;
    }
    if (NO_BINDING.has(answer)) this.hooks.bindingLost();
  }
}
