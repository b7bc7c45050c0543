/**
 * RFC 3261 §17 transactions with the retransmission timers sip.js leaves out (it was built
 * for reliable WebSocket): Timer A/B/D (INVITE client), E/F/K (non-INVITE client), G/H/I
 * (INVITE server), J (non-INVITE server), and the UAS 2xx retransmission of §13.3.1.4
 * (RFC 6026 "Accepted" state), which also uses T1 doubling to T2 and is called Timer G here.
 * On a reliable transport (TCP) no request or response is retransmitted.
 */
import { type Clock, type SipTimers, type TimerHandle, defaultTimers } from './clock';
import { type HeaderList, header, headerOf, headersNamed, newBranch, serializeRequest, serializeResponse, type SipRequest, type SipResponse, type Via } from './message';
import type { Remote } from './transport';

export interface TransportLike {
  readonly reliable: boolean;
  /** the Via for a request to `remote` (an account with SIP over WebSocket has two transports) */
  via(branch: string, remote?: Remote): string;
  /** whether the way to `remote` is reliable (no retransmissions, §17.1.1.2); default `reliable` */
  reliableTo?(remote: Remote): boolean;
  send(data: string, remote: Remote): void;
  respond(req: SipRequest, from: Remote, data: string): void;
}

export interface RequestSpec {
  method: string;
  uri: string;
  /** every header except Via and Content-Length, which the layer adds */
  headers: HeaderList;
  body?: string;
  remote: Remote;
  branch?: string;
}

export interface ClientHandlers {
  onResponse(res: SipResponse): void;
  /** Timer B / Timer F fired: no final response (the TU treats it as 408, RFC 3261 §8.1.3.1). */
  onTimeout(): void;
}

type ClientState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'terminated';

export class ClientTransaction {
  state: ClientState;
  readonly branch: string;
  readonly data: string;
  private timerRetransmit?: TimerHandle; // Timer A (INVITE) or E (non-INVITE)
  private timerTimeout?: TimerHandle; // Timer B or F
  private timerLinger?: TimerHandle; // Timer D or K
  private interval: number;

  constructor(private layer: TransactionLayer, readonly spec: RequestSpec, private handlers: ClientHandlers) {
    this.branch = spec.branch ?? newBranch();
    this.state = spec.method === 'INVITE' ? 'calling' : 'trying';
    this.data = serializeRequest(spec.method, spec.uri, [['Via', layer.transport.via(this.branch, spec.remote)], ...spec.headers], spec.body);
    this.interval = layer.timers.T1;
  }

  get isInvite(): boolean {
    return this.spec.method === 'INVITE';
  }

  start(): void {
    const { clock, timers, transport } = this.layer;
    transport.send(this.data, this.spec.remote);
    if (!this.layer.reliable(this.spec.remote)) this.armRetransmit();
    this.timerTimeout = clock.setTimeout(() => {
      if (this.state === 'calling' || this.state === 'trying' || (!this.isInvite && this.state === 'proceeding')) {
        this.terminate();
        this.handlers.onTimeout();
      }
    }, 64 * timers.T1);
  }

  private armRetransmit(): void {
    const { clock, timers, transport } = this.layer;
    this.timerRetransmit = clock.setTimeout(() => {
      if (this.state === 'terminated' || this.state === 'completed') return;
      if (this.isInvite && this.state !== 'calling') return; // Timer A only runs while Calling
      transport.send(this.data, this.spec.remote);
      // Timer A doubles without cap (§17.1.1.2); Timer E doubles up to T2, and is T2 in Proceeding (§17.1.2.2).
      this.interval = this.isInvite ? this.interval * 2 : this.state === 'proceeding' ? timers.T2 : Math.min(this.interval * 2, timers.T2);
      this.armRetransmit();
    }, this.interval);
  }

