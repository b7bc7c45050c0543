/**
 * What the two connections of an intercom-home-assistant config node (the MQTT broker and
 * the Home Assistant websocket) share: the state shown per part in the editor, announced
 * on change, and when to try again after a failed attempt.
 */
import { EventEmitter } from 'node:events';

/** Link states shown per part in the editor. */
export type LinkState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'auth-rejected' | 'misconfigured' | 'closed';

/** Doubling reconnect delay with a cap, reset after a good connection. */
export class Backoff {
  private next: number;
  constructor(
    private readonly initialMs = 1000,
    private readonly maxMs = 30000,
  ) {
    this.next = initialMs;
  }
  /** the delay to wait now; the following one doubles */
  take(): number {
    const d = this.next;
    this.next = Math.min(this.next * 2, this.maxMs);
    return d;
  }
  reset(): void {
    this.next = this.initialMs;
  }
}

/**
 * Why the last attempt failed, as far as the retry is concerned: `down` when the peer is
 * simply not there yet (nothing listens on the port, a proxy in front says the service is
 * unavailable), `failed` for anything else (timeouts, TLS, protocol errors).
 */
export type AttemptFailure = 'down' | 'failed';

/** Socket errors and proxy statuses that mean "nothing answers there now". */
const DOWN_CODES = new Set(['ECONNREFUSED']);
const DOWN_STATUS = new Set([502, 503, 504]);

export function attemptFailure(err: unknown): AttemptFailure {
  const e = err as { code?: unknown; status?: unknown; statusCode?: unknown } | undefined;
  if (e && typeof e.code === 'string' && DOWN_CODES.has(e.code)) return 'down';
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined && DOWN_STATUS.has(status)) return 'down';
  return 'failed';
}

/**
 * When to try again. A broker or Home Assistant that restarts refuses connections until it
 * is back, and a refused attempt costs the peer nothing (no TLS, no login, no log line), so
 * while it is `down` we knock every `downMs`: the link is back within about a second of the
 * peer. Attempts that reached the peer and failed there back off, doubling up to the cap,
 * so a peer that is up but unhappy is not hammered.
 */
export class ReconnectPolicy {
  private readonly backoff: Backoff;
  constructor(
    private readonly downMs = 1000,
    initialMs = 1000,
    maxMs = 30000,
  ) {
    this.backoff = new Backoff(initialMs, maxMs);
  }
  /** the delay before the next attempt, after a failure of this kind */
  next(failure: AttemptFailure): number {
    return failure === 'down' ? this.downMs : this.backoff.take();
  }
  /** a good connection: the next failure starts over */
  reset(): void {
    this.backoff.reset();
  }
}

/** A connection's state and its technical detail (the peer's own words), with a `state` event on change. */
export class Link extends EventEmitter {
  state: LinkState = 'idle';
  detail = '';

  get connected(): boolean {
    return this.state === 'connected';
  }

  protected setState(state: LinkState, detail = ''): void {
    if (this.state === state && this.detail === detail) return;
    this.state = state;
    this.detail = detail;
    this.emit('state', state, detail);
  }
}
