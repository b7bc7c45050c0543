/**
 * One call, inbound or outbound, with its dialog (RFC 3261 §12) and the INVITE session
 * rules around it: answer/reject/redirect (§13.3), CANCEL (§9), BYE (§15), re-INVITE
 * (§14), SIP INFO DTMF. SDP goes through the injected MediaFactory and is never parsed here.
 *
 * Events: 'event' (topic, payload) for flows, plus 'ringing', 'answered', 'ended', 'dtmf'.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Clock, Logger, TimerHandle } from './clock';
import { authorize, type Credentials, parseChallenge } from './digest';
import { type CallMedia, type DtmfEvent, type MediaFactory, NotAcceptableHere } from './media-port';
import { type HeaderList, header, headerOf, headers as headerValues, nextCSeq, withHeader, withoutHeader, parseNameAddr, randomToken, type SipRequest, type SipResponse, splitComma, type NameAddr } from './message';
import type { ClientTransaction, RequestSpec, ServerTransaction, TransactionLayer } from './transactions';
import type { Remote } from './transport';

export interface Party {
  user: string;
  display: string;
  uri: string;
}
export type CallState = 'calling' | 'ringing' | 'early' | 'answered' | 'ended';
export type CallTopic = 'ring' | 'progress' | 'answered' | 'cancelled' | 'ended' | 'dtmf' | 'reinvite' | 'redirected';

export interface CallInfo {
  id: string;
  direction: 'inbound' | 'outbound';
  from: Party;
  to: Party;
  source: string;
  account: string;
  headers: Record<string, string>;
  state: CallState;
  reason?: string;
  status?: number;
}

export interface CallHost {
  readonly layer: TransactionLayer;
  readonly clock: Clock;
  readonly log: Logger;
  readonly mediaFactory: MediaFactory;
  readonly account: string;
  readonly localAddress: string;
  readonly userAgent: string;
  readonly credentials?: Credentials;
  readonly dtmfSend: 'rfc4733' | 'info';
  contact(): string;
  forget(call: Call): void;
}

/** Headers a flow may want to see (caller identity as asserted by a PBX, RFC 3325). */
const EXPOSED = ['p-asserted-identity', 'remote-party-id', 'user-agent', 'subject', 'priority', 'alert-info', 'call-info', 'diversion', 'history-info'];

export function party(na: NameAddr | undefined): Party {
  if (!na) return { user: '', display: '', uri: '' };
  return { user: na.uri.user ?? '', display: na.displayName ?? '', uri: na.uri.toString() };
}

export interface DialOptions {
  /** unanswered outbound calls are cancelled after this (ms) */
  noAnswerTimeoutMs?: number;
  displayName?: string;
  fromUser: string;
  fromHost: string;
  headers?: HeaderList;
  /** requests go to an outbound proxy/registrar (client mode) rather than to the target itself */
  viaProxy?: boolean;
}

interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From (ours, with tag) and To (theirs, with tag) for requests we send in the dialog */
  localHeader: string;
  remoteHeader: string;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  remote: Remote;
}

export class Call extends EventEmitter {
  readonly id = randomUUID();
  state: CallState;
  media?: CallMedia;
  info: CallInfo;
  readonly localTag = randomToken();
  callId: string;
  dialog?: Dialog;
  private inviteTx?: ServerTransaction;
  private invite?: SipRequest;
  private clientTx?: ClientTransaction;
  private inviteSpec?: RequestSpec;
  private provisionalSeen = false;
  private cancelPending = false;
  private authTries = 0;
  private redirects = 0;
  private nc = 0;
  private viaProxy = false;
  private timer?: TimerHandle;
  private ended = false;
  /** settles when this call's media has released its sockets */
  mediaClosed: Promise<void> = Promise.resolve();

  constructor(private host: CallHost, readonly direction: 'inbound' | 'outbound', info: Omit<CallInfo, 'id' | 'state' | 'direction' | 'account'>, callId: string, readonly listenOnly = false) {
    super();
    this.state = direction === 'inbound' ? 'ringing' : 'calling';
    this.callId = callId;
    this.info = { ...info, id: this.id, direction, account: host.account, state: this.state };
    // An 'error' with no listener would throw; call errors are reported through 'ended' instead.
    this.on('error', () => undefined);
  }