  receive(res: SipResponse): void {
    const { clock, timers, transport } = this.layer;
    if (this.state === 'terminated') return;
    if (res.status < 200) {
      if (this.state === 'calling' || this.state === 'trying') this.state = 'proceeding';
      if (this.isInvite) clock.clearTimeout(this.timerRetransmit);
      this.handlers.onResponse(res);
      return;
    }
    if (this.state === 'completed') {
      // Retransmitted final: re-ACK (INVITE, §17.1.1.2) or absorb (non-INVITE).
      if (this.isInvite) transport.send(this.ackFor(res), this.spec.remote);
      return;
    }
    clock.clearTimeout(this.timerRetransmit);
    clock.clearTimeout(this.timerTimeout);
    if (this.isInvite && res.status < 300) {
      // 2xx: the transaction ends; ACK and 2xx retransmissions belong to the dialog (§13.2.2.4).
      this.terminate();
      this.handlers.onResponse(res);
      return;
    }
    if (this.isInvite) transport.send(this.ackFor(res), this.spec.remote);
    this.state = 'completed';
    this.handlers.onResponse(res);
    // Timer D (32 s, INVITE) / Timer K (T4, non-INVITE) absorb retransmissions; zero on reliable.
    const linger = this.layer.reliable(this.spec.remote) ? 0 : this.isInvite ? Math.max(32000, 64 * timers.T1) : timers.T4;
    this.timerLinger = clock.setTimeout(() => this.terminate(), linger);
  }

  /** ACK for a non-2xx final response: same branch, To from the response (§17.1.1.3). */
  private ackFor(res: SipResponse): string {
    const hs: HeaderList = [
      ['Via', this.layer.transport.via(this.branch, this.spec.remote)],
      ...headersNamed(this.spec.headers, 'route'),
      ['Max-Forwards', '70'],
      ['From', headerOf(this.spec.headers, 'from')],
      ['To', header(res, 'to') ?? ''],
      ['Call-ID', headerOf(this.spec.headers, 'call-id')],
      ['CSeq', `${headerOf(this.spec.headers, 'cseq').split(/\s+/)[0]} ACK`],
    ];
    return serializeRequest('ACK', this.spec.uri, hs);
  }

  terminate(): void {
    const { clock } = this.layer;
    this.state = 'terminated';
    clock.clearTimeout(this.timerRetransmit);
    clock.clearTimeout(this.timerTimeout);
    clock.clearTimeout(this.timerLinger);
    this.layer.forgetClient(this);
  }
}

type ServerState = 'trying' | 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated';

export interface ResponseOptions {
  toTag?: string;
  headers?: HeaderList;
  body?: string;
  reason?: string;
}

/** A header map nobody writes: the stand-in request of a finished transaction has no headers. */
const NO_HEADERS: Map<string, string[]> = new Map();

/**
 * A copy of a string that does not share memory with the message it was cut from: a short
 * substring that V8 keeps as a slice would otherwise hold the whole datagram's text.
 */
function own(s: string): string;
function own(s: string | undefined): string | undefined;
function own(s: string | undefined): string | undefined {
  return s === undefined ? undefined : (s + ' ').slice(0, -1);
}

export class ServerTransaction {
  state: ServerState;
  /** the request; a finished non-INVITE transaction keeps only what answers its retransmissions */
  request: SipRequest;
  lastResponse?: string;
  lastStatus = 0;
  /** Called when Timer H fires without an ACK (for a 2xx: the TU should send BYE, §13.3.1.4). */
  onAckTimeout?: () => void;
  onAck?: (ack: SipRequest) => void;
  private timerG?: TimerHandle;
  private timerH?: TimerHandle;
  private timerEnd?: TimerHandle; // Timer I / J / L
  private interval: number;

  readonly key: string;

  constructor(private layer: TransactionLayer, request: SipRequest, readonly remote: Remote) {
    this.request = request;
    this.key = own(serverKey(request));
    this.state = request.method === 'INVITE' ? 'proceeding' : 'trying';
    this.interval = layer.timers.T1;
  }

