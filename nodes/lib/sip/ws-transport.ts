/**
 * SIP over WebSocket (RFC 7118), the transport WebRTC SIP clients (sip.js, JsSIP) speak.
 * A server transport only: browsers connect to us, never the other way (§5), so a request
 * to a WebSocket peer goes back on the connection it registered or called from, and a peer
 * whose connection closed is unreachable ('disconnect' tells the account, which drops its
 * bindings and ends its calls).
 *
 * It serves either on an HTTP(S) server it is given (Node-RED's own, so WSS comes with
 * Node-RED's https settings), answering the upgrade of one path, or on a port of its own.
 * The handshake is refused (HTTP 403/400, never a crash) unless the client asks for the
 * `sip` subprotocol (§4), its Origin is allowed and the verify hook agrees. Each
 * WebSocket message carries exactly one SIP message (§5); one over the size limit closes
 * the connection (1009), like a TCP stream that lost its framing.
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { EventEmitter } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';
import { errorText, type MessageParams } from '../core/errors';
import { type Logger, silentLogger } from '../core/log';
import type { SipRequest } from './message';
import { ingestMessage, MAX_MESSAGE_BYTES, type Remote, type TraceFn, type TransportStats } from './transport';

export type WsProtocol = 'ws' | 'wss';

/** ws' verifyClient hook, as Node-RED's `webSocketNodeVerifyClient` setting gives it. */
export type VerifyClient = (info: { origin: string; secure: boolean; req: http.IncomingMessage }, done: (ok: boolean, code?: number) => void) => void;

export interface WsTransportOptions {
  /** serve on this server's 'upgrade' (Node-RED's RED.server); else listen on host:port */
  server?: http.Server;
  /** the server is HTTPS, so the transport is WSS (Via SIP/2.0/WSS) */
  secure?: boolean;
  host: string;
  port: number;
  /** the URL path the upgrade must ask for ("/sip"; with a server, its root already added) */
  path: string;
  /**
   * Allowed browser origins (`https://ha.local:8123`, `*` for any). A handshake without an
   * Origin (a SIP client that is not a browser) or with the origin of the Host it asked
   * for (a page this server served) is always allowed; any other origin must be listed.
   */
  origins?: string[];
  verifyClient?: VerifyClient;
  maxMessageBytes?: number;
  /** open connections at once; a door has a handful of pages (default 64) */
  maxConnections?: number;
  logger?: Logger;
  trace?: TraceFn;
}

export interface WsTransportStats extends TransportStats {
  refusedHandshakes: number;
}

export class SipWsTransport extends EventEmitter {
  readonly protocol: WsProtocol;
  readonly host: string;
  port: number;
  readonly path: string;
  readonly stats: WsTransportStats = { received: 0, sent: 0, garbage: 0, oversize: 0, badRequest: 0, handlerErrors: 0, muted: 0, refusedHandshakes: 0 };
  /** connection key → until when its new INVITEs are dropped unread (mute()) */
  private readonly mutedUntil = new Map<string, number>();
  trace?: TraceFn;
  private readonly wss: WebSocketServer;
  private readonly conns = new Map<string, WebSocket>();
  private own?: http.Server;
  private attached?: http.Server;
  private readonly max: number;
  private readonly log: Logger;
  private closed = false;
  private readonly onUpgrade = (req: http.IncomingMessage, socket: net.Socket, head: Buffer): void => this.upgrade(req, socket, head);

  constructor(private readonly opts: WsTransportOptions) {
    super();
    this.protocol = opts.secure ? 'wss' : 'ws';
    this.host = opts.host;
    this.port = opts.port;
    this.path = opts.path;
    this.max = opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.log = opts.logger ?? silentLogger;
    this.trace = opts.trace;
    // The size limit is ws' own (it closes with 1009 before buffering more); the sip
    // subprotocol is checked before the handshake, so the answer always names it.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.max, handleProtocols: () => 'sip', perMessageDeflate: false });
  }

  get reliable(): boolean {
    return true;
  }

  async start(): Promise<void> {
    if (this.opts.server) {
      this.attached = this.opts.server;
      this.attached.on('upgrade', this.onUpgrade);
      return;
    }
    const srv = http.createServer((_req, res) => {
      // A plain GET here is a browser pointed at the wrong URL, not SIP.
      res.writeHead(426, { Connection: 'close', Upgrade: 'websocket' }).end();
    });
    srv.on('upgrade', this.onUpgrade);
    srv.maxConnections = (this.opts.maxConnections ?? 64) + 8;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(this.port, this.host, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    srv.on('error', (err) => this.log.warn('sip.wsServerError', { detail: err.message }));
    this.own = srv;
    this.port = (srv.address() as net.AddressInfo).port;
  }

  /** Where the transport is reached, for the status and the docs: `ws://127.0.0.1:5066/sip`. */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${this.protocol}://${host}:${this.port}${this.path}`;
  }

  /** A peer that is connected now (a registered page whose tab is still open). */
  connected(remote: Remote): boolean {
    const ws = this.conns.get(key(remote));
    return !!ws && ws.readyState === ws.OPEN;
  }

  via(branch: string): string {
    // RFC 7118 §5.2: the sent-by of a WebSocket server need not resolve; ours does anyway.
    return `SIP/2.0/${this.protocol.toUpperCase()} ${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port};branch=${branch};rport`;
  }

