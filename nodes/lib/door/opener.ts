/**
 * Opens one door, whatever is behind it: a vendor preset over HTTP, a generic HTTP
 * request, an MQTT publish, a DTMF digit into the live call, or a Home Assistant service.
 *
 * Rules that keep a relay and its door safe:
 * - a non-idempotent open (trigger, pulse) is retried only when the request provably never
 *   left (connection refused); an idempotent one (set "on" with a timer) also after
 *   timeouts and 5xx, with exponential backoff;
 * - authentication failures are never retried (no lockout, no request storm);
 * - a second open while one is in flight joins it; one within the minimum interval after
 *   the last is refused, so a chattering flow cannot wear out the relay;
 * - "ok" can wait for a confirmation: a state URL that must match, or an event.
 */
import type { Credentials } from './digest';
import { HttpClient, HttpError, redactUrl, type AuthMode, type HttpResult } from './http-client';
import { checkSuccess, fillTemplate, findPreset, presetParams, type Preset } from './presets';
import { render } from './template';
import { BasIpSession, gdsChallenge, LoginError } from './vendor-auth';

export interface PresetAction {
  kind: 'preset';
  preset: string;
  /** http(s)://host[:port] of the device */
  baseUrl: string;
  relay?: number;
  pulseSeconds?: number;
  userId?: string;
}
export interface HttpAction {
  kind: 'http';
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  auth?: AuthMode;
  idempotent?: boolean;
  /** regular expression the answer body must match */
  successMatch?: string;
}
export interface MqttAction {
  kind: 'mqtt';
  topic: string;
  payload: string;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}
export interface DtmfAction {
  kind: 'dtmf';
  digits: string;
}
export interface HaAction {
  kind: 'ha';
  /** "lock.open", "switch.turn_on", "button.press" */
  service: string;
  entityId: string;
  /** id of the Home Assistant config node, when there are several */
  server?: string;
}
export type DoorAction = PresetAction | HttpAction | MqttAction | DtmfAction | HaAction;

export type Confirmation =
  | { kind: 'none' }
  | { kind: 'poll'; url: string; match: string; intervalMs?: number; timeoutMs?: number }
  | { kind: 'event'; timeoutMs?: number };

/** What the SIP side registers so a door can send a digit into the live call. */
export interface DtmfSender {
  /** false when the call is not this sender's; throws when sending failed */
  sendDtmf(callId: string | undefined, digits: string): Promise<boolean>;
}
/** What the Home Assistant side registers so a door can call a service. */
export interface HaServiceCaller {
  id?: string;
  callService(domain: string, service: string, data: Record<string, unknown>): Promise<void>;
}
/** An MQTT connection (the mqtt package in production, see mqtt-publisher.ts). */
export interface MqttPublisher {
  publish(topic: string, payload: string, opts: { qos: 0 | 1 | 2; retain: boolean }, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

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
  mqtt?: () => MqttPublisher;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface OpenContext {
  /** the message that asked, for templates */
  msg?: Record<string, unknown>;
  callId?: string;
}

export interface OpenResult {
  ok: boolean;
  latencyMs: number;
  attempts: number;
  status?: number;
  error?: string;
  /** "ok", "failed", "throttled", "unconfirmed", "unavailable" */
  outcome: string;
  /** HTTP requests made (auth round trips included) */
  requests: number;
}

class OpenFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly outcome = 'failed',
  ) {
    super(message);
  }
}

