/**
 * SIP over UDP and TCP (RFC 3261 §18). Frames bytes into messages, parses them once,
 * stamps `received`/`rport` on requests (RFC 3261 §18.2.1, RFC 3581 §4), routes responses
 * back the way RFC 3581 says, and drops (counting) what is not SIP. Nothing a peer sends
 * can throw out of here: parse failures are answered 400 when possible, else dropped.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { EventEmitter } from 'node:events';
import { errorText } from '../core/errors';
import { type Logger, silentLogger } from '../core/log';
import { parseMessage, serializeRejection, type SipRequest, type SipResponse, type Via } from './message';

export type Protocol = 'udp' | 'tcp';
/** how a peer is reached: our UDP/TCP transport, or its WebSocket (ws-transport.ts) */
export type RemoteProtocol = Protocol | 'ws' | 'wss';
export interface Remote {
  address: string;
  port: number;
  protocol: RemoteProtocol;
}
export type TraceFn = (direction: 'in' | 'out', data: string, remote: Remote) => void;

export interface TransportOptions {
  protocol: Protocol;
  host: string;
  port: number;
  /** RFC 3261 §18.1.1 leaves the limit to us; larger frames are dropped and counted. */
  maxMessageBytes?: number;
  /**
   * UDP receive buffer asked of the kernel (default 4 MiB; Linux grants at most
   * net.core.rmem_max). The usual 208 KB holds ~300 INVITEs: a burst while the event loop
   * is busy would drop the panel's INVITE with the junk.
   */
  recvBufferBytes?: number;
  logger?: Logger;
  trace?: TraceFn;
}

export interface TransportStats {
  received: number;
  sent: number;
  garbage: number;
  oversize: number;
  badRequest: number;
  handlerErrors: number;
  /** INVITEs from a muted source, dropped unread */
  muted: number;
}

export const MAX_MESSAGE_BYTES = 65535;
/**
 * SO_RCVBUF asked for the SIP UDP socket (bytes; the kernel caps it at net.core.rmem_max).
 * The default ~208 KB holds ~300 INVITEs, so a burst while the event loop was busy dropped a
 * panel's INVITE with the junk; a flooding source is dropped unread (muted) so this much
 * queue drains fast instead of holding seconds of junk ahead of the panel.
 */
export const UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;

export class SipTransport extends EventEmitter {
  readonly protocol: Protocol;
  readonly host: string;
  port: number;
  readonly stats: TransportStats = { received: 0, sent: 0, garbage: 0, oversize: 0, badRequest: 0, handlerErrors: 0, muted: 0 };
  /** `address:port` → until when its new INVITEs are dropped unread (mute()) */
  private readonly muted = new Map<string, number>();
  trace?: TraceFn;
  private udp?: dgram.Socket;
  private server?: net.Server;
  private conns = new Map<string, net.Socket>();
  /** peers whose last connection attempt was refused (logged once) */
  private readonly refused = new Set<string>();
  private readonly max: number;
  private readonly recvBufferBytes: number;
  private readonly log: Logger;
  private closed = false;

  constructor(opts: TransportOptions) {
    super();
    this.protocol = opts.protocol;
    this.host = opts.host;
    this.port = opts.port;
    this.max = opts.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    this.recvBufferBytes = opts.recvBufferBytes ?? UDP_RECEIVE_BUFFER;
    this.log = opts.logger ?? silentLogger;
    this.trace = opts.trace;
  }

  /** The UDP receive buffer the kernel granted (bytes; Linux reports twice what it books), 0 on TCP. */
  get recvBufferSize(): number {
    try {
      return this.udp?.getRecvBufferSize() ?? 0;
    } catch {
      return 0;
    }
  }

  /** Reliable transports skip retransmission timers (RFC 3261 §17.1.1.2). */
  get reliable(): boolean {
    return this.protocol === 'tcp';
  }