  /**
   * Timer J keeps an answered non-INVITE transaction 32 s to absorb retransmissions (§17.2.2):
   * at 100 calls a second that is 3,200 BYEs. Each keeps its response text and what routes it
   * (the top Via, Call-ID and CSeq), not the parsed request and the datagram it came in.
   */
  private slim(): void {
    const r = this.request;
    const v = r.vias[0];
    const via: Via = { protocol: v.protocol, host: own(v.host), port: v.port, branch: own(v.branch), received: own(v.received), rport: v.rport, raw: '' };
    this.request = { kind: 'request', method: r.method, uri: '', headers: NO_HEADERS, body: '', callId: own(r.callId), cseq: r.cseq, cseqMethod: r.cseqMethod, fromTag: '', vias: [via] };
  }

  respond(status: number, opts: ResponseOptions = {}): void {
    if (this.state !== 'proceeding' && this.state !== 'trying') return; // one final response only
    const { clock, timers, transport } = this.layer;
    const data = serializeResponse(this.request, status, opts);
    this.lastResponse = data;
    this.lastStatus = status;
    transport.respond(this.request, this.remote, data);
    if (status < 200) {
      this.state = 'proceeding';
      return;
    }
    const isInvite = this.request.method === 'INVITE';
    if (!isInvite) {
      this.state = 'completed';
      this.slim();
      // Timer J: absorb request retransmissions for 64*T1 on UDP (§17.2.2).
      this.timerEnd = clock.setTimeout(() => this.terminate(), this.layer.reliable(this.remote) ? 0 : 64 * timers.T1);
      return;
    }
    this.state = status < 300 ? 'accepted' : 'completed';
    if (status < 300) this.layer.accepted.set(acceptedKey(this.request), this);
    // Timer G: resend the final response at T1, 2T1, ... capped at T2 until an ACK arrives.
    // For a 2xx the UAS core does this end to end even on TCP (§13.3.1.4).
    if (!this.layer.reliable(this.remote) || status < 300) this.armG();
    // Timer H: give up waiting for the ACK after 64*T1.
    this.timerH = clock.setTimeout(() => {
      clock.clearTimeout(this.timerG);
      this.terminate();
      this.onAckTimeout?.();
    }, 64 * timers.T1);
  }

  private armG(): void {
    const { clock, timers, transport } = this.layer;
    this.timerG = clock.setTimeout(() => {
      if ((this.state !== 'completed' && this.state !== 'accepted') || !this.lastResponse) return;
      transport.respond(this.request, this.remote, this.lastResponse);
      this.interval = Math.min(this.interval * 2, timers.T2);
      this.armG();
    }, this.interval);
  }

  /**
   * Answer and forget at once (a stateless UAS, RFC 3261 §8.2.7): for rejections of
   * requests that create nothing, so a flood of junk leaves no 32 s of state behind.
   * A retransmitted request simply gets the same answer again.
   */
  respondAndForget(status: number, opts: ResponseOptions = {}): void {
    this.layer.transport.respond(this.request, this.remote, serializeResponse(this.request, status, opts));
    this.terminate();
  }

  /** A retransmission of our request arrived: replay the last response (§17.2.1, §17.2.2). */
  retransmitted(): void {
    if (this.lastResponse && this.state !== 'terminated' && this.state !== 'confirmed') {
      this.layer.transport.respond(this.request, this.remote, this.lastResponse);
    }
  }

  ack(ack: SipRequest): void {
    const { clock, timers } = this.layer;
    if (this.state !== 'completed' && this.state !== 'accepted') return;
    clock.clearTimeout(this.timerG);
    clock.clearTimeout(this.timerH);
    const wasAccepted = this.state === 'accepted';
    this.state = 'confirmed';
    if (wasAccepted) this.onAck?.(ack);
    // Timer I: absorb ACK retransmissions for T4 on UDP.
    this.timerEnd = clock.setTimeout(() => this.terminate(), this.layer.reliable(this.remote) ? 0 : timers.T4);
  }

  terminate(): void {
    const { clock } = this.layer;
    this.state = 'terminated';
    clock.clearTimeout(this.timerG);
    clock.clearTimeout(this.timerH);
    clock.clearTimeout(this.timerEnd);
    this.layer.forgetServer(this);
  }
}