  private setState(s: CallState): void {
    this.state = s;
    this.info.state = s;
  }

  private fire(topic: CallTopic, payload?: unknown): void {
    this.emit('event', topic, payload);
  }

  // ---- inbound -------------------------------------------------------------------------

  static inbound(host: CallHost, req: SipRequest, tx: ServerTransaction, remote: Remote, listenOnly: boolean): Call {
    const hs: Record<string, string> = {};
    for (const n of EXPOSED) {
      const v = header(req, n);
      if (v !== undefined) hs[n] = v;
    }
    const fromNA = parseNameAddr(header(req, 'from') ?? '');
    const call = new Call(host, 'inbound', { from: party(fromNA), to: party(parseNameAddr(header(req, 'to') ?? '')), source: `${remote.address}:${remote.port}`, headers: hs }, req.callId, listenOnly);
    call.invite = req;
    call.inviteTx = tx;
    const contact = parseNameAddr(header(req, 'contact') ?? '');
    call.dialog = {
      callId: req.callId,
      localTag: call.localTag,
      remoteTag: req.fromTag,
      localHeader: `${header(req, 'to')};tag=${call.localTag}`,
      remoteHeader: header(req, 'from') ?? '',
      remoteTarget: contact?.uri.toString() ?? fromNA?.uri.toString() ?? req.uri,
      routeSet: headerValues(req, 'record-route').flatMap(splitComma),
      localSeq: Math.floor(Math.random() * 10000) + 1,
      // In-dialog requests go back where the INVITE came from, which works through NAT.
      remote,
    };
    tx.onAckTimeout = () => {
      if (call.state === 'answered') {
        // §13.3.1.4: no ACK for our 2xx within 64*T1 — the session is over.
        call.sendBye();
        call.finish('no-ack');
      }
    };
    tx.onAck = (ack) => call.onAck(ack);
    return call;
  }

  /** 180 Ringing (or 183 with `early`: early media needs an SDP answer). */
  async ring(early = false): Promise<void> {
    if (this.direction !== 'inbound' || this.state !== 'ringing' && this.state !== 'early') return;
    if (!early) {
      this.inviteTx?.respond(180, this.respOpts());
      return;
    }
    if (this.listenOnly) throw new Error('listen mode never sends early media');
    const body = await this.localAnswer();
    this.setState('early');
    this.inviteTx?.respond(183, { ...this.respOpts(), headers: [['Contact', this.host.contact()], ['Content-Type', 'application/sdp']], body });
  }

  async answer(): Promise<void> {
    if (this.direction !== 'inbound') throw new Error('only an inbound call can be answered');
    if (this.listenOnly) throw new Error('listen mode never answers a call');
    if (this.state !== 'ringing' && this.state !== 'early') throw new Error(`cannot answer a call that is ${this.state}`);
    const body = await this.localAnswer();
    if (this.ended) return; // cancelled while media was negotiating
    this.inviteTx?.respond(200, {
      ...this.respOpts(),
      headers: [['Contact', this.host.contact()], ['Allow', ALLOW], ['Content-Type', 'application/sdp'], ['User-Agent', this.host.userAgent]],
      body,
    });
    this.host.clock.clearTimeout(this.timer);
    this.setState('answered');
    this.emit('answered');
    this.fire('answered');
  }

