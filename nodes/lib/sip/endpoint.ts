/**
 * A SIP endpoint on one transport: routes every request and response (RFC 3261 §8.2,
 * §12.2.2), owns the calls (new INVITEs only once admission.ts lets them in), answers
 * OPTIONS, refuses what it does not do with the status the RFC names (405/420/481/501),
 * and lets a registrar take REGISTER. Nothing a peer sends throws out of here.
 *
 * Events: 'call' (InboundCall) for every admitted INVITE.
 */
import { EventEmitter } from 'node:events';
import { errorText } from '../core/errors';
import { type Logger, silentLogger } from '../core/log';
import type { MediaFactory } from '../media/port';
import { ALLOW, type Call, type CallHost, party } from './call';
import { type ChallengedResult, requestWithChallenge } from './challenge';
import { Admission, type AdmissionLimits, type AdmissionVerdict, sourceKey } from './admission';
import type { CidrRule } from '../net/cidr';
import { type Clock, type SipTimers, systemClock } from './clock';
import type { Credentials } from '../auth/digest';
import { InboundCall } from './invite-server';
import { type DialOptions, OutboundCall } from './invite-client';
import { type HeaderList, header, headers, parseNameAddr, randomToken, type SipRequest, type SipResponse, splitComma } from './message';
import { LogSummary, type SummaryOptions } from '../net/summary';
import { type SecurityEvent, SecurityReports } from './security';
import { type DialTarget, resolveTarget } from './targets';
import { type RequestSpec, type ServerTransaction, TransactionLayer } from './transactions';
import type { Remote } from './transport';
import type { EndpointTransport } from './transports';

export type EndpointMode = 'client' | 'registrar' | 'p2p' | 'listen';

export interface RequestHandler {
  /** Return true when the request was handled (answered) by this handler. */
  handle(req: SipRequest, tx: ServerTransaction, remote: Remote): boolean;
}

export interface EndpointOptions {
  transport: EndpointTransport;
  mediaFactory: MediaFactory;
  mode: EndpointMode;
  account?: string;
  /** our user part, used in Contact and From */
  user: string;
  displayName?: string;
  /** domain used in From / Request-URIs when dialing numbers (the registrar's domain) */
  domain?: string;
  /** outbound proxy / registrar where requests go in client mode */
  server?: Remote;
  credentials?: Credentials;
  /** who may call us; empty = everyone (p2p/registrar use it as the admission list) */
  allowedSources?: CidrRule[];
  /**
   * Admit a caller not in allowedSources (registrar: digest credentials of a panel
   * account). 'answered' means it already answered the INVITE (a 401 challenge).
   */
  admit?: (remote: Remote, req: SipRequest, tx: ServerTransaction) => boolean | 'answered';
  clock?: Clock;
  timers?: Partial<SipTimers>;
  logger?: Logger;
  userAgent?: string;
  /** address written into SDP and Contact (defaults to the bind address) */
  localAddress?: string;
  dtmfSend?: 'rfc4733' | 'info';
  /** inbound calls nobody answers get 480 after this (ms); 0 = never */
  ringTimeoutMs?: number;
  /** send 180 Ringing as soon as an INVITE is admitted */
  autoRing?: boolean;
  /** inbound calls at once before new INVITEs get 503 (default 16; also limits.maxInboundCalls) */
  maxInboundCalls?: number;
  /** per-source limits, accepted request-URI users, the slot reclaim (admission.ts) */
  limits?: Partial<AdmissionLimits>;
  /** how refusals are summarised in the log and in security events (tests shorten it) */
  summary?: SummaryOptions;
  /** where a plain user lives (registrar mode: its binding) */
  locate?: (user: string) => DialTarget | undefined;
  /** registrar mode: whether a user is one of its panels, registered or not */
  knows?: (user: string) => boolean;
}

const KNOWN_NOT_ALLOWED = ['REGISTER', 'SUBSCRIBE', 'NOTIFY', 'MESSAGE', 'REFER', 'PUBLISH', 'UPDATE', 'PRACK'];

