/**
 * One SIP account as the user configures it: a transport, an endpoint in one of four modes
 * (client registers to a PBX, registrar for panels, p2p, listen-only), its registration
 * state, a trace, and failover to a second account for outbound calls.
 *
 * Events: 'call' (Call) for every new call, 'status' (AccountStatus, detail).
 */
import { EventEmitter } from 'node:events';
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import { errorText, IntercomError } from '../core/errors';
import { type Logger, silentLogger } from '../core/log';
import type { MediaFactory } from '../media/port';
import type { Call } from './call';
import { parseCidrList } from '../net/cidr';
import { type Clock, type SipTimers, systemClock } from './clock';
import type { DigestAlgorithm } from '../auth/digest';
import { AuthGuard, type GuardPolicy, type GuardState } from '../auth/guard';
import { StateFile } from '../auth/state-file';
import { type EndpointMode, SipEndpoint } from './endpoint';
import { advertisedAddress } from './local-address';
import { Registrar, type RegistrarAccount } from './registrar';
import { RegistrarWatch } from './keepalive';
import { Registration, type RegistrationFailure, type RegistrationState } from './registration';
import { callRegistry } from './registry';
import { SipTrace } from './trace';
import type { SecurityEvent } from './security';
import type { SummaryOptions } from '../net/summary';
import { type Protocol, type Remote, SipTransport } from './transport';
import { TransportSet } from './transports';
import { SipWsTransport, type VerifyClient } from './ws-transport';
import type * as http from 'node:http';

export type AccountStatus = 'starting' | 'bound' | 'registering' | 'registered' | 'failed' | 'closed';

/** What goes with a status, as values the node that shows it words. */
export interface StatusDetail {
  /** bound: where the transport listens, `udp:127.0.0.1:5060` */
  listen?: string;
  /** bound again because the registration went away */
  unregistered?: boolean;
  /** registered: our address of record, `user@domain` */
  aor?: string;
  /** failed: why the registrar would not take us, and its status */
  reason?: RegistrationFailure;
  status?: number;
}

export interface AccountConfig {
  name: string;
  mode: EndpointMode;
  protocol: Protocol;
  bindAddress: string;
  bindPort: number;
  /** client mode: registrar/proxy as host[:port] */
  server?: string;
  domain?: string;
  user: string;
  authUser?: string;
  password?: string;
  displayName?: string;
  expires?: number;
  /** client mode: ask the registrar for our own binding this often (ms, 0 = only refresh; keepalive.ts) */
  keepaliveMs?: number;
  /** comma separated addresses / CIDRs that may call us (and register, in registrar mode) */
  allowedSources?: string;
  /** registrar mode: the panels' accounts */
  registrarAccounts?: Array<{ user: string; password: string; allowedSources?: string }>;
  algorithm?: DigestAlgorithm;
  ringTimeoutMs?: number;
  noAnswerTimeoutMs?: number;
  dtmfSend?: 'rfc4733' | 'info';
  /** media: hang up an answered call after this long without RTP (ms, 0 = never) */
  rtpTimeoutMs?: number;
  /** media: the UDP ports RTP/RTCP pairs are taken from (a container maps exactly these) */
  rtpPortMin?: number;
  rtpPortMax?: number;
  /** inbound calls at once before 503 (flood protection, default 16) */
  maxInboundCalls?: number;
  /** inbound calls at once from one source address:port (default 4) */
  perSourceCalls?: number;
  /** new inbound calls a minute per source address:port (default 60, after a burst of 5) */
  perSourceRate?: number;
  /** request-URI users this account answers (empty = any; a URI without user always passes) */
  acceptUsers?: string[];
  /** address to put in Contact/SDP when binding to 0.0.0.0 */
  publicAddress?: string;
  /** SIP over WebSocket for browsers (RFC 7118), beside the UDP/TCP transport */
  websocket?: WebSocketConfig;
}

export interface WebSocketConfig {
  /** on Node-RED's own HTTP(S) server (under httpNodeRoot), or on a port of its own */
  on: 'node-red' | 'port';
  /** the URL path, `/sip` (on Node-RED: below httpNodeRoot) */
  path: string;
  /** own port only: where it listens (the bind address is the account's) */
  port?: number;
  /** browser origins besides the page's own (`https://ha.local:8123`, `*`) */
  origins: string[];
}

/** The HTTP(S) server Node-RED serves on, for SIP over WebSocket under a path of it. */
export interface HttpServerHost {
  server: http.Server;
  /** httpNodeRoot, `/` by default */
  root: string;
  secure: boolean;
  /** Node-RED's `webSocketNodeVerifyClient` setting, honoured like its own websocket nodes do */
  verifyClient?: VerifyClient;
}

