/**
 * The Home Assistant connection of one intercom-home-assistant config node: the websocket
 * API on home-assistant-js-websocket with the `ws` package as the socket (the library lets
 * the socket be injected through createSocket), and the few REST calls the websocket API
 * has no command for (the image a push shows). Authenticates with a token, reconnects by
 * itself, and stops for good when HA rejects the token: a bad token retried every second
 * would only fill HA's log and trip its IP ban.
 *
 * While Home Assistant is down (restarting), nothing answers its port: the socket knocks
 * every second (lib/homeassistant/link.ts) instead of the library's growing delay, so the
 * link is back about a second after HA is.
 */
import WebSocket from 'ws';
import {
  createConnection,
  ERR_CANNOT_CONNECT,
  ERR_INVALID_AUTH,
  type Connection,
  type HaWebSocket,
} from 'home-assistant-js-websocket';
import { errorText, IntercomError } from '../core/errors';
import type { Logger } from '../core/log';
import { HttpClient } from '../http/client';
import { attemptFailure, Link, ReconnectPolicy, type AttemptFailure } from './link';

/** What the link needs from a websocket: the WHATWG surface `ws` also offers. */
export type WebSocketFactory = (url: string) => WebSocket;

/** Where Home Assistant's two APIs are: directly, or through the Supervisor's proxy. */
export interface HaEndpoint {
  /** ws(s)://…/api/websocket, or ws://supervisor/core/websocket */
  wsUrl: string;
  /** http(s)://…/api, or http://supervisor/core/api (REST paths go after it) */
  apiUrl: string;
}

export interface WsLinkOptions {
  endpoint: HaEndpoint;
  token: string;
  logger: Logger;
  /** accept a self-signed certificate on https/wss */
  insecureTls?: boolean;
  createWebSocket?: WebSocketFactory;
  reconnect?: ReconnectPolicy;
  connectTimeoutMs?: number;
}

export interface HaEvent<T = Record<string, unknown>> {
  event_type: string;
  data: T;
  time_fired?: string;
  context?: { id?: string; user_id?: string | null; parent_id?: string | null };
}

/** The endpoints of a Home Assistant typed as its URL (http(s)://host:8123, or its ws(s):// websocket URL). */
export function haEndpoint(url: string): HaEndpoint {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new IntercomError('ha.badUrl', { value: url.slice(0, 100) });
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol) || !u.hostname) throw new IntercomError('ha.badUrl', { value: url.slice(0, 100) });
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  const base = u.pathname.replace(/\/+$/, '').replace(/\/api(\/websocket)?$/, '');
  const host = u.host;
  return { wsUrl: `${secure ? 'wss' : 'ws'}://${host}${base}/api/websocket`, apiUrl: `${secure ? 'https' : 'http'}://${host}${base}/api` };
}

/** The websocket URL of a Home Assistant URL (kept for callers that need only it). */
export function websocketUrl(url: string): string {
  return haEndpoint(url).wsUrl;
}

interface Subscription {
  /** an event type (subscribe_events), or a whole subscribe message (subscribe_entities, ...) */
  eventType?: string;
  message?: Record<string, unknown>;
  callback: (ev: any) => void;
  unsubscribe?: () => Promise<void>;
}

/** One attempt's failure, as the retry needs it. */
class FailedAttempt {
  constructor(
    readonly failure: AttemptFailure,
    readonly detail: string,
  ) {}
}

export class HaWsLink extends Link {
  private conn: Connection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly reconnect: ReconnectPolicy;
  private readonly subs = new Set<Subscription>();
  private users: Promise<Map<string, string>> | null = null;
  private readonly http: HttpClient;
  /** after a failed attempt: seconds until the next one */
  retrySeconds: number | null = null;
  /** Home Assistant's version, once connected */
  haVersion = '';

  constructor(private readonly opts: WsLinkOptions) {
    super();
    this.reconnect = opts.reconnect ?? new ReconnectPolicy();
    this.http = new HttpClient({ insecureTls: opts.insecureTls === true, timeoutMs: 5000 });
  }

  private get isClosed(): boolean {
    return this.state === 'closed';
  }

  get endpoint(): HaEndpoint {
    return this.opts.endpoint;
  }