export interface EndpointStats {
  overload: number;
  rejectedSource: number;
  unknownDialog: number;
  notImplemented: number;
  /** 503 to a source over its rate or its share of calls */
  rateLimited: number;
  /** 404 to a request-URI user the account does not expect */
  unknownUser: number;
  /** answered calls without ACK ended to give their slot to a new INVITE */
  reclaimed: number;
  /** INVITEs refused before ringing for their body (415, 488) */
  refusedMedia: number;
}

export class SipEndpoint extends EventEmitter<{ call: [call: Call]; security: [ev: SecurityEvent]; error: [err: Error] }> {
  readonly layer: TransactionLayer;
  readonly clock: Clock;
  readonly log: Logger;
  readonly account: string;
  readonly userAgent: string;
  /** what the calls of this endpoint see of it */
  private readonly host: CallHost;
  readonly admission: Admission;
  private readonly localAddress: string;
  readonly stats: EndpointStats = { overload: 0, rejectedSource: 0, unknownDialog: 0, notImplemented: 0, rateLimited: 0, unknownUser: 0, reclaimed: 0, refusedMedia: 0 };
  /** refusals in the log: once per source per interval, then a summary */
  readonly refusals: LogSummary;
  /** refusals for the journal, summarised the same way */
  readonly reports: SecurityReports;
  registrar?: RequestHandler;
  private calls = new Map<string, Call>(); // by id
  private dialogs = new Map<string, Call>(); // by Call-ID|local tag|remote tag
  private invites = new Map<ServerTransaction, InboundCall>();

  constructor(readonly opts: EndpointOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.account = opts.account ?? opts.user;
    this.localAddress = opts.localAddress ?? opts.transport.host;
    this.userAgent = opts.userAgent ?? 'node-red-contrib-sip-intercom';
    this.layer = new TransactionLayer(opts.transport, this.clock, opts.timers);
    this.host = {
      layer: this.layer, clock: this.clock, log: this.log, account: this.account, localAddress: this.localAddress, userAgent: this.userAgent,
      mediaFactory: opts.mediaFactory, credentials: opts.credentials, dtmfSend: opts.dtmfSend ?? 'rfc4733',
      contact: () => this.contact(),
      forget: (call) => this.forget(call),
      onAcked: (remote) => this.admission.markGood(remote),
    };
    const limits = { ...(opts.maxInboundCalls !== undefined ? { maxInboundCalls: opts.maxInboundCalls } : {}), ...opts.limits };
    const server = opts.server;
    this.admission = new Admission(
      { allowedSources: opts.allowedSources ?? [], admit: opts.admit, limits, unlimited: server ? (r) => r.address === server.address && r.port === server.port : undefined },
      () => this.clock.now(),
    );
    this.refusals = new LogSummary(this.log, { clock: this.clock, ...opts.summary });
    this.reports = new SecurityReports((ev) => this.emit('security', ev), { clock: this.clock, ...opts.summary });
    opts.transport.on('request', (req: SipRequest, remote: Remote) => this.onRequest(req, remote));
    opts.transport.on('response', (res: SipResponse) => this.onResponse(res));
    this.on('error', () => undefined);
  }

  get transport(): EndpointTransport {
    return this.opts.transport;
  }
  get mode(): EndpointMode {
    return this.opts.mode;
  }