function serverKey(req: SipRequest): string {
  // RFC 3261 §17.2.3: branch + sent-by + method, where ACK matches the INVITE.
  const v = req.vias[0];
  const method = req.method === 'ACK' ? 'INVITE' : req.method;
  return `${v.branch ?? ''}|${v.host}:${v.port ?? ''}|${method}`;
}
function acceptedKey(req: SipRequest): string {
  return `${req.callId}|${req.cseq}`;
}

export type ServerMatch =
  | { kind: 'new'; tx: ServerTransaction }
  | { kind: 'retransmission' }
  | { kind: 'ack'; tx?: ServerTransaction; for2xx: boolean };

export class TransactionLayer {
  readonly timers: SipTimers;
  readonly accepted = new Map<string, ServerTransaction>();
  private clients = new Map<string, ClientTransaction>();
  private servers = new Map<string, ServerTransaction>();

  constructor(readonly transport: TransportLike, readonly clock: Clock, timers: Partial<SipTimers> = {}) {
    this.timers = { ...defaultTimers, ...timers };
  }

  /** Reliable transports skip the retransmission timers (§17.1.1.2, §17.2.1). */
  reliable(remote: Remote): boolean {
    return this.transport.reliableTo ? this.transport.reliableTo(remote) : this.transport.reliable;
  }

  sendRequest(spec: RequestSpec, handlers: ClientHandlers): ClientTransaction {
    const tx = new ClientTransaction(this, spec, handlers);
    this.clients.set(`${tx.branch}|${spec.method}`, tx);
    tx.start();
    return tx;
  }

  /** Send an ACK for a 2xx or any request outside a transaction (§13.2.2.4: ACK has none). */
  sendStateless(spec: RequestSpec): void {
    const branch = spec.branch ?? newBranch();
    this.transport.send(serializeRequest(spec.method, spec.uri, [['Via', this.transport.via(branch, spec.remote)], ...spec.headers], spec.body), spec.remote);
  }

  /** Responses go to their client transaction; returns false for strays (e.g. 2xx retransmits). */
  handleResponse(res: SipResponse): boolean {
    const key = `${res.vias[0]?.branch ?? ''}|${res.cseqMethod}`;
    const tx = this.clients.get(key);
    if (!tx) return false;
    tx.receive(res);
    return true;
  }

  handleRequest(req: SipRequest, remote: Remote): ServerMatch {
    const key = serverKey(req);
    const existing = this.servers.get(key);
    if (req.method === 'ACK') {
      if (existing) {
        existing.ack(req);
        return { kind: 'ack', tx: existing, for2xx: false };
      }
      const acc = this.accepted.get(acceptedKey(req));
      if (acc) acc.ack(req);
      return { kind: 'ack', tx: acc, for2xx: true };
    }
    if (existing) {
      existing.retransmitted();
      return { kind: 'retransmission' };
    }
    const tx = new ServerTransaction(this, req, remote);
    this.servers.set(key, tx);
    return { kind: 'new', tx };
  }

  /** The INVITE server transaction a CANCEL refers to (same branch, §9.2). */
  inviteFor(cancel: SipRequest): ServerTransaction | undefined {
    return this.servers.get(serverKey({ ...cancel, method: 'INVITE' }));
  }

  forgetClient(tx: ClientTransaction): void {
    const k = `${tx.branch}|${tx.spec.method}`;
    if (this.clients.get(k) === tx) this.clients.delete(k);
  }
  forgetServer(tx: ServerTransaction): void {
    if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
    const ak = acceptedKey(tx.request);
    if (this.accepted.get(ak) === tx) this.accepted.delete(ak);
  }

  /** Stop every timer (account close). */
  shutdown(): void {
    for (const tx of [...this.clients.values()]) tx.terminate();
    for (const tx of [...this.servers.values()]) tx.terminate();
    for (const tx of [...this.accepted.values()]) tx.terminate();
  }

  get counts(): { clients: number; servers: number } {
    return { clients: this.clients.size, servers: this.servers.size };
  }
}