  async start(): Promise<void> {
    if (this.protocol === 'udp') {
      const s = dgram.createSocket({ type: net.isIPv6(this.host) ? 'udp6' : 'udp4', recvBufferSize: this.recvBufferBytes });
      this.udp = s;
      await opened(s, (ready) => s.bind(this.port, this.host, ready));
      s.on('error', (err) => this.log.warn('sip.udpSocketError', { detail: err.message }));
      s.on('message', (buf, rinfo) => {
        if (this.muted.size && this.isMutedInvite(buf, rinfo)) {
          this.stats.muted++;
          return;
        }
        const remote: Remote = { address: rinfo.address, port: rinfo.port, protocol: 'udp' };
        if (buf.length > this.max) {
          this.stats.oversize++;
          return;
        }
        this.ingest(buf.toString('utf8'), remote);
      });
      this.port = s.address().port;
    } else {
      const srv = net.createServer((sock) => this.adopt(sock));
      // A door has a handful of peers; thousands of connections are an attack, not traffic.
      srv.maxConnections = 256;
      this.server = srv;
      await opened(srv, (ready) => srv.listen(this.port, this.host, ready));
      srv.on('error', (err) => this.log.warn('sip.tcpServerError', { detail: err.message }));
      this.port = (srv.address() as net.AddressInfo).port;
    }
  }

  /**
   * Drop INVITEs from this source unread for `ms` (UDP): a source that floods far past its
   * rate costs a look at seven bytes per datagram instead of a parse and an answer, so the
   * event loop stays free for the panel. Other methods (ACK, BYE, CANCEL) still pass.
   */
  mute(remote: { address: string; port: number }, ms: number): void {
    if (this.muted.size >= 4096) {
      const now = Date.now();
      for (const [k, until] of this.muted) if (until <= now) this.muted.delete(k);
      if (this.muted.size >= 4096) this.muted.delete(this.muted.keys().next().value as string);
    }
    this.muted.set(`${remote.address}:${remote.port}`, Date.now() + ms);
  }

  private isMutedInvite(buf: Buffer, rinfo: { address: string; port: number }): boolean {
    // "INVITE " at the start of the datagram
    if (buf.length < 7 || buf[0] !== 0x49 || buf[1] !== 0x4e || buf[2] !== 0x56 || buf[3] !== 0x49 || buf[4] !== 0x54 || buf[5] !== 0x45 || buf[6] !== 0x20) return false;
    const key = `${rinfo.address}:${rinfo.port}`;
    const until = this.muted.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.muted.delete(key);
    return false;
  }

  /** Our Via for an outgoing request; `rport` asks the peer to answer where we sent from. */
  via(branch: string): string {
    return `SIP/2.0/${this.protocol.toUpperCase()} ${hostPort(this.host, this.port)};branch=${branch};rport`;
  }

  send(data: string, remote: Remote): void {
    if (this.closed) return;
    this.stats.sent++;
    this.trace?.('out', data, remote);
    if (this.udp) {
      this.udp.send(data, remote.port, remote.address, (err) => {
        if (err) this.log.warn('sip.udpSendFailed', { address: remote.address, port: remote.port, detail: err.message });
      });
      return;
    }
    const key = `${remote.address}:${remote.port}`;
    let sock = this.conns.get(key);
    if (!sock || sock.destroyed) {
      sock = net.connect({ host: remote.address, port: remote.port, localAddress: this.host });
      this.adopt(sock, key);
    }
    sock.write(data);
  }

  /** Where a response to `req` goes: RFC 3261 §18.2.2 with RFC 3581 §4 (received + rport). */
  responseTarget(req: SipRequest, from: Remote): Remote {
    const v = req.vias[0];
    if (this.reliable) return from; // same connection when it is still open
    const address = v.received ?? v.host;
    const port = typeof v.rport === 'number' ? v.rport : v.port ?? 5060;
    return { address, port, protocol: this.protocol };
  }

