/**
 * Opens one door, whatever is behind it (one module per kind, action-<kind>.ts). What every
 * kind shares lives here, the rules that keep a relay and its door safe:
 * - a non-idempotent open (trigger, pulse) is retried only when the request provably never
 *   left (connection refused); an idempotent one (set "on" with a timer) also after
 *   timeouts and 5xx, with exponential backoff;
 * - authentication failures are never retried (no lockout, no request storm);
 * - a second open while one is in flight joins it; one within the minimum interval after
 *   the last is refused, so a chattering flow cannot wear out the relay;
 * - the door's timeout bounds the whole open, retries included: a relay that does not
 *   answer gets its answer in the time the user set, and no retry leaves after it;
 * - "ok" can wait for a confirmation (confirm.ts).
 */
import type { Credentials } from '../auth/digest';
import { HttpClient, type HttpRequestSpec, type HttpResult } from '../http/client';
import type { ActionRunner, DoorAction, OpenContext, Tally } from './action';
import { DtmfRunner, type DtmfSender } from './action-dtmf';
import { HaRunner, type HaServiceCaller } from './action-ha';
import { HttpRunner } from './action-http';
import { MqttRunner, type MqttConnection } from './action-mqtt';
import { PresetRunner } from './action-preset';
import { Confirmer, type Confirmation } from './confirm';
import { asOpenError, type OpenError, type OpenOutcome, type OpenProblem } from './open-error';

export type { DoorAction, OpenContext } from './action';
export type { Confirmation } from './confirm';
export type { DtmfSender } from './action-dtmf';
export type { HaServiceCaller } from './action-ha';
export type { MqttConnection } from './action-mqtt';
export type { OpenOutcome, OpenProblem } from './open-error';