  /** One websocket through the auth phase: auth_required → auth → auth_ok | auth_invalid. */
  private attempt(): Promise<HaWebSocket> {
    const make = this.opts.createWebSocket ?? ((u: string) => new WebSocket(u, { rejectUnauthorized: this.opts.insecureTls !== true }));
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = make(this.opts.endpoint.wsUrl);
      } catch (err) {
        reject(new FailedAttempt('failed', errorText(err)));
        return;
      }
      let settled = false;
      // What went wrong, for the retry only (never shown): a socket error, an HTTP status, a word.
      const fail = (err: { code?: unknown; status?: number; message?: string } | number): void => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(typeof err === 'number' ? err : new FailedAttempt(attemptFailure(err), String(err.message ?? err.code ?? err.status)));
      };
      const t = setTimeout(() => fail({ code: 'timeout' }), this.opts.connectTimeoutMs ?? 10000);
      ws.on('error', (err) => fail(err));
      // A proxy in front (the Supervisor while HA core restarts) answers the upgrade with 502/503.
      ws.on('unexpected-response', (_req, res) => fail({ status: res.statusCode }));
      ws.on('close', () => fail({ code: 'closed' }));
      ws.on('message', (data) => {
        let m: { type?: string; ha_version?: string; message?: string };
        try {
          m = JSON.parse(String(data));
        } catch {
          fail({ code: 'not-json' });
          return;
        }
        if (m.type === 'auth_required') {
          ws.send(JSON.stringify({ type: 'auth', access_token: this.opts.token }));
        } else if (m.type === 'auth_invalid') {
          this.detail = m.message ?? '';
          fail(ERR_INVALID_AUTH);
        } else if (m.type === 'auth_ok') {
          settled = true;
          clearTimeout(t);
          ws.removeAllListeners();
          // Errors after auth surface as close events, which the library handles.
          ws.on('error', () => undefined);
          (ws as unknown as HaWebSocket).haVersion = m.ha_version ?? '';
          this.haVersion = m.ha_version ?? '';
          resolve(ws as unknown as HaWebSocket);
        }
      });
    });
  }

  /**
   * The socket the library asks for, first and after every drop. While HA is simply down it
   * keeps knocking here, every second, so the library's own delay never grows past its first
   * step; any other failure goes back to the library (ERR_CANNOT_CONNECT) and to our backoff.
   */
  private createSocket = async (): Promise<HaWebSocket> => {
    for (;;) {
      if (this.isClosed) throw ERR_CANNOT_CONNECT;
      try {
        return await this.attempt();
      } catch (err) {
        if (err === ERR_INVALID_AUTH) throw err;
        const failure = err instanceof FailedAttempt ? err.failure : 'failed';
        if (failure !== 'down' || this.isClosed) throw ERR_CANNOT_CONNECT;
        const wait = this.reconnect.next('down');
        this.retrySeconds = Math.max(1, Math.round(wait / 1000));
        this.setState('disconnected');
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  };

  start(): void {
    if (this.conn || this.timer || this.state === 'closed' || this.state === 'auth-rejected' || this.state === 'connecting') return;
    this.setState('connecting');
    createConnection({ createSocket: this.createSocket, setupRetry: 0 }).then(
      (conn) => {
        if (this.state === 'closed') {
          conn.close();
          return;
        }
        this.conn = conn;
        this.retrySeconds = null;
        this.reconnect.reset();
        conn.addEventListener('ready', () => {
          this.retrySeconds = null;
          this.setState('connected');
        });
        conn.addEventListener('disconnected', () => this.setState('disconnected'));
        conn.addEventListener('reconnect-error', () => this.authRejected());
        this.setState('connected');
        for (const s of this.subs) this.subscribeOne(conn, s);
      },
      (err: unknown) => {
        if (this.state === 'closed') return;
        if (err === ERR_INVALID_AUTH) {
          this.authRejected();
          return;
        }
        const wait = this.reconnect.next('failed');
        this.retrySeconds = Math.round(wait / 1000);
        this.setState('disconnected');
        this.timer = setTimeout(() => {
          this.timer = null;
          this.state = 'idle';
          this.start();
        }, wait);
      },
    );
  }

  private authRejected(): void {
    this.opts.logger.error('ha.tokenRejected');
    this.setState('auth-rejected', this.detail);
    if (this.conn) {
      this.conn.close();
      this.conn = null;
    }
  }

  private subscribeOne(conn: Connection, s: Subscription): void {
    const callback = (ev: unknown): void => {
      try {
        s.callback(ev);
      } catch (err) {
        this.opts.logger.error('ha.eventHandlerFailed', { detail: errorText(err) });
      }
    };
    // The library re-subscribes by itself after a reconnect.
    const subscribing = s.message ? conn.subscribeMessage(callback, s.message as never) : conn.subscribeEvents(callback, s.eventType);
    subscribing.then(
      (unsub) => {
        s.unsubscribe = unsub;
        if (!this.subs.has(s)) unsub().catch(() => undefined);
      },
      (err: unknown) => this.opts.logger.warn('ha.subscribeEventFailed', { event: s.eventType ?? String(s.message?.type), detail: JSON.stringify(err)?.slice(0, 200) }),
    );
  }

  private add(s: Subscription): () => void {
    this.subs.add(s);
    if (this.conn) this.subscribeOne(this.conn, s);
    return () => {
      this.subs.delete(s);
      if (s.unsubscribe) s.unsubscribe().catch(() => undefined);
    };
  }

  /** Subscribes to an HA event type now or once connected (start() connects); returns the unsubscribe. */
  subscribe(eventType: string, callback: (ev: HaEvent) => void): () => void {
    return this.add({ eventType, callback: callback as (ev: unknown) => void });
  }

  /** Calls back on every change of these entities (subscribe_entities: only them, not the whole bus). */
  watchEntities(entityIds: string[], callback: () => void): () => void {
    return this.add({ message: { type: 'subscribe_entities', entity_ids: entityIds }, callback: () => callback() });
  }

  /** Why the link cannot be used now, as the error a caller gets. */
  private notUp(): IntercomError {
    if (this.detail) return new IntercomError('ha.wsNotUpDetail', { state: this.state, detail: this.detail.slice(0, 200) });
    if (this.state === 'disconnected' && this.retrySeconds !== null) return new IntercomError('ha.wsRetrying', { state: this.state, seconds: this.retrySeconds });
    return new IntercomError('ha.wsNotUp', { state: this.state });
  }

  /** Resolves once connected; rejects when the token is refused, the link closed, or after timeoutMs. */
  whenConnected(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onState = (): void => {
        if (this.connected) finish();
        else if (this.state === 'auth-rejected' || this.state === 'closed') finish(this.notUp());
      };
      const finish = (err?: Error): void => {
        clearTimeout(t);
        this.off('state', onState);
        if (err) reject(err);
        else resolve();
      };
      const t = setTimeout(() => finish(new IntercomError('ha.wsTimeout', { ms: timeoutMs, state: this.state })), timeoutMs);
      this.on('state', onState);
      onState();
    });
  }

  /** Sends one command; fails fast when not connected rather than queueing a push for later. */
  async command<T = unknown>(message: Record<string, unknown>): Promise<T> {
    if (!this.conn || !this.connected) throw this.notUp();
    try {
      return (await this.conn.sendMessagePromise(message as never)) as T;
    } catch (err) {
      // HA's result error: {code, message} in its own words, or the library's numeric code.
      const e = err as { code?: string; message?: string } | number;
      const params = typeof e === 'object' && e ? { code: e.code ?? 'error', detail: (e.message ?? '').slice(0, 200) } : { code: String(e), detail: '' };
      throw new IntercomError('ha.commandFailed', params);
    }
  }

  callService(domain: string, service: string, data: Record<string, unknown>): Promise<unknown> {
    return this.command({ type: 'call_service', domain, service, service_data: data });
  }

  /**
   * The picture Home Assistant serves for an image entity now (what the phone app loads for
   * a push), or null while HA has none. REST: the websocket API has no command for it.
   */
  async fetchImage(entityId: string, timeoutMs = 3000): Promise<Buffer | null> {
    const r = await this.http.request({
      method: 'GET',
      url: `${this.opts.endpoint.apiUrl}/image_proxy/${encodeURIComponent(entityId)}`,
      headers: { authorization: `Bearer ${this.opts.token}` },
      timeoutMs,
      maxBodyBytes: 8 * 1024 * 1024,
    });
    if (r.status === 404 || r.status === 500) return null;
    if (r.status === 401 || r.status === 403) throw new IntercomError('ha.restRefused', { status: r.status });
    if (r.status !== 200) throw new IntercomError('ha.restFailed', { status: r.status });
    return r.body;
  }

  /** HA user id → display name, cached; needs an admin token, else undefined. */
  async userName(userId: string): Promise<string | undefined> {
    if (!this.users) {
      this.users = this.command<Array<{ id: string; name: string }>>({ type: 'config/auth/list' }).then(
        (list) => new Map(list.map((u) => [u.id, u.name])),
        () => new Map(),
      );
    }
    const map = await this.users;
    if (!map.has(userId)) this.users = null; // a user created since: look again next time
    return map.get(userId);
  }

  close(): void {
    this.setState('closed');
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.subs.clear();
    if (this.conn) this.conn.close();
    this.conn = null;
  }
}
