/**
 * One call as the rest of the package sees it: its info (msg.call), state and events, its
 * media (through the CallMedia port, whose SDP is never parsed here), and what happens in
 * its dialog once there is one (RFC 3261 §12): BYE (§15), re-INVITE (§14), SIP INFO DTMF
 * (RFC 2976), and the end, which every way a call ends passes through. How the INVITE
 * itself goes is direction-specific: invite-server.ts answers one (InboundCall),
 * invite-client.ts sends one (OutboundCall).
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { IntercomError, errorText } from '../core/errors';
import type { Logger } from '../core/log';
import type { CallMedia, DtmfEvent, MediaFactory } from '../media/port';
import type { Clock, TimerHandle } from './clock';
import type { Credentials } from '../auth/digest';
import { type Dialog, dialogKey, dialogRequest } from './dialog';
import { header, type NameAddr, randomToken, type SipRequest } from './message';
import type { RequestSpec, ServerTransaction, TransactionLayer } from './transactions';
import { CALL_TOPICS as TOPICS } from './topics';
import type { Remote } from './transport';

export interface Party {
  user: string;
  display: string;
  uri: string;
}
export type CallState = 'calling' | 'ringing' | 'early' | 'answered' | 'ended';

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

export interface CallEnd {
  reason: string;
  status?: number;
}

/**
 * Everything a call emits, once each. The first eight are the topics flows see
 * (intercom-sip-in turns each into a message); 'failover' hands over the call that
 * replaces this one on the failover account.
 */
export interface CallEvents {
  ring: [];
  /** a provisional response to our INVITE (180, 183, ...) */
  progress: [status: number];
  answered: [];
  /** the caller gave up before the call was answered (CANCEL) */
  cancelled: [];
  ended: [end: CallEnd];
  dtmf: [ev: DtmfEvent];
  reinvite: [info: { hold: boolean }];
  /** our INVITE follows a 3xx to this target */
  redirected: [uri: string];
  failover: [next: Call];
  error: [err: Error];
}

export type CallTopic = Exclude<keyof CallEvents, 'failover' | 'error'>;
export const CALL_TOPICS: readonly CallTopic[] = TOPICS;

/** Listen to every flow topic of a call in one handler; returns the way to stop listening. */
export function onCallTopics(call: Call, fn: (topic: CallTopic, payload: unknown) => void): () => void {
  const handlers = CALL_TOPICS.map((topic) => {
    const h = (payload?: unknown): void => fn(topic, payload);
    call.on(topic, h as never);
    return [topic, h] as const;
  });
  return () => {
    for (const [topic, h] of handlers) call.off(topic, h as never);
  };
}

/** What a call needs from the endpoint that carries it. */
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
  /** an inbound call from `remote` was ACKed: the source behaves as a user agent does */
  onAcked?(remote: { address: string; port: number }): void;
}

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO';

export function party(na: NameAddr | undefined): Party {
  if (!na) return { user: '', display: '', uri: '' };
  return { user: na.uri.user ?? '', display: na.displayName ?? '', uri: na.uri.toString() };
}

/** A media failure on the way to an answer: the status the caller gets (RFC 3261 §21.4.26). */
export function mediaStatus(err: unknown): 488 | 500 {
  return (err as { status?: unknown } | undefined)?.status === 488 ? 488 : 500;
}