  respond(req: SipRequest, from: Remote, data: string): void {
    this.send(data, this.responseTarget(req, from));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.conns.values()) s.destroy();
    this.conns.clear();
    const udp = this.udp;
    const srv = this.server;
    this.udp = undefined;
    this.server = undefined;
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
    this.removeAllListeners();
  }

  private adopt(sock: net.Socket, key?: string): void {
    const k = key ?? `${sock.remoteAddress}:${sock.remotePort}`;
    this.conns.set(k, sock);
    let buf: Buffer = Buffer.alloc(0);
    // A peer that is down refuses every connection we try (a registrar check every second):
    // say it once, and again only after a connection to it worked.
    sock.on('connect', () => this.refused.delete(k));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      const again = err.code === 'ECONNREFUSED' && this.refused.has(k);
      if (err.code === 'ECONNREFUSED') this.refused.add(k);
      if (again) this.log.debug('sip.tcpError', { peer: k, detail: err.message });
      else this.log.warn('sip.tcpError', { peer: k, detail: err.message });
    });
    // Idle connections are closed after an hour; a registered device re-opens on its next refresh.
    sock.setTimeout(3_600_000, () => sock.destroy());
    sock.on('close', () => {
      if (this.conns.get(k) === sock) this.conns.delete(k);
    });
    sock.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const remote: Remote = { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0, protocol: 'tcp' };
      for (;;) {
        // RFC 5626 §3.5.1 keepalive: CRLFCRLF ping gets a CRLF pong; stray CRLFs are skipped.
        let skip = 0;
        while (skip < buf.length && (buf[skip] === 0x0d || buf[skip] === 0x0a)) skip++;
        if (skip >= 4 && buf.slice(0, 4).toString() === '\r\n\r\n') sock.write('\r\n');
        if (skip) buf = buf.subarray(skip);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > this.max) return this.dropStream(sock);
          return;
        }
        const head = buf.subarray(0, end).toString('utf8');
        const cl = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im.exec(head);
        const bodyLen = cl ? Number(cl[1]) : 0; // RFC 3261 §18.3: mandatory on streams; absent → 0
        const total = end + 4 + bodyLen;
        if (total > this.max) return this.dropStream(sock);
        if (buf.length < total) return;
        const frame = buf.subarray(0, total).toString('utf8');
        buf = buf.subarray(total);
        this.ingest(frame, remote);
      }
    });
  }

  private dropStream(sock: net.Socket): void {
    // A stream that exceeds the limit has lost its framing; nothing after it can be trusted.
    this.stats.oversize++;
    sock.destroy();
  }

  private ingest(data: string, remote: Remote): void {
    ingestMessage(this, this.log, data, remote);
  }
}

/** What a transport is to the one place a received message is read. */
export interface IngestingTransport {
  readonly stats: TransportStats;
  trace?: TraceFn;
  respond(req: SipRequest, from: Remote, data: string): void;
  emit(event: 'request' | 'response', message: SipRequest | SipResponse, remote: Remote): boolean;
}

/**
 * One received message, for every transport (UDP, TCP, WebSocket): counted and traced;
 * a request that cannot be read but whose top Via can carry an answer gets the rejection
 * RFC 4475 advises (400, 505, 416), anything else unreadable is dropped as garbage; a
 * readable one goes to the endpoint, and a bug in a handler is logged, never thrown into
 * the socket's event (it would take Node-RED down).
 */
export function ingestMessage(t: IngestingTransport, log: Logger, data: string, remote: Remote): void {
  t.stats.received++;
  t.trace?.('in', data, remote);
  const r = parseMessage(data);
  if (!r.ok) {
    if (r.partial && r.partial.method !== 'ACK') {
      t.stats.badRequest++;
      const req = stampVia(r.partial, remote);
      t.respond(req, remote, serializeRejection(req, r));
    } else {
      t.stats.garbage++;
    }
    return;
  }
  try {
    if (r.message.kind === 'request') t.emit('request', stampVia(r.message, remote), remote);
    else t.emit('response', r.message as SipResponse, remote);
  } catch (err) {
    t.stats.handlerErrors++;
    log.warn('sip.handlerError', { detail: (err instanceof Error && err.stack ? err.stack : errorText(err)).slice(0, 800) });
  }
}

/** Bind or listen; an error before it is ready (EADDRINUSE on a redeploy) rejects. */
function opened(target: EventEmitter, open: (ready: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    target.once('error', reject);
    open(() => {
      target.off('error', reject);
      resolve();
    });
  });
}

function hostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** RFC 3261 §18.2.1 + RFC 3581 §4: record where the request really came from. */
export function stampVia(req: SipRequest, remote: Remote): SipRequest {
  const top = req.vias[0];
  const needReceived = top.host !== remote.address || top.rport !== undefined;
  if (!needReceived) return req;
  let raw = top.raw.replace(/;\s*received=[^;]*/i, '');
  const via: Via = { ...top, received: remote.address };
  if (top.rport === true) {
    raw = raw.replace(/;\s*rport(?=;|$)/i, `;rport=${remote.port}`);
    via.rport = remote.port;
  }
  via.raw = `${raw};received=${remote.address}`;
  return { ...req, vias: [via, ...req.vias.slice(1)] };
}