const sleepReal = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class DoorOpener {
  private readonly http: HttpClient;
  private readonly preset: Preset | undefined;
  private basip: BasIpSession | undefined;
  private inflight: Promise<OpenResult> | null = null;
  private lastOpenAt = -Infinity;
  private eventWaiters: Array<() => void> = [];
  private publisher: MqttPublisher | undefined;
  private closed = false;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private requests = 0;

  constructor(private readonly opts: OpenerOptions) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? sleepReal;
    this.http = new HttpClient({ insecureTls: opts.insecureTls, timeoutMs: opts.timeoutMs ?? 5000, maxBodyBytes: 64 * 1024 });
    const a = opts.action;
    if (a.kind === 'preset') {
      this.preset = findPreset(a.preset);
      if (!this.preset) throw new Error(`unknown door preset "${a.preset}"`);
      if (!/^https?:\/\/[^/]+$/i.test(a.baseUrl.replace(/\/+$/, ''))) throw new Error(`door host must be http(s)://host[:port], not "${redactUrl(a.baseUrl)}"`);
    } else if (a.kind === 'http') {
      if (!/^https?:\/\//i.test(a.url)) throw new Error('door URL must start with http:// or https://');
      // A message may fill the path and query, never the host: where a door command goes
      // (with its credentials) is configuration, not input.
      if (/^https?:\/\/[^/?#]*\{\{/i.test(a.url)) throw new Error('door URL host may not come from a message template');
    } else if (a.kind === 'dtmf') {
      if (!/^[0-9*#A-D]{1,8}$/.test(a.digits)) throw new Error(`DTMF digits must be 0-9 * # A-D, not "${a.digits}"`);
    } else if (a.kind === 'ha') {
      if (!/^[a-z_]+\.[a-z_]+$/.test(a.service)) throw new Error(`Home Assistant service must look like lock.open, not "${a.service}"`);
    } else if (a.kind === 'mqtt') {
      if (!a.topic || /[#+]/.test(a.topic)) throw new Error('MQTT topic must be set and have no wildcards');
    }
  }

  /** Open the door once (joins an open in flight; refused within the minimum interval). */
  open(ctx: OpenContext = {}): Promise<OpenResult> {
    if (this.inflight) return this.inflight;
    const t0 = this.now();
    const minInterval = this.opts.minIntervalMs ?? 1000;
    if (this.closed) return Promise.resolve(this.result(t0, 0, 'door is closed (redeploying)', 'failed'));
    if (t0 - this.lastOpenAt < minInterval) {
      return Promise.resolve(this.result(t0, 0, `opened ${Math.round(t0 - this.lastOpenAt)} ms ago; minimum interval is ${minInterval} ms`, 'throttled'));
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
    const waiters = this.eventWaiters;
    this.eventWaiters = [];
    for (const w of waiters) w();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.http.close();
    this.confirmEvent();
    const pub = this.publisher;
    this.publisher = undefined;
    if (pub) await pub.close();
  }

  private result(t0: number, attempts: number, error: string | undefined, outcome: string, status?: number): OpenResult {
    return { ok: outcome === 'ok', latencyMs: this.now() - t0, attempts, status, error, outcome, requests: this.requests };
  }

  private async run(ctx: OpenContext, t0: number): Promise<OpenResult> {
    this.requests = 0;
    const retries = Math.max(0, Math.min(5, this.opts.retries ?? 2));
    const backoff = this.opts.backoffMs ?? 200;
    let attempts = 0;
    let last: OpenFailure | undefined;
    while (attempts <= retries) {
      attempts++;
      try {
        const status = await this.attempt(ctx);
        const unconfirmed = await this.confirm();
        if (unconfirmed) return this.result(t0, attempts, unconfirmed, 'unconfirmed', status);
        return this.result(t0, attempts, undefined, 'ok', status);
      } catch (err) {
        last = err instanceof OpenFailure ? err : new OpenFailure(err instanceof Error ? err.message : String(err), false);
        if (!last.retryable || this.closed || attempts > retries) break;
        // Exponential backoff: 200, 400, 800 ms... the relay or panel may be rebooting.
        await this.sleep(backoff * 2 ** (attempts - 1));
      }
    }
    return this.result(t0, attempts, last?.message ?? 'failed', last?.outcome ?? 'failed', last?.status);
  }

  private idempotent(): boolean {
    const a = this.opts.action;
    if (a.kind === 'preset') return this.preset?.idempotent === true;
    if (a.kind === 'http') return a.idempotent === true;
    // MQTT QoS 1 may deliver twice anyway; a DTMF digit or a service call is an action.
    return false;
  }

  /** One try; resolves with the HTTP status (when there is one), throws OpenFailure. */
  private async attempt(ctx: OpenContext): Promise<number | undefined> {
    const a = this.opts.action;
    switch (a.kind) {
      case 'preset':
        return this.httpAttempt(() => this.presetRequest(a));
      case 'http':
        return this.httpAttempt(() => this.genericRequest(a, ctx), a.successMatch ? { kind: 'text', match: a.successMatch } : undefined);
      case 'mqtt':
        return this.mqttAttempt(a, ctx);
      case 'dtmf':
        return this.dtmfAttempt(a, ctx);
      case 'ha':
        return this.haAttempt(a);
    }
  }

  private creds(): Credentials | undefined {
    const c = this.opts.credentials;
    return c?.user ? { user: c.user, password: c.password ?? '' } : undefined;
  }

  private async httpAttempt(send: () => Promise<HttpResult>, override?: Preset['success']): Promise<number> {
    let res: HttpResult;
    try {
      res = await send();
    } catch (err) {
      if (err instanceof HttpError) {
        this.requests += err.requests;
        // Never delivered: safe to try again whatever the action. Delivered but no (full)
        // answer: only an idempotent action may be sent again.
        const retryable = !err.delivered || (this.idempotent() && (err.code === 'timeout' || err.code === 'network'));
        throw new OpenFailure(err.message, retryable);
      }
      if (err instanceof LoginError) {
        this.requests += err.requests;
        throw new OpenFailure(err.message, false, err.status);
      }
      throw err;
    }
    this.requests += res.requests;
    if (res.status === 401 || res.status === 403) {
      throw new OpenFailure(`authentication refused (HTTP ${res.status}): check user and password`, false, res.status);
    }
    if (res.status >= 500) throw new OpenFailure(`device error (HTTP ${res.status})`, this.idempotent(), res.status);
    if (res.status < 200 || res.status >= 300) throw new OpenFailure(`device refused (HTTP ${res.status})`, false, res.status);
    const reason = checkSuccess(override ?? this.preset?.success, res.body.toString('utf8'));
    if (reason) throw new OpenFailure(reason, false, res.status);
    return res.status;
  }

  private baseUrl(a: PresetAction): string {
    return a.baseUrl.replace(/\/+$/, '');
  }

  private async presetRequest(a: PresetAction): Promise<HttpResult> {
    const preset = this.preset as Preset;
    const creds = this.creds();
    const params = presetParams({
      relay: a.relay ?? 1,
      pulseSeconds: a.pulseSeconds ?? 2,
      userId: a.userId,
      user: creds?.user ?? '',
      password: creds?.password ?? '',
    });
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    const base = this.baseUrl(a);
    if (preset.auth === 'basip-token') {
      if (!creds) throw new OpenFailure('BAS-IP needs a user and password', false);
      this.basip ??= new BasIpSession(this.http, base, creds, this.now);
      const path = fillTemplate(preset.open.path, params, true);
      const res = await this.basip.request(preset.open.method, path, timeoutMs);
      this.requests += res.loginRequests;
      return res;
    }
    if (preset.auth === 'gds-challenge') {
      if (!creds) throw new OpenFailure('Grandstream GDS needs a user and password', false);
      const t = this.now();
      const ch = await gdsChallenge(this.http, base, creds, this.opts.credentials?.pin ?? '', timeoutMs);
      this.requests += ch.requests;
      const path = fillTemplate(preset.open.path, { ...params, authcode: ch.authcode, idcode: ch.idcode }, true);
      return this.http.request({ method: preset.open.method, url: base + path, timeoutMs: Math.max(1, timeoutMs - (this.now() - t)) });
    }
    const headers: Record<string, string> = {};
    if (preset.open.contentType) headers['content-type'] = preset.open.contentType;
    return this.http.request({
      method: preset.open.method,
      url: base + fillTemplate(preset.open.path, params, true),
      headers,
      body: preset.open.body === undefined ? undefined : fillTemplate(preset.open.body, params, false),
      auth: preset.auth as AuthMode,
      credentials: preset.auth === 'none' ? undefined : creds,
    });
  }

  private scope(ctx: OpenContext): Record<string, unknown> {
    return { msg: ctx.msg ?? {}, door: { id: this.opts.doorId, name: this.opts.doorName } };
  }

  private genericRequest(a: HttpAction, ctx: OpenContext): Promise<HttpResult> {
    const scope = this.scope(ctx);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(a.headers ?? {})) headers[k.toLowerCase()] = render(v, scope, 'header');
    const json = /json/i.test(headers['content-type'] ?? '');
    return this.http.request({
      method: a.method,
      url: render(a.url, scope, 'url'),
      headers,
      body: a.body ? render(a.body, scope, json ? 'json' : 'none') : undefined,
      auth: a.auth ?? 'auto',
      credentials: a.auth === 'none' ? undefined : this.creds(),
    });
  }

  private async mqttAttempt(a: MqttAction, ctx: OpenContext): Promise<undefined> {
    if (!this.opts.mqtt) throw new OpenFailure('no MQTT broker configured for this door', false, undefined, 'unavailable');
    this.publisher ??= this.opts.mqtt();
    try {
      await this.publisher.publish(a.topic, render(a.payload, this.scope(ctx), 'none'), { qos: a.qos ?? 1, retain: a.retain === true }, this.opts.timeoutMs ?? 5000);
    } catch (err) {
      throw new OpenFailure(`MQTT publish failed: ${err instanceof Error ? err.message : String(err)}`, false);
    }
    return undefined;
  }

  private async dtmfAttempt(a: DtmfAction, ctx: OpenContext): Promise<undefined> {
    const senders = this.opts.dtmfSenders?.() ?? [];
    if (senders.length === 0) {
      throw new OpenFailure('no DTMF sender available: add an intercom-sip-account (SIP/media nodes) to send a digit into the call', false, undefined, 'unavailable');
    }
    const callId = ctx.callId;
    if (!callId) throw new OpenFailure('DTMF open needs msg.call.id of the live call', false);
    for (const s of senders) {
      if (await s.sendDtmf(callId, a.digits)) return undefined;
    }
    throw new OpenFailure(`no live call ${callId} to send DTMF into`, false);
  }

  private async haAttempt(a: HaAction): Promise<undefined> {
    const callers = (this.opts.haCallers?.() ?? []).filter((c) => !a.server || c.id === a.server);
    if (callers.length === 0) {
      throw new OpenFailure('no Home Assistant connection available: add an intercom-home-assistant config node', false, undefined, 'unavailable');
    }
    const [domain, service] = a.service.split('.');
    try {
      await callers[0].callService(domain, service, { entity_id: a.entityId });
    } catch (err) {
      throw new OpenFailure(`Home Assistant ${a.service} failed: ${err instanceof Error ? err.message : String(err)}`, false);
    }
    return undefined;
  }

  /** undefined when confirmed (or no confirmation asked), else why not. */
  private async confirm(): Promise<string | undefined> {
    const c = this.opts.confirm ?? { kind: 'none' };
    if (c.kind === 'none') return undefined;
    const timeoutMs = c.timeoutMs ?? 5000;
    if (c.kind === 'event') {
      let timer: NodeJS.Timeout | undefined;
      let resolveWaiter: (() => void) | undefined;
      const got = await new Promise<boolean>((resolve) => {
        resolveWaiter = () => resolve(true);
        this.eventWaiters.push(resolveWaiter);
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      clearTimeout(timer);
      this.eventWaiters = this.eventWaiters.filter((w) => w !== resolveWaiter);
      return got && !this.closed ? undefined : `no confirmation event within ${timeoutMs} ms`;
    }
    const end = this.now() + timeoutMs;
    const re = new RegExp(c.match);
    let lastSeen = 'nothing';
    while (this.now() < end && !this.closed) {
      try {
        const res = await this.http.request({ method: 'GET', url: c.url, auth: 'auto', credentials: this.creds(), timeoutMs: Math.max(1, Math.min(2000, end - this.now())) });
        this.requests += res.requests;
        const text = res.body.toString('utf8');
        if (res.status >= 200 && res.status < 300 && re.test(text)) return undefined;
        lastSeen = `HTTP ${res.status} ${text.slice(0, 60)}`;
      } catch (err) {
        lastSeen = err instanceof Error ? err.message : String(err);
      }
      await this.sleep(Math.min(c.intervalMs ?? 250, Math.max(0, end - this.now())));
    }
    return `door state not confirmed within ${timeoutMs} ms (last: ${lastSeen})`;
  }
}