export interface AccountDeps {
  /** one CallMedia per call: the account node gives real RTP (media/call-media.ts), tests may give a stand-in */
  mediaFactory: MediaFactory;
  clock?: Clock;
  logger?: Logger;
  timers?: Partial<SipTimers>;
  /** how refusals are summarised in the log and the security events (tests shorten it) */
  summary?: SummaryOptions;
  /**
   * registrar mode: where the digest guard keeps its lockouts (a file in the Node-RED user
   * dir), so a redeploy or a restart does not lift them; in memory only without it
   */
  guardFile?: string;
  /** registrar mode: the guard's delays and limits (tests shorten them) */
  guardPolicy?: Partial<GuardPolicy>;
  /** Node-RED's server, for `websocket.on = 'node-red'` */
  httpServer?: HttpServerHost;
}

/** Paths taken on a shared server: two accounts on one path would steal each other's pages. */
const wsPaths = new WeakMap<http.Server, Set<string>>();

/** httpNodeRoot + path, the way Node-RED's own websocket nodes join them. */
export function joinPath(root: string, path: string): string {
  const r = root.endsWith('/') ? root : root + '/';
  return r + (path.startsWith('/') ? path.slice(1) : path);
}

/** Parse `host[:port]`; a bad value is a configuration error, not a crash later. */
export async function resolveServer(text: string, protocol: Protocol): Promise<Remote> {
  const m = /^\s*(\[[^\]]+\]|[^:\s]+)(?::(\d{1,5}))?\s*$/.exec(text);
  if (!m) throw new IntercomError('sip.serverNotHostPort', { server: text.slice(0, 80) });
  const host = m[1].replace(/^\[|\]$/g, '');
  const address = net.isIP(host) ? host : (await lookup(host)).address;
  return { address, port: m[2] ? Number(m[2]) : 5060, protocol };
}

const accounts = new Map<string, SipAccount>();

/** Started accounts by name, so a flow can route a call to one (msg.account). */
export const accountRegistry = {
  get(name: string): SipAccount | undefined {
    return accounts.get(name);
  },
};

export interface AccountEvents {
  call: [call: Call];
  /** what the account refused, for the journal (sip/security.ts) */
  security: [ev: SecurityEvent];
  status: [status: AccountStatus, detail: StatusDetail];
  error: [err: Error];
}

export class SipAccount extends EventEmitter<AccountEvents> {
  status: AccountStatus = 'starting';
  statusDetail: StatusDetail = {};
  readonly trace: SipTrace;
  /** the account for outbound calls when this one cannot carry them (set, or looked up late) */
  failover?: SipAccount | (() => SipAccount | undefined);
  endpoint?: SipEndpoint;
  registration?: Registration;
  private watch?: RegistrarWatch;
  registrar?: Registrar;
  private transport?: SipTransport;
  /** SIP over WebSocket, when the account serves browsers */
  ws?: SipWsTransport;
  private wsPath?: { server: http.Server; path: string };
  private readonly log: Logger;

  constructor(readonly config: AccountConfig, private deps: AccountDeps) {
    super();
    this.log = deps.logger ?? silentLogger;
    this.trace = new SipTrace(2000, () => [config.password ?? '', ...(config.registrarAccounts ?? []).map((a) => a.password)]);
    this.on('error', () => undefined);
  }

  private setStatus(s: AccountStatus, detail: StatusDetail = {}): void {
    this.status = s;
    this.statusDetail = detail;
    this.emit('status', s, detail);
  }