const DTMF_DIGIT = /^[0-9*#A-Da-d]$/;

export abstract class Call extends EventEmitter<CallEvents> {
  readonly id = randomUUID();
  state: CallState;
  media?: CallMedia;
  info: CallInfo;
  readonly localTag = randomToken();
  dialog?: Dialog;
  /** settles when this call's media has released its sockets */
  mediaClosed: Promise<void> = Promise.resolve();
  /** the call this one rings for (a forward's panel call): a page shows who is at the door */
  origin?: Call;
  protected timer?: TimerHandle;
  private ended = false;

  constructor(
    protected readonly host: CallHost,
    readonly direction: 'inbound' | 'outbound',
    info: Omit<CallInfo, 'id' | 'state' | 'direction' | 'account'>,
    readonly callId: string,
    /** where the other party is reached (a WebSocket peer is a browser: WebRTC media) */
    readonly peer: Remote,
    readonly listenOnly = false,
    /** the SDP offer the call came with (inbound), so the media factory can pick the media kind */
    private readonly remoteOffer?: string,
  ) {
    super();
    this.state = direction === 'inbound' ? 'ringing' : 'calling';
    this.info = { ...info, id: this.id, direction, account: host.account, state: this.state };
    // An 'error' with no listener would throw; call errors are reported through 'ended' instead.
    this.on('error', () => undefined);
  }

  // ---- the INVITE, per direction (flows reach any call by id; the other direction refuses)

  /** 180 Ringing, or 183 with SDP for early media (inbound; nothing for an outbound call). */
  abstract ring(early?: boolean): Promise<void>;
  /** 200 OK with our SDP (inbound only). */
  abstract answer(): Promise<void>;
  /** A final 3xx-6xx to a ringing inbound call; nothing for an outbound call. */
  abstract reject(status?: number, reason?: string): void;
  /** 302 to `target` (a ringing inbound call only). */
  abstract redirect(target: string): void;
  /** CANCEL an outbound call not answered yet; nothing for an inbound call. */
  abstract cancel(reason?: string): void;
  /** End a call that is not answered yet, the way its direction does it. */
  protected abstract abandon(): void;

  protected setState(s: CallState): void {
    this.state = s;
    this.info.state = s;
  }

  /** The call's media, created on first need (creating binds nothing; offer/answer does). */
  protected ensureMedia(): CallMedia {
    if (this.media) return this.media;
    const m = this.host.mediaFactory.create({ callId: this.id, direction: this.direction, localAddress: this.host.localAddress, dtmfSend: this.host.dtmfSend, transport: this.peer.protocol, remoteOffer: this.remoteOffer });
    this.media = m;
    m.on('dtmf', (ev) => this.emit('dtmf', ev));
    m.on('picture-fast-update', () => this.sendPictureFastUpdate());
    m.on('error', (err) => this.host.log.warn('sip.mediaError', { call: this.id, detail: err.message }));
    // A panel that lost power sends no BYE; its silence is the only sign (RFC 3550 §6.3.5 spirit).
    m.on('rtp-timeout', (ev) => {
      if (this.ended) return;
      this.host.log.warn('sip.rtpTimeout', { call: this.id, ms: ev.silentMs });
      this.info.reason = 'rtp-timeout';
      this.hangup();
    });
    return m;
  }

  /** Take the SDP answer that came with an ACK (late offer, RFC 3264 §4). */
  protected answerFromAck(media: CallMedia, ack: SipRequest): void {
    if (ack.body.trim()) media.setRemoteAnswer(ack.body).catch((err: unknown) => this.host.log.warn('sip.ackSdpRejected', { call: this.id, detail: errorText(err) }));
  }

  // ---- in the dialog ----------------------------------------------------------------

  /** End the call whatever its state: BYE, CANCEL or a 603 to a ringing inbound call. */
  hangup(): void {
    if (this.ended) return;
    if (this.state === 'answered') {
      this.sendBye();
      this.finish('local-bye');
    } else this.abandon();
  }

  protected sendBye(): void {
    if (!this.dialog) return;
    this.host.layer.sendRequest(this.inDialog('BYE'), { onResponse: () => undefined, onTimeout: () => undefined });
  }

  /** Remote BYE (§15.1.2). */
  byeFromRemote(): void {
    this.finish('remote-bye');
  }

  /** re-INVITE inside the dialog: hold/unhold or session refresh (§14.2). */
  async reinvite(req: SipRequest, tx: ServerTransaction): Promise<void> {
    const media = this.media;
    if (this.state !== 'answered' || !media) {
      tx.respond(491, { toTag: this.localTag });
      return;
    }
    try {
      const lateOffer = !req.body.trim();
      const body = lateOffer ? await media.offer() : await media.answer(req.body);
      // Session refresh without SDP: our offer rides on the 200, the answer on the ACK (RFC 3264 §4).
      if (lateOffer) tx.onAck = (ack) => this.answerFromAck(media, ack);
      tx.respond(200, { headers: [['Contact', this.host.contact()], ['Allow', ALLOW], ['Content-Type', 'application/sdp']], body });
      this.emit('reinvite', { hold: !lateOffer && media.remoteHold });
    } catch (err) {
      tx.respond(mediaStatus(err));
    }
  }

  /**
   * SIP INFO DTMF: the media side reads the body (application/dtmf-relay or
   * application/dtmf) and reports the key through its 'dtmf' event, so a panel that sends
   * the same press by INFO and RFC 4733 gives the flow one key, not two.
   */
  infoFromRemote(req: SipRequest): void {
    this.ensureMedia().receiveInfo(header(req, 'content-type') ?? '', req.body);
  }

  /** Send one DTMF digit as SIP INFO (application/dtmf-relay, the form panels parse). */
  sendInfoDtmf(digit: string, durationMs = 160): void {
    if (typeof digit !== 'string' || !DTMF_DIGIT.test(digit)) throw new IntercomError('sip.notDtmfDigit', { digit: String(digit).slice(0, 20) });
    if (this.state !== 'answered' || !this.media) throw new IntercomError('sip.dtmfNotAnswered');
    const info = this.media.infoDtmf(digit, durationMs);
    const spec = this.inDialog('INFO');
    spec.headers.push(['Content-Type', info.contentType]);
    spec.body = info.body;
    this.host.layer.sendRequest(spec, { onResponse: () => undefined, onTimeout: () => undefined });
  }

  /** RFC 5168: ask the peer's video encoder for a keyframe by SIP INFO (XML media control). */
  sendPictureFastUpdate(): void {
    if (this.state !== 'answered' || !this.dialog) return;
    const spec = this.inDialog('INFO');
    spec.headers.push(['Content-Type', 'application/media_control+xml']);
    spec.body = '<?xml version="1.0" encoding="utf-8" ?>\r\n<media_control><vc_primitive><to_encoder><picture_fast_update/></to_encoder></vc_primitive></media_control>\r\n';
    this.host.layer.sendRequest(spec, { onResponse: () => undefined, onTimeout: () => undefined });
  }

  /** DTMF the account's way: RFC 4733 through media when it can, else SIP INFO one by one. */
  async sendDtmf(digits: string): Promise<void> {
    if (this.host.dtmfSend === 'rfc4733' && this.media) return this.media.sendDtmf(digits);
    for (const d of digits) {
      this.sendInfoDtmf(d);
      await new Promise((r) => this.host.clock.setTimeout(() => r(undefined), 200));
    }
  }

  protected inDialog(method: string, cseq?: number): RequestSpec {
    return dialogRequest(this.dialog as Dialog, method, this.host.userAgent, cseq);
  }

  // ---- the end ------------------------------------------------------------------------

  protected finish(reason: string, status?: number): void {
    if (this.ended) return;
    this.ended = true;
    this.host.clock.clearTimeout(this.timer);
    this.info.reason = this.info.reason ?? reason;
    if (status !== undefined) this.info.status = status;
    this.setState('ended');
    const media = this.media;
    // Every way a call ends passes here, so this is where its RTP port is given back.
    if (media) this.mediaClosed = media.close().catch((err: unknown) => this.host.log.warn('sip.mediaCloseFailed', { call: this.id, detail: errorText(err) }));
    this.emit('ended', { reason: this.info.reason, status });
    this.host.forget(this);
  }

  /** Stop a call at once (account shutdown): no signalling, media closed. */
  terminate(reason = 'shutdown'): Promise<void> {
    this.finish(reason);
    return this.mediaClosed;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  get dialogKey(): string | undefined {
    return this.dialog ? dialogKey(this.dialog) : undefined;
  }
}