  /**
   * Offer/answer for the initial INVITE. When no codec fits the caller gets 488 (500 for
   * a media failure) and the flow gets the error, so "answer" never fails silently.
   */
  private async localAnswer(): Promise<string> {
    try {
      this.media ??= this.host.mediaFactory.create({ callId: this.id, direction: 'inbound', localAddress: this.host.localAddress, dtmfSend: this.host.dtmfSend });
      this.wireMedia();
      const offer = this.invite?.body ?? '';
      return offer.trim() ? await this.media.answer(offer) : await this.media.offer();
    } catch (err) {
      const status = err instanceof NotAcceptableHere ? 488 : 500;
      this.reject(status);
      throw new Error(`call rejected with ${status}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  reject(status = 486, reason?: string): void {
    if (this.direction !== 'inbound' || (this.state !== 'ringing' && this.state !== 'early')) return;
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new Error(`reject needs a status 300-699, got ${status}`);
    this.inviteTx?.respond(status, { ...this.respOpts(), reason });
    this.finish('rejected', status);
  }

  /** 302 Moved Temporarily to `target` (RFC 3261 §21.3.3). */
  redirect(target: string): void {
    if (this.direction !== 'inbound' || (this.state !== 'ringing' && this.state !== 'early')) throw new Error('only a ringing inbound call can be redirected');
    const uri = target.startsWith('sip:') || target.startsWith('sips:') || target.startsWith('tel:') ? target : `sip:${target}`;
    this.inviteTx?.respond(302, { ...this.respOpts(), headers: [['Contact', `<${uri}>`]] });
    this.finish('redirected', 302);
  }

  private respOpts(): { toTag: string } {
    return { toTag: this.localTag };
  }

  /** The ACK for our 2xx arrived; a late offer's answer rides on it (RFC 3264 §4). */
  private onAck(ack: SipRequest): void {
    if (this.media && this.invite && !this.invite.body.trim() && ack.body.trim()) {
      this.media.setRemoteAnswer(ack.body).catch((err: unknown) => this.host.log.warn('SDP in ACK rejected: ' + String(err)));
    }
  }

  /** The caller gave up (CANCEL, §9.2): 487 to the INVITE. */
  cancelledByRemote(): void {
    if (this.state !== 'ringing' && this.state !== 'early') return;
    this.inviteTx?.respond(487, this.respOpts());
    this.fire('cancelled');
    this.finish('cancelled', 487);
  }

  /** Inbound ring time limit: 480 if nobody decides (a flow that forgot us must not hold the panel). */
  startRingTimer(ms: number): void {
    if (ms <= 0) return;
    this.timer = this.host.clock.setTimeout(() => {
      if (this.listenOnly) return; // listen mode: the caller or another phone ends it
      if (this.state === 'ringing' || this.state === 'early') {
        this.inviteTx?.respond(480, this.respOpts());
        this.finish('no-answer', 480);
      }
    }, ms);
  }

  // ---- outbound ------------------------------------------------------------------------

  static outbound(host: CallHost, target: string, remote: Remote, opts: DialOptions): Call {
    const callId = randomToken(12) + '@' + host.localAddress;
    const to = parseNameAddr(`<${target}>`);
    const call = new Call(host, 'outbound', {
      from: { user: opts.fromUser, display: opts.displayName ?? '', uri: `sip:${opts.fromUser}@${opts.fromHost}` },
      to: party(to),
      source: `${remote.address}:${remote.port}`,
      headers: {},
    }, callId);
    call.viaProxy = opts.viaProxy ?? false;
    const from = `${opts.displayName ? `"${opts.displayName.replace(/"/g, '')}" ` : ''}<sip:${opts.fromUser}@${opts.fromHost}>;tag=${call.localTag}`;
    call.inviteSpec = {
      method: 'INVITE',
      uri: target,
      remote,
      headers: [
        ['Max-Forwards', '70'],
        ['From', from],
        ['To', `<${target}>`],
        ['Call-ID', callId],
        ['CSeq', '1 INVITE'],
        ['Contact', host.contact()],
        ['Allow', ALLOW],
        ['User-Agent', host.userAgent],
        ...(opts.headers ?? []),
        ['Content-Type', 'application/sdp'],
      ],
    };
    if (opts.noAnswerTimeoutMs && opts.noAnswerTimeoutMs > 0) {
      call.timer = host.clock.setTimeout(() => {
        if (call.state === 'calling' || call.state === 'ringing' || call.state === 'early') call.cancel('no-answer');
      }, opts.noAnswerTimeoutMs);
    }
    return call;
  }

  async start(): Promise<void> {
    const spec = this.inviteSpec;
    if (!spec) throw new Error('not an outbound call');
    try {
      this.media = this.host.mediaFactory.create({ callId: this.id, direction: 'outbound', localAddress: this.host.localAddress, dtmfSend: this.host.dtmfSend });
      this.wireMedia();
      spec.body = await this.media.offer();
    } catch (err) {
      this.finish('media-failed: ' + String(err));
      return;
    }
    if (this.ended) return;
    this.sendInvite();
  }

  private sendInvite(): void {
    const spec = this.inviteSpec as RequestSpec;
    this.provisionalSeen = false;
    this.clientTx = this.host.layer.sendRequest({ ...spec, branch: undefined }, {
      onResponse: (res) => this.onInviteResponse(res),
      onTimeout: () => this.finish('timeout', 408),
    });
  }

  private onInviteResponse(res: SipResponse): void {
    if (this.ended && res.status < 200) return;
    if (res.status < 200) {
      if (res.status === 100) return;
      this.provisionalSeen = true;
      if (this.cancelPending) return this.sendCancel();
      if (this.state === 'calling') {
        this.setState('ringing');
        this.emit('ringing');
      }
      this.fire('progress', res.status);
      return;
    }
    if (res.status < 300) return this.onInvite2xx(res);
    const spec = this.inviteSpec as RequestSpec;
    if ((res.status === 401 || res.status === 407) && !this.cancelPending && this.authTries < 2) {
      const ch = parseChallenge(header(res, res.status === 401 ? 'www-authenticate' : 'proxy-authenticate') ?? '');
      const creds = this.host.credentials;
      if (ch && creds) {
        this.authTries++;
        const name = res.status === 401 ? 'Authorization' : 'Proxy-Authorization';
        spec.headers = nextCSeq(withoutHeader(spec.headers, name), 'INVITE');
        spec.headers.push([name, authorize(ch, creds, 'INVITE', spec.uri, ++this.nc)]);
        return this.sendInvite();
      }
    }
    if ((res.status === 301 || res.status === 302) && this.redirects < 3 && !this.cancelPending) {
      const contact = parseNameAddr(header(res, 'contact') ?? '');
      if (contact) {
        this.redirects++;
        spec.uri = contact.uri.toString();
        // A new request to the new target (RFC 3261 §8.1.3.4): direct unless a proxy carries it.
        if (!this.viaProxy) spec.remote = { address: contact.uri.host, port: contact.uri.port ?? 5060, protocol: spec.remote.protocol };
        spec.headers = withHeader(nextCSeq(spec.headers, 'INVITE'), 'to', `<${spec.uri}>`);
        this.fire('redirected', spec.uri);
        return this.sendInvite();
      }
    }
    this.finish(this.cancelPending ? 'cancelled' : 'rejected', res.status);
  }

  private onInvite2xx(res: SipResponse): void {
    const spec = this.inviteSpec as RequestSpec;
    if (!this.dialog) {
      const contact = parseNameAddr(header(res, 'contact') ?? '');
      this.dialog = {
        callId: this.callId,
        localTag: this.localTag,
        remoteTag: res.toTag ?? '',
        localHeader: headerOf(spec.headers, 'From'),
        remoteHeader: header(res, 'to') ?? '',
        remoteTarget: contact?.uri.toString() ?? spec.uri,
        routeSet: headerValues(res, 'record-route').flatMap(splitComma).reverse(),
        localSeq: Number(headerOf(spec.headers, 'CSeq').split(' ')[0]),
        remote: spec.remote,
      };
    }
    // ACK for 2xx is its own transaction-less request (§13.2.2.4), re-sent for every 2xx copy.
    this.host.layer.sendStateless(this.inDialog('ACK', res.cseq));
    if (this.state === 'answered' || this.ended) {
      if (this.cancelPending && this.state !== 'answered') this.sendBye();
      return;
    }
    if (this.cancelPending) {
      // §9.1: the 2xx crossed our CANCEL; the call exists, so end it with BYE.
      this.sendBye();
      return this.finish('cancelled');
    }
    this.host.clock.clearTimeout(this.timer);
    this.setState('answered');
    this.media?.setRemoteAnswer(res.body).catch((err: unknown) => {
      this.host.log.warn('remote SDP answer rejected: ' + String(err));
      this.hangup();
    });
    this.emit('answered');
    this.fire('answered');
  }

  /** A 2xx retransmission arrived with no transaction left: ACK again (§13.2.2.4). */
  retransmitted2xx(res: SipResponse): void {
    if (this.dialog && res.cseqMethod === 'INVITE') this.host.layer.sendStateless(this.inDialog('ACK', res.cseq));
  }

  cancel(reason = 'cancelled'): void {
    if (this.direction !== 'outbound' || this.state === 'answered' || this.ended) return;
    this.cancelPending = true;
    this.info.reason = reason;
    // §9.1: CANCEL only after a provisional response; until then it waits.
    if (this.provisionalSeen) this.sendCancel();
    else if (this.clientTx)
      this.host.clock.setTimeout(() => {
        if (!this.ended && this.state !== 'answered') this.finish(reason);
      }, 64 * this.host.layer.timers.T1);
  }

  private sendCancel(): void {
    const spec = this.inviteSpec as RequestSpec;
    const tx = this.clientTx;
    if (!tx) return;
    const keep = ['from', 'to', 'call-id', 'route', 'max-forwards'];
    const hs: HeaderList = spec.headers.filter(([k]) => keep.includes(k.toLowerCase()));
    hs.push(['CSeq', `${headerOf(spec.headers, 'CSeq').split(' ')[0]} CANCEL`]);
    this.host.layer.sendRequest({ method: 'CANCEL', uri: spec.uri, headers: hs, remote: spec.remote, branch: tx.branch }, { onResponse: () => undefined, onTimeout: () => undefined });
  }

  // ---- both directions ---------------------------------------------------------------

  /** End the call whatever its state: BYE, CANCEL or a 603 to a ringing inbound call. */
  hangup(): void {
    if (this.ended) return;
    if (this.state === 'answered') {
      this.sendBye();
      this.finish('local-bye');
    } else if (this.direction === 'outbound') this.cancel('local-cancel');
    else this.reject(603);
  }

  private sendBye(): void {
    if (!this.dialog) return;
    this.host.layer.sendRequest(this.inDialog('BYE'), { onResponse: () => undefined, onTimeout: () => undefined });
  }

  /** Remote BYE (§15.1.2). */
  byeFromRemote(): void {
    this.finish('remote-bye');
  }

  /** re-INVITE inside the dialog: hold/unhold or session refresh (§14.2). */
  async reinvite(req: SipRequest, tx: ServerTransaction): Promise<void> {
    if (this.state !== 'answered' || !this.media) {
      tx.respond(491, this.respOpts());
      return;
    }
    try {
      const lateOffer = !req.body.trim();
      const body = lateOffer ? await this.media.offer() : await this.media.answer(req.body);
      // Session refresh without SDP: our offer rides on the 200, the answer on the ACK (RFC 3264 §4).
      if (lateOffer) {
        const media = this.media;
        tx.onAck = (ack) => {
          if (ack.body.trim()) media.setRemoteAnswer(ack.body).catch((err: unknown) => this.host.log.warn('SDP in ACK rejected: ' + String(err)));
        };
      }
      tx.respond(200, { headers: [['Contact', this.host.contact()], ['Allow', ALLOW], ['Content-Type', 'application/sdp']], body });
      const hold = /a=(sendonly|inactive)/.test(req.body) || /c=IN IP4 0\.0\.0\.0/.test(req.body);
      this.fire('reinvite', { hold });
    } catch (err) {
      tx.respond(err instanceof NotAcceptableHere ? 488 : 500);
    }
  }

  /** SIP INFO DTMF: application/dtmf-relay (Signal=5) or application/dtmf (body "5"). */
  infoFromRemote(req: SipRequest): void {
    const media = this.media;
    if (media?.receiveInfo) {
      // The media side reports the digit through its 'dtmf' event (wireMedia), so a panel
      // that sends the same press by INFO and RFC 4733 gives the flow one key, not two.
      media.receiveInfo(header(req, 'content-type') ?? '', req.body);
      return;
    }
    const type = (header(req, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
    let digit: string | undefined;
    let duration: number | undefined;
    if (type === 'application/dtmf-relay') {
      // Some gateways send the RFC 4733 event number: 10 for *, 11 for #.
      const sig = /^\s*Signal\s*=\s*(\S+)/im.exec(req.body)?.[1];
      digit = sig === '10' ? '*' : sig === '11' ? '#' : sig?.length === 1 ? sig : undefined;
      const d = /^\s*Duration\s*=\s*(\d+)/im.exec(req.body)?.[1];
      duration = d ? Number(d) : undefined;
    } else if (type === 'application/dtmf') {
      digit = req.body.trim().charAt(0);
    }
    if (digit && /^[0-9*#A-Da-d]$/.test(digit)) {
      const ev: DtmfEvent = { digit: digit.toUpperCase(), method: 'info', durationMs: duration, at: Date.now() };
      this.emit('dtmf', ev);
      this.fire('dtmf', ev);
    }
  }

  /** Send one DTMF digit as SIP INFO (application/dtmf-relay, the form panels parse). */
  sendInfoDtmf(digit: string, durationMs = 160): void {
    if (!/^[0-9*#A-Da-d]$/.test(digit)) throw new Error(`not a DTMF digit: ${JSON.stringify(digit)}`);
    if (this.state !== 'answered') throw new Error('DTMF needs an answered call');
    const spec = this.inDialog('INFO');
    spec.headers.push(['Content-Type', 'application/dtmf-relay']);
    spec.body = `Signal=${digit.toUpperCase()}\r\nDuration=${durationMs}\r\n`;
    this.host.layer.sendRequest(spec, { onResponse: () => undefined, onTimeout: () => undefined });
  }

  /** DTMF the account's way: RFC 4733 through media when it can, else SIP INFO one by one. */
  async sendDtmf(digits: string): Promise<void> {
    if (this.host.dtmfSend === 'rfc4733' && this.media?.sendDtmf) return this.media.sendDtmf(digits);
    for (const d of digits) {
      this.sendInfoDtmf(d);
      await new Promise((r) => this.host.clock.setTimeout(() => r(undefined), 200));
    }
  }

  private inDialog(method: string, cseq?: number): RequestSpec {
    const d = this.dialog as Dialog;
    const seq = cseq ?? ++d.localSeq;
    const hs: HeaderList = [
      ...d.routeSet.map((r): [string, string] => ['Route', r]),
      ['Max-Forwards', '70'],
      ['From', d.localHeader],
      ['To', d.remoteHeader],
      ['Call-ID', d.callId],
      ['CSeq', `${seq} ${method}`],
    ];
    if (method !== 'ACK') hs.push(['User-Agent', this.host.userAgent]);
    return { method, uri: d.remoteTarget, headers: hs, remote: d.remote };
  }

  private wireMedia(): void {
    const m = this.media;
    if (!m || m.listenerCount('dtmf') > 0) return;
    m.on('dtmf', (ev: DtmfEvent) => {
      this.emit('dtmf', ev);
      this.fire('dtmf', ev);
    });
    m.on('error', (err: Error) => this.host.log.warn(`call ${this.id} media: ${err.message}`));
    // A panel that lost power sends no BYE; its silence is the only sign (RFC 3550 §6.3.5 spirit).
    m.on('rtp-timeout', (ev: { silentMs?: number }) => {
      if (this.ended) return;
      this.host.log.warn(`call ${this.id}: no RTP for ${ev?.silentMs ?? '?'} ms, hanging up`);
      this.info.reason = 'rtp-timeout';
      this.hangup();
    });
  }

  private finish(reason: string, status?: number): void {
    if (this.ended) return;
    this.ended = true;
    this.host.clock.clearTimeout(this.timer);
    this.info.reason = this.info.reason ?? reason;
    if (status !== undefined) this.info.status = status;
    this.setState('ended');
    const media = this.media;
    // Every way a call ends passes here, so this is where its RTP port is given back.
    if (media) this.mediaClosed = media.close().catch((err: unknown) => this.host.log.warn(`call ${this.id} media close: ${String(err)}`));
    this.emit('ended', { reason: this.info.reason, status });
    this.fire('ended', { reason: this.info.reason, status });
    this.host.forget(this);
  }

  /** Stop a call at once (account shutdown): no signaling, media closed. */
  terminate(reason = 'shutdown'): Promise<void> {
    this.finish(reason);
    return this.mediaClosed;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  get dialogKey(): string | undefined {
    return this.dialog ? `${this.callId}|${this.localTag}|${this.dialog.remoteTag}` : undefined;
  }
}

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO';