  async start(): Promise<void> {
    const c = this.config;
    const sources = parseCidrList(c.allowedSources ?? '');
    if (sources.invalid.length) throw new IntercomError('sip.badAllowedSources', { entries: sources.invalid.join(', ').slice(0, 120) });
    const server = c.server?.trim() ? await resolveServer(c.server, c.protocol) : undefined;
    if (c.mode === 'client' && !server) throw new IntercomError('sip.clientNeedsServer');
    if (c.mode === 'client' && !c.user) throw new IntercomError('sip.clientNeedsUser');
    const clock = this.deps.clock ?? systemClock;
    let registrar: Registrar | undefined;
    if (c.mode === 'registrar') {
      const accounts: RegistrarAccount[] = [];
      for (const a of c.registrarAccounts ?? []) {
        const r = parseCidrList(a.allowedSources ?? '');
        if (r.invalid.length) throw new IntercomError('sip.badPanelSources', { user: a.user, entries: r.invalid.join(', ').slice(0, 120) });
        accounts.push({ user: a.user, password: a.password, allowedSources: r.rules });
      }
      const file = this.deps.guardFile ? new StateFile<GuardState>(this.deps.guardFile, { onError: (err) => this.log.warn(err.code, err.params) }) : undefined;
      const guard = new AuthGuard(this.deps.guardPolicy, () => clock.now(), file);
      registrar = new Registrar({ realm: c.domain || c.bindAddress, accounts, clock, logger: this.log, algorithm: c.algorithm, account: c.name, guard, summary: this.deps.summary });
      registrar.on('security', (ev) => this.emit('security', ev));
      this.registrar = registrar;
    }
    // Everything that can be wrong in the settings is checked above; only now take the port.
    const transport = new SipTransport({ protocol: c.protocol, host: c.bindAddress, port: c.bindPort, logger: this.log, trace: (d, data, r) => this.trace.record(d, data, r) });
    await transport.start();
    this.transport = transport;
    const ws = c.websocket ? await this.startWebSocket(c.websocket, c) : undefined;
    const credentials = c.password ? { user: c.authUser || c.user, password: c.password } : undefined;
    const localAddress = await advertisedAddress({ bindAddress: c.bindAddress, publicAddress: c.publicAddress, server: server?.address, allowedSources: c.allowedSources });
    const ep = new SipEndpoint({
      transport: new TransportSet(transport, ws),
      mediaFactory: this.deps.mediaFactory,
      mode: c.mode,
      account: c.name,
      user: c.user,
      displayName: c.displayName,
      domain: c.domain || server?.address,
      server: c.mode === 'client' ? server : undefined,
      credentials,
      // In registrar mode the registered devices are the callers; allowed sources add to them.
      allowedSources: c.mode === 'registrar' && sources.rules.length === 0 ? [{ text: 'none', test: () => false }] : sources.rules,
      admit: registrar ? (remote, req, tx) => registrar.authorizeInvite(req, tx, remote) : undefined,
      locate: registrar
        ? (user) => {
            const b = registrar.lookup(user).pop();
            return b ? { uri: b.contact, remote: b.source, to: `sip:${user}@${c.domain || localAddress}` } : undefined;
          }
        : undefined,
      knows: registrar ? (user) => registrar.users.includes(user) : undefined,
      clock,
      timers: this.deps.timers,
      logger: this.log,
      localAddress,
      dtmfSend: c.dtmfSend,
      ringTimeoutMs: c.ringTimeoutMs,
      limits: {
        ...(c.maxInboundCalls !== undefined ? { maxInboundCalls: c.maxInboundCalls } : {}),
        ...(c.perSourceCalls !== undefined ? { perSourceCalls: c.perSourceCalls } : {}),
        ...(c.perSourceRate !== undefined ? { perSourceRate: c.perSourceRate } : {}),
        ...(c.acceptUsers?.length ? { acceptUsers: c.acceptUsers } : {}),
      },
      summary: this.deps.summary,
    });
    if (registrar) ep.registrar = registrar;
    this.endpoint = ep;
    callRegistry.add(ep);
    accounts.set(c.name, this);
    ep.on('call', (call: Call) => this.emit('call', call));
    ep.on('security', (ev: SecurityEvent) => this.emit('security', ev));
    if (c.mode === 'client' && server) {
      const reg = new Registration(ep, { user: c.user, domain: c.domain || server.address, server, credentials, expires: c.expires ?? 600 });
      this.registration = reg;
      const keepaliveMs = c.keepaliveMs ?? 1000;
      if (keepaliveMs > 0) {
        this.watch = new RegistrarWatch(ep, { user: c.user, domain: c.domain || server.address, server, credentials, intervalMs: keepaliveMs }, {
          bindingLost: () => reg.bindingLost(),
          gone: () => reg.registrarGone(),
          back: () => reg.registrarBack(),
        });
      }
      reg.on('state', (s: RegistrationState, d: { status?: number; reason?: RegistrationFailure }) => {
        // watching starts with the first binding: before it there is nothing to lose
        if (s === 'registered') this.watch?.start();
        if (s === 'registered') this.setStatus('registered', { aor: `${c.user}@${c.domain || server.address}` });
        else if (s === 'failed') this.setStatus('failed', { reason: d.reason, status: d.status });
        else if (s === 'registering') this.setStatus('registering');
        else if (s === 'unregistered' && this.status !== 'closed') this.setStatus('bound', { unregistered: true });
      });
      reg.start();
    }
    if (ws) {
      // A page that closed its WebSocket is gone: its bindings cannot be reached, its calls are over.
      ws.on('disconnect', (remote: Remote) => {
        registrar?.dropSource(remote);
        for (const call of ep.activeCalls) {
          const p = call.peer;
          if (p.protocol === remote.protocol && p.address === remote.address && p.port === remote.port) {
            // Nothing reaches a closed WebSocket (no BYE, no CANCEL to wait 32 s for): end it here.
            void call.terminate('ws-closed');
          }
        }
      });
    }
    this.setStatus('bound', { listen: `${c.protocol}:${c.bindAddress}:${transport.port}${ws ? ' ' + ws.url : ''}` });
  }