export interface OpenerOptions {
  doorId: string;
  doorName: string;
  action: DoorAction;
  credentials?: Partial<Credentials> & { pin?: string };
  insecureTls?: boolean;
  timeoutMs?: number;
  /** extra tries for idempotent actions (and for never-delivered ones) */
  retries?: number;
  backoffMs?: number;
  minIntervalMs?: number;
  confirm?: Confirmation;
  /** looked up at each open: the providers may come and go with redeploys */
  dtmfSenders?: () => DtmfSender[];
  haCallers?: () => HaServiceCaller[];
  /** the broker connection of an MQTT door, looked up at each open */
  mqtt?: () => MqttConnection | undefined;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface OpenResult {
  ok: boolean;
  latencyMs: number;
  attempts: number;
  status?: number;
  /** why it is not ok: a code of intercom.errors with its values */
  error?: OpenProblem;
  outcome: OpenOutcome;
  /** HTTP requests made (auth round trips included) */
  requests: number;
}

const sleepReal = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The shortest try worth starting before the deadline; less left, and the open ends. */
const MIN_ATTEMPT_MS = 250;

/**
 * The opener's HTTP client: while an open runs, no request may outlast the open's deadline
 * (opens never overlap: a second one joins the first).
 */
class DeadlineClient extends HttpClient {
  deadline = Infinity;
  now: () => number = Date.now;
  override request(spec: HttpRequestSpec): Promise<HttpResult> {
    const left = this.deadline - this.now();
    if (left === Infinity) return super.request(spec);
    return super.request({ ...spec, timeoutMs: Math.max(1, Math.min(spec.timeoutMs ?? left, left)) });
  }
}

export class DoorOpener {
  private readonly http: DeadlineClient;
  private readonly action: ActionRunner;
  private readonly confirmer: Confirmer;
  private inflight: Promise<OpenResult> | null = null;
  private lastOpenAt = -Infinity;
  private closed = false;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: OpenerOptions) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? sleepReal;
    const timeoutMs = opts.timeoutMs ?? 5000;
    this.http = new DeadlineClient({ insecureTls: opts.insecureTls, timeoutMs, maxBodyBytes: 64 * 1024 });
    this.http.now = this.now;
    const c = opts.credentials;
    const credentials = c?.user ? { user: c.user, password: c.password ?? '' } : undefined;
    const door = { id: opts.doorId, name: opts.doorName };
    const a = opts.action;
    switch (a.kind) {
      case 'preset':
        this.action = new PresetRunner(a, { http: this.http, credentials, pin: c?.pin, timeoutMs, now: this.now });
        break;
      case 'http':
        this.action = new HttpRunner(a, { http: this.http, credentials, door });
        break;
      case 'mqtt':
        this.action = new MqttRunner(a, { connection: () => opts.mqtt?.(), door, timeoutMs, now: this.now, sleep: this.sleep });
        break;
      case 'dtmf':
        this.action = new DtmfRunner(a, () => opts.dtmfSenders?.() ?? []);
        break;
      case 'ha':
        this.action = new HaRunner(a, () => opts.haCallers?.() ?? []);
        break;
    }
    this.confirmer = new Confirmer(opts.confirm ?? { kind: 'none' }, { http: this.http, credentials, now: this.now, sleep: this.sleep, closed: () => this.closed });
  }

  /** Open the door once (joins an open in flight; refused within the minimum interval). */
  open(ctx: OpenContext = {}): Promise<OpenResult> {
    if (this.inflight) return this.inflight;
    const t0 = this.now();
    const minInterval = this.opts.minIntervalMs ?? 1000;
    if (this.closed) return Promise.resolve(this.result(t0, 0, { requests: 0 }, 'failed', { code: 'door.closed', params: {} }));
    if (t0 - this.lastOpenAt < minInterval) {
      const ago = Math.round(t0 - this.lastOpenAt);
      return Promise.resolve(this.result(t0, 0, { requests: 0 }, 'throttled', { code: 'door.throttled', params: { ago, min: minInterval } }));
    }
    this.lastOpenAt = t0;
    const p = this.run(ctx, t0)
      .then((r) => {
        // Nothing was there to act (no SIP side, no HA): the relay never moved, so the
        // interval that protects it does not start.
        if (r.outcome === 'unavailable') this.lastOpenAt = -Infinity;
        return r;
      })
      .finally(() => {
        this.inflight = null;
      });
    this.inflight = p;
    return p;
  }

  /** An event confirms the open in flight (confirm kind "event"). */
  confirmEvent(): void {
    this.confirmer.event();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.http.close();
    this.confirmer.event();
    this.action.close?.();
  }

  private result(t0: number, attempts: number, tally: Tally, outcome: OpenOutcome, error?: OpenProblem, status?: number): OpenResult {
    return { ok: outcome === 'ok', latencyMs: this.now() - t0, attempts, status, error, outcome, requests: tally.requests };
  }

  private async run(ctx: OpenContext, t0: number): Promise<OpenResult> {
    const tally: Tally = { requests: 0 };
    // The door's configuration checked the number of tries (lib/door/config.ts).
    const retries = this.opts.retries ?? 2;
    const backoff = this.opts.backoffMs ?? 200;
    const deadline = t0 + (this.opts.timeoutMs ?? 5000);
    let attempts = 0;
    let last: OpenError | undefined;
    while (attempts <= retries) {
      attempts++;
      try {
        this.http.deadline = deadline;
        let status: number | undefined;
        try {
          status = await this.action.attempt(ctx, tally);
        } finally {
          this.http.deadline = Infinity;
        }
        const unconfirmed = await this.confirmer.confirm(tally);
        if (unconfirmed) return this.result(t0, attempts, tally, 'unconfirmed', unconfirmed, status);
        return this.result(t0, attempts, tally, 'ok', undefined, status);
      } catch (err) {
        last = asOpenError(err);
        if (!last.retryable || this.closed || attempts > retries) break;
        // Exponential backoff: 200, 400, 800 ms... the relay or panel may be rebooting;
        // but only while a try still fits before the deadline.
        const wait = backoff * 2 ** (attempts - 1);
        if (this.now() + wait + MIN_ATTEMPT_MS > deadline) break;
        await this.sleep(wait);
      }
    }
    const problem: OpenProblem = last?.problem ?? { code: 'door.failed', params: {} };
    return this.result(t0, attempts, tally, last?.outcome ?? 'failed', problem, last?.status);
  }
}
