/**
 * The Home Assistant websocket connection of one intercom-home-assistant config node,
 * on home-assistant-js-websocket with the `ws` package as the socket (the library lets the
 * socket be injected through createSocket). Authenticates with a long-lived token,
 * reconnects with a capped backoff, and stops for good when HA rejects the token: a bad
 * token retried every second would only fill HA's log and trip its IP ban.
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
import { Backoff, Link } from './link';

/** What the link needs from a websocket: the WHATWG surface `ws` also offers. */
export type WebSocketFactory = (url: string) => WebSocket;

export interface WsLinkOptions {
  /** http(s)://host:port of Home Assistant, or its ws(s)://.../api/websocket URL */
  url: string;
  token: string;
  logger: Logger;
  createWebSocket?: WebSocketFactory;
  backoff?: Backoff;
  connectTimeoutMs?: number;
}

export interface HaEvent<T = Record<string, unknown>> {
  event_type: string;
  data: T;
  time_fired?: string;
  context?: { id?: string; user_id?: string | null; parent_id?: string | null };
}

export function websocketUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new IntercomError('ha.badUrl', { value: url.slice(0, 100) });
  }
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new IntercomError('ha.badUrl', { value: url.slice(0, 100) });
  if (!u.pathname.endsWith('/api/websocket')) u.pathname = u.pathname.replace(/\/$/, '') + '/api/websocket';
  return u.toString();
}

interface Subscription {
  eventType: string;
  callback: (ev: HaEvent) => void;
  unsubscribe?: () => Promise<void>;
}

export class HaWsLink extends Link {
  private conn: Connection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly backoff: Backoff;
  private readonly subs = new Set<Subscription>();
  private users: Promise<Map<string, string>> | null = null;
  private readonly wsUrl: string;
  /** after a failed attempt: seconds until the next one */
  retrySeconds: number | null = null;

  constructor(private readonly opts: WsLinkOptions) {
    super();
    this.backoff = opts.backoff ?? new Backoff(1000, 30000);
    this.wsUrl = websocketUrl(opts.url);
  }

  /** One authenticated socket: resolves after auth_ok, rejects with the library's error codes. */
  private createSocket = (): Promise<HaWebSocket> => {
    const make = this.opts.createWebSocket ?? ((u: string) => new WebSocket(u));
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = make(this.wsUrl);
      } catch {
        reject(ERR_CANNOT_CONNECT);
        return;
      }
      let settled = false;
      const fail = (code: number): void => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(code);
      };
      const t = setTimeout(() => fail(ERR_CANNOT_CONNECT), this.opts.connectTimeoutMs ?? 10000);
      ws.on('error', () => fail(ERR_CANNOT_CONNECT));
      ws.on('close', () => fail(ERR_CANNOT_CONNECT));
      ws.on('message', (data) => {
        let m: { type?: string; ha_version?: string; message?: string };
        try {
          m = JSON.parse(String(data));
        } catch {
          fail(ERR_CANNOT_CONNECT);
          return;
        }
        // Auth phase of the HA websocket API: auth_required → auth → auth_ok | auth_invalid.
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
          resolve(ws as unknown as HaWebSocket);
        }
      });
    });
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
        this.backoff.reset();
        conn.addEventListener('ready', () => this.setState('connected'));
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
        const wait = this.backoff.take();
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
    // The library re-subscribes by itself after a reconnect.
    conn.subscribeEvents<HaEvent>((ev) => {
      try {
        s.callback(ev);
      } catch (err) {
        this.opts.logger.error('ha.eventHandlerFailed', { detail: errorText(err) });
      }
    }, s.eventType).then(
      (unsub) => {
        s.unsubscribe = unsub;
        if (!this.subs.has(s)) unsub().catch(() => undefined);
      },
      (err: unknown) => this.opts.logger.warn('ha.subscribeEventFailed', { event: s.eventType, detail: JSON.stringify(err)?.slice(0, 200) }),
    );
  }

  /** Subscribes to an HA event type now or once connected (start() connects); returns the unsubscribe. */
  subscribe(eventType: string, callback: (ev: HaEvent) => void): () => void {
    const s: Subscription = { eventType, callback };
    this.subs.add(s);
    if (this.conn) this.subscribeOne(this.conn, s);
    return () => {
      this.subs.delete(s);
      if (s.unsubscribe) s.unsubscribe().catch(() => undefined);
    };
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