  private async startWebSocket(w: WebSocketConfig, c: AccountConfig): Promise<SipWsTransport> {
    const host = this.deps.httpServer;
    if (w.on === 'node-red' && !host) throw new IntercomError('sip.wsNoServer');
    const path = w.on === 'node-red' && host ? joinPath(host.root, w.path) : w.path;
    if (w.on === 'node-red' && host) {
      const taken = wsPaths.get(host.server) ?? new Set<string>();
      if (taken.has(path)) throw new IntercomError('sip.wsPathInUse', { path });
      taken.add(path);
      wsPaths.set(host.server, taken);
      this.wsPath = { server: host.server, path };
    }
    const addr = host?.server.address();
    const ws = new SipWsTransport({
      server: w.on === 'node-red' ? host?.server : undefined,
      secure: w.on === 'node-red' ? host?.secure : false,
      host: w.on === 'node-red' ? (c.publicAddress || (c.bindAddress === '0.0.0.0' ? '127.0.0.1' : c.bindAddress)) : c.bindAddress,
      port: w.on === 'node-red' ? (addr && typeof addr === 'object' ? addr.port : 0) : (w.port ?? 5066),
      path,
      origins: w.origins,
      verifyClient: host?.verifyClient,
      logger: this.log,
      trace: (d, data, r) => this.trace.record(d, data, r),
    });
    try {
      await ws.start();
    } catch (err) {
      this.releaseWsPath();
      throw err;
    }
    this.ws = ws;
    return ws;
  }

  private releaseWsPath(): void {
    if (this.wsPath) wsPaths.get(this.wsPath.server)?.delete(this.wsPath.path);
    this.wsPath = undefined;
  }

  get port(): number | undefined {
    return this.transport?.port;
  }

  /** Outbound calls can use this account now (client mode: only while registered). */
  get usable(): boolean {
    if (!this.endpoint) return false;
    return this.config.mode !== 'client' || this.status === 'registered';
  }

  getCall(id: string): Call | undefined {
    return this.endpoint?.getCall(id);
  }

  /**
   * Dial from this account, or from the failover account when this one is not usable; if
   * the call then fails without an answer (timeout, 408, 5xx) it is retried on the failover.
   */
  dial(target: string, opts: { noAnswerTimeoutMs?: number } = {}): Call {
    const fo = typeof this.failover === 'function' ? this.failover() : this.failover;
    const first = this.usable || !fo?.usable ? this : fo;
    const ep = first.endpoint;
    if (!ep) throw new IntercomError('sip.accountNotStarted', { account: this.config.name });
    const call = ep.dial(target, { noAnswerTimeoutMs: opts.noAnswerTimeoutMs ?? this.config.noAnswerTimeoutMs });
    first.emit('call', call);
    const alt = first === this && fo !== this ? fo : undefined;
    if (alt) {
      call.once('ended', (e: { status?: number; reason?: string }) => {
        const failed = e.reason === 'timeout' || e.status === 408 || (e.status !== undefined && e.status >= 500 && e.status < 600);
        if (failed && alt.usable) {
          this.log.warn('sip.failover', { account: this.config.name, target, why: e.status ?? e.reason, next: alt.config.name });
          try {
            const next = alt.dial(target, opts);
            call.emit('failover', next);
          } catch (err) {
            this.log.warn('sip.failoverFailed', { account: alt.config.name, target, detail: errorText(err) });
          }
        }
      });
    }
    return call;
  }

  async close(): Promise<void> {
    this.setStatus('closed');
    if (this.endpoint) callRegistry.remove(this.endpoint);
    if (accounts.get(this.config.name) === this) accounts.delete(this.config.name);
    this.watch?.stop();
    await this.registration?.stop().catch(() => undefined);
    await this.registrar?.close();
    await this.endpoint?.close();
    await this.ws?.close();
    this.releaseWsPath();
    await this.transport?.close();
    this.endpoint = undefined;
    this.transport = undefined;
    this.ws = undefined;
  }
}