  contact(user = this.opts.user): string {
    const t = this.transport;
    const hp = t.host.includes(':') ? `[${this.localAddress}]:${t.port}` : `${this.localAddress}:${t.port}`;
    return `<sip:${user ? user + '@' : ''}${hp}${t.protocol === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  getCall(id: string): Call | undefined {
    return this.calls.get(id);
  }
  get activeCalls(): Call[] {
    return [...this.calls.values()];
  }

  private forget(call: Call): void {
    this.calls.delete(call.id);
    const k = call.dialogKey;
    if (k && this.dialogs.get(k) === call) this.dialogs.delete(k);
    for (const [tx, c] of this.invites) if (c === call) this.invites.delete(tx);
  }

  private track(call: Call): void {
    this.calls.set(call.id, call);
    const k = call.dialogKey;
    if (k) this.dialogs.set(k, call);
  }

  // ---- requests in ---------------------------------------------------------------------

  private onRequest(req: SipRequest, remote: Remote): void {
    const m = this.layer.handleRequest(req, remote);
    if (m.kind === 'retransmission') return;
    if (m.kind === 'ack') return; // transaction or accepted-2xx handling already done
    const tx = m.tx;
    // RFC 3261 §8.2.2.3: we support no extensions; a Require we do not know gets 420.
    const require = header(req, 'require');
    if (require && req.method !== 'CANCEL') {
      tx.respondAndForget(420, { toTag: randomToken(), headers: [['Unsupported', require]] });
      return;
    }
    if (req.toTag) return this.inDialog(req, tx);
    switch (req.method) {
      case 'INVITE':
        return this.newInvite(req, tx, remote);
      case 'CANCEL':
        return this.cancel(req, tx);
      case 'OPTIONS':
        // Keepalive and capability query (§11.2): always 200, even from strangers, no state.
        tx.respondAndForget(200, { toTag: randomToken(), headers: [['Allow', ALLOW], ['Accept', 'application/sdp, application/dtmf-relay'], ['Supported', ''], ['User-Agent', this.userAgent]] });
        return;
      case 'BYE':
      case 'INFO':
        this.stats.unknownDialog++;
        tx.respondAndForget(481, { toTag: randomToken() });
        return;
      default:
        if (req.method === 'REGISTER' && this.registrar?.handle(req, tx, remote)) return;
        if (KNOWN_NOT_ALLOWED.includes(req.method)) {
          tx.respondAndForget(405, { toTag: randomToken(), headers: [['Allow', ALLOW]] });
          return;
        }
        this.stats.notImplemented++;
        tx.respondAndForget(501, { toTag: randomToken() });
    }
  }

  private inboundSlots(): InboundCall[] {
    const out: InboundCall[] = [];
    for (const c of this.calls.values()) if (c instanceof InboundCall) out.push(c);
    return out;
  }

  private newInvite(req: SipRequest, tx: ServerTransaction, remote: Remote): void {
    const verdict = this.admission.decide(req, tx, remote, this.inboundSlots());
    if (verdict.kind === 'answered') return;
    if (verdict.kind !== 'admitted') return this.refuse(verdict, req, tx, remote);
    if (verdict.evict instanceof InboundCall) {
      this.stats.reclaimed++;
      verdict.evict.evict();
    }
    // §8.2.2.2 merged request: same Call-ID/From tag/CSeq arriving on another path.
    for (const c of this.calls.values()) {
      if (c.direction === 'inbound' && c.callId === req.callId && c.dialog?.remoteTag === req.fromTag && !c.isEnded) {
        tx.respondAndForget(482, { toTag: randomToken() });
        return;
      }
    }
    // An offer we could never answer is refused now (RFC 3261 §21.4.26, §21.4.13), before
    // anything rings or a flow sees it, rather than when the flow answers.
    if (this.refuseBody(req, tx, remote)) return;
    tx.respond(100);
    const call = InboundCall.accept(this.host, req, tx, remote, this.mode === 'listen');
    this.track(call);
    this.invites.set(tx, call);
    call.startRingTimer(this.opts.ringTimeoutMs ?? 120_000);
    if (this.opts.autoRing !== false) call.ring().catch(() => undefined);
    this.emit('call', call);
    call.emit('ring');
  }

  /** A stateless answer to an INVITE admission turned down, told once per source per interval. */
  private refuse(verdict: Exclude<AdmissionVerdict, { kind: 'admitted' | 'answered' }>, req: SipRequest, tx: ServerTransaction, remote: Remote): void {
    const where = { account: this.account, address: remote.address, port: remote.port };
    // Far past any caller's pace: its next INVITEs are dropped unread for a while.
    if (this.admission.refused(remote)) this.transport.mute(remote, this.admission.limits.muteMs);
    switch (verdict.kind) {
      case 'forbidden':
        this.stats.rejectedSource++;
        this.refusals.warn('sip.inviteRefused', remote.address, where);
        tx.respondAndForget(403, { toTag: randomToken() });
        return;
      case 'unknown-user':
        this.stats.unknownUser++;
        this.refusals.warn('sip.inviteUnknownUser', remote.address, { ...where, user: verdict.user.slice(0, 64) });
        this.report('flood', 'unknown-user', 404, req, remote);
        tx.respondAndForget(404, { toTag: randomToken() });
        return;
      case 'overload':
        this.stats.overload++;
        this.refusals.warn('sip.inviteOverload', remote.address, { ...where, max: this.admission.limits.maxInboundCalls });
        this.report('flood', 'overload', 503, req, remote);
        tx.respondAndForget(503, { toTag: randomToken(), headers: [['Retry-After', '10']] });
        return;
      default:
        this.stats.rateLimited++;
        this.refusals.warn(verdict.kind === 'rate' ? 'sip.inviteRate' : 'sip.inviteSourceBusy', remote.address, where);
        this.report('flood', verdict.kind, 503, req, remote);
        tx.respondAndForget(503, { toTag: randomToken(), headers: [['Retry-After', '5']] });
    }
  }

  /**
   * 406 when the caller accepts no SDP (our answer, or our offer on a late-offer INVITE, is
   * SDP: RFC 3261 §21.4.7, RFC 4475 §3.3.15), 415 for a body that is not SDP, 488 for SDP
   * without a codec we carry or that cannot be read.
   */
  private refuseBody(req: SipRequest, tx: ServerTransaction, remote: Remote): boolean {
    const accept = headers(req, 'accept');
    const acceptsSdp = accept.length === 0 || accept.flatMap(splitComma).some((a) => /^(?:application\/sdp|application\/\*|\*\/\*)\s*(?:;|$)/i.test(a.trim()));
    if (acceptsSdp && !req.body.trim()) return false; // late offer: ours rides on the 200 (RFC 3264 §4)
    const type = (header(req, 'content-type') ?? 'application/sdp').split(';')[0].trim().toLowerCase();
    let status: 406 | 415 | 488;
    let reason: string;
    let detail = '';
    if (!acceptsSdp) {
      status = 406;
      reason = 'not-acceptable';
      detail = accept.join(', ').slice(0, 60);
    } else if (type !== 'application/sdp') {
      status = 415;
      reason = 'not-sdp';
      detail = type.slice(0, 60);
    } else {
      try {
        this.opts.mediaFactory.check?.(req.body);
        return false;
      } catch (err) {
        status = 488;
        const code = (err as { code?: unknown }).code;
        reason = code === 'media.noCommonCodec' ? 'no-common-codec' : 'bad-sdp';
        detail = errorText(err).slice(0, 120);
      }
    }
    this.stats.refusedMedia++;
    this.refusals.warn('sip.inviteRefusedMedia', remote.address, { account: this.account, address: remote.address, port: remote.port, status, detail });
    this.report('refused', reason, status, req, remote);
    const answer: HeaderList =
      status !== 488
        ? [['Accept', 'application/sdp']]
        : [['Warning', `${reason === 'no-common-codec' ? 305 : 399} ${this.localAddress} "${reason === 'no-common-codec' ? 'Incompatible media format' : 'Session description not understood'}"`]];
    tx.respondAndForget(status, { toTag: randomToken(), headers: answer });
    return true;
  }

  private report(kind: SecurityEvent['kind'], reason: string, status: number, req: SipRequest, remote: Remote): void {
    this.reports.report(
      { kind, reason, status, account: this.account, source: sourceKey(remote), from: party(parseNameAddr(header(req, 'from') ?? '')), to: party(parseNameAddr(header(req, 'to') ?? '')) },
      remote.address,
    );
  }

  private cancel(req: SipRequest, tx: ServerTransaction): void {
    const inviteTx = this.layer.inviteFor(req);
    const call = inviteTx ? this.invites.get(inviteTx) : undefined;
    if (!inviteTx || !call) {
      this.stats.unknownDialog++;
      tx.respondAndForget(481, { toTag: randomToken() });
      return;
    }
    // §9.2: 200 to the CANCEL itself, then 487 to the INVITE if it is still pending.
    tx.respond(200, { toTag: call.localTag });
    call.cancelledByRemote();
  }

  private inDialog(req: SipRequest, tx: ServerTransaction): void {
    const call = this.dialogs.get(`${req.callId}|${req.toTag}|${req.fromTag}`);
    if (!call || call.isEnded) {
      this.stats.unknownDialog++;
      tx.respondAndForget(481);
      return;
    }
    switch (req.method) {
      case 'BYE':
        tx.respond(200);
        call.byeFromRemote();
        return;
      case 'INVITE':
        call.reinvite(req, tx).catch((err: unknown) => this.log.warn('sip.reinviteFailed', { call: call.id, detail: errorText(err) }));
        return;
      case 'INFO':
        tx.respond(200);
        call.infoFromRemote(req);
        return;
      case 'OPTIONS':
        tx.respond(200, { headers: [['Allow', ALLOW]] });
        return;
      default:
        if (KNOWN_NOT_ALLOWED.includes(req.method)) tx.respond(405, { headers: [['Allow', ALLOW]] });
        else tx.respond(501);
    }
  }

  // ---- responses in --------------------------------------------------------------------

  private onResponse(res: SipResponse): void {
    if (this.layer.handleResponse(res)) {
      this.afterResponse(res);
      return;
    }
    // A 2xx retransmission for an INVITE whose transaction is gone: ACK it again.
    if (res.status >= 200 && res.status < 300 && res.cseqMethod === 'INVITE') {
      for (const c of this.calls.values()) if (c.callId === res.callId && c instanceof OutboundCall) c.retransmitted2xx(res);
    }
  }

  private afterResponse(res: SipResponse): void {
    // Outbound calls get their dialog on the first 2xx; index it so BYE from the callee finds it.
    if (res.cseqMethod === 'INVITE' && res.status < 300) {
      for (const c of this.calls.values()) if (c.callId === res.callId && c.dialogKey && !this.dialogs.has(c.dialogKey)) this.dialogs.set(c.dialogKey, c);
    }
  }

  // ---- requests out --------------------------------------------------------------------

  /**
   * Place a call. `target` is a full URI, `IP[:port]` (P2P), or a user/number that goes to
   * the account's server.
   */
  dial(target: string, opts: { noAnswerTimeoutMs?: number; headers?: HeaderList } = {}): Call {
    const { uri, remote, to } = this.resolveTarget(target);
    const dialOpts: DialOptions = {
      to,
      noAnswerTimeoutMs: opts.noAnswerTimeoutMs ?? 60_000,
      displayName: this.opts.displayName,
      fromUser: this.opts.user || 'intercom',
      fromHost: this.opts.domain ?? this.localAddress,
      headers: opts.headers,
      viaProxy: !!this.opts.server && remote === this.opts.server,
    };
    const call = new OutboundCall(this.host, uri, remote, dialOpts);
    this.track(call);
    call.start().catch((err: unknown) => this.log.warn('sip.dialFailed', { call: call.id, detail: errorText(err) }));
    return call;
  }

  resolveTarget(target: string): DialTarget {
    return resolveTarget(target, { protocol: this.transport.protocol, server: this.opts.server, domain: this.opts.domain, locate: this.opts.locate, knows: this.opts.knows });
  }

  /** A request outside a dialog (REGISTER, OPTIONS), answering digest challenges. */
  request(build: (cseq: number) => RequestSpec, creds?: Credentials, startCSeq = 1): Promise<ChallengedResult> {
    return requestWithChallenge(this.layer, build, creds, startCSeq);
  }

  async close(): Promise<void> {
    const all = [...this.calls.values()];
    for (const c of all) c.hangup();
    // Give BYE/CANCEL a moment on the wire before the socket goes away.
    if (this.calls.size) await new Promise((r) => setTimeout(r, 50));
    // A CANCELled call waits for its 487; nothing will arrive now, so end it here, and wait
    // for every call's RTP socket: a redeploy must find its ports free.
    await Promise.all(all.map((c) => c.terminate('shutdown')));
    this.layer.shutdown();
    this.refusals.close();
    this.reports.close();
    this.removeAllListeners();
  }
}