  send(data: string, remote: Remote): void {
    if (this.closed) return;
    const ws = this.conns.get(key(remote));
    if (!ws || ws.readyState !== ws.OPEN) {
      // §5: we cannot open a connection to a browser; the request is lost and its
      // transaction times out (a call to a closed page ends as 408).
      this.log.debug('sip.wsPeerGone', { peer: key(remote) });
      return;
    }
    this.stats.sent++;
    this.trace?.('out', data, remote);
    ws.send(data, (err) => {
      if (err) this.log.debug('sip.wsSendFailed', { peer: key(remote), detail: err.message });
    });
  }

  responseTarget(_req: SipRequest, from: Remote): Remote {
    return from; // the same connection, whatever the Via says (§5: <random>.invalid)
  }

  respond(_req: SipRequest, from: Remote, data: string): void {
    this.send(data, from);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.attached?.off('upgrade', this.onUpgrade);
    this.attached = undefined;
    for (const ws of this.conns.values()) ws.terminate();
    this.conns.clear();
    await new Promise<void>((r) => this.wss.close(() => r()));
    const own = this.own;
    this.own = undefined;
    if (own) {
      own.closeAllConnections();
      await new Promise<void>((r) => own.close(() => r()));
    }
    this.removeAllListeners();
  }

  // ---- the handshake ------------------------------------------------------------------

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      pathname = '';
    }
    // Node-RED's own server carries the editor's and other nodes' WebSockets: leave them be.
    if (pathname !== this.path) {
      if (this.own) refuse(socket, 404);
      return;
    }
    const remote = { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 };
    const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim().toLowerCase());
    if (this.closed) return refuse(socket, 503);
    if (!protocols.includes('sip')) return this.refused(socket, 400, 'sip.wsNoSubprotocol', remote);
    const origin = req.headers.origin;
    if (!originAllowed(origin, req.headers.host, this.opts.origins ?? [])) return this.refused(socket, 403, 'sip.wsOriginRefused', { ...remote, origin: String(origin).slice(0, 120) });
    if (this.conns.size >= (this.opts.maxConnections ?? 64)) return this.refused(socket, 503, 'sip.wsTooManyConnections', remote);
    const accept = (): void => {
      if (this.closed || socket.destroyed) return void socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => this.adopt(ws, req));
    };
    const verify = this.opts.verifyClient;
    if (!verify) return accept();
    try {
      verify({ origin: String(origin ?? ''), secure: this.protocol === 'wss', req }, (ok, code) => (ok ? accept() : this.refused(socket, code ?? 401, 'sip.wsVerifyRefused', remote)));
    } catch (err) {
      this.log.warn('sip.wsVerifyFailed', { detail: errorText(err) });
      refuse(socket, 500);
    }
  }

  private refused(socket: net.Socket, status: number, code: string, values: MessageParams): void {
    this.stats.refusedHandshakes++;
    this.log.warn(code, values);
    refuse(socket, status);
  }

  private adopt(ws: WebSocket, req: http.IncomingMessage): void {
    const remote: Remote = { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0, protocol: this.protocol };
    const k = key(remote);
    this.conns.set(k, ws);
    ws.on('error', (err) => {
      // ws closes with 1009 on an oversize frame and 1002 on a broken one: count, never throw.
      if (/max payload|too big/i.test(err.message)) this.stats.oversize++;
      else this.stats.garbage++;
      this.log.debug('sip.wsError', { peer: k, detail: err.message });
    });
    ws.on('close', () => {
      if (this.conns.get(k) !== ws) return;
      this.conns.delete(k);
      if (!this.closed) this.emit('disconnect', remote);
    });
    ws.on('message', (data) => {
      // §5: text or binary frames alike carry UTF-8 SIP.
      const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
      // RFC 5626 §4.4.1 keepalive over WebSocket: a lone CRLFCRLF gets a CRLF.
      if (/^(\r\n)+$/.test(text)) {
        if (text.length >= 4) ws.send('\r\n');
        return;
      }
      if (this.mutedUntil.size && text.startsWith('INVITE ') && this.isMuted(k)) {
        this.stats.muted++;
        return;
      }
      this.ingest(text, remote);
    });
    this.emit('connect', remote);
  }

  /** A connection far past any caller's pace: its new INVITEs are dropped unread for `ms`. */
  mute(remote: { address: string; port: number }, ms: number): void {
    const k = key(remote);
    if (!this.conns.has(k)) return;
    this.mutedUntil.set(k, Date.now() + ms);
  }

  private isMuted(k: string): boolean {
    const until = this.mutedUntil.get(k);
    if (until === undefined) return false;
    if (until > Date.now() && this.conns.has(k)) return true;
    this.mutedUntil.delete(k);
    return false;
  }

  private ingest(data: string, remote: Remote): void {
    ingestMessage(this, this.log, data, remote);
  }
}

function key(r: { address: string; port: number }): string {
  return `${r.address}:${r.port}`;
}

function refuse(socket: net.Socket, status: number): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/** Same-origin pages and non-browser clients always; other origins only when listed. */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: string[]): boolean {
  if (origin === undefined || origin === '') return true;
  if (allowed.includes('*')) return true;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  if (host && o.host.toLowerCase() === host.toLowerCase()) return true;
  const norm = `${o.protocol}//${o.host}`.toLowerCase();
  return allowed.some((a) => a.replace(/\/+$/, '').toLowerCase() === norm);
}
