/**
 * The INVITE server (UAS, RFC 3261 §13.3): a call someone places to us. It rings (180, or
 * 183 with SDP for early media), is answered (200 with our SDP; the ACK may carry the
 * answer to our late offer, RFC 3264 §4), rejected (3xx-6xx), redirected (302, §21.3.3),
 * cancelled by the caller (§9.2: 487) or runs out of ring time (480). Listen mode never
 * answers and never sends media.
 */
import { IntercomError, errorText } from '../core/errors';
import { ALLOW, Call, type CallHost, mediaStatus, party } from './call';
import { type Slot, sourceKey } from './admission';
import { uasDialog } from './dialog';
import { header, parseNameAddr, type SipRequest } from './message';
import type { ServerTransaction } from './transactions';
import type { Remote } from './transport';

/** Headers a flow may want to see (caller identity as asserted by a PBX, RFC 3325). */
const EXPOSED = ['p-asserted-identity', 'remote-party-id', 'user-agent', 'subject', 'priority', 'alert-info', 'call-info', 'diversion', 'history-info'];

export class InboundCall extends Call implements Slot {
  /** `address:port` the INVITE came from (admission counts slots by it) */
  readonly sourceKey: string;
  /** when we sent the 2xx */
  answeredAt?: number;
  /** the ACK for our 2xx came */
  acked = false;

  private constructor(host: CallHost, private readonly invite: SipRequest, private readonly inviteTx: ServerTransaction, remote: Remote, listenOnly: boolean) {
    const hs: Record<string, string> = {};
    for (const n of EXPOSED) {
      const v = header(invite, n);
      if (v !== undefined) hs[n] = v;
    }
    const from = party(parseNameAddr(header(invite, 'from') ?? ''));
    const to = party(parseNameAddr(header(invite, 'to') ?? ''));
    super(host, 'inbound', { from, to, source: `${remote.address}:${remote.port}`, headers: hs }, invite.callId, remote, listenOnly, invite.body);
    this.sourceKey = sourceKey(remote);
  }

  static accept(host: CallHost, req: SipRequest, tx: ServerTransaction, remote: Remote, listenOnly: boolean): InboundCall {
    const call = new InboundCall(host, req, tx, remote, listenOnly);
    call.dialog = uasDialog(req, call.localTag, remote);
    tx.onAckTimeout = () => {
      if (call.state === 'answered') {
        // §13.3.1.4: no ACK for our 2xx within 64*T1 — the session is over.
        call.sendBye();
        call.finish('no-ack');
      }
    };
    tx.onAck = (ack) => {
      call.acked = true;
      host.onAcked?.(remote);
      if (call.media && !req.body.trim()) call.answerFromAck(call.media, ack);
    };
    return call;
  }

  private get ringing(): boolean {
    return this.state === 'ringing' || this.state === 'early';
  }

  async ring(early = false): Promise<void> {
    if (!this.ringing) return;
    if (!early) {
      this.inviteTx.respond(180, { toTag: this.localTag });
      return;
    }
    if (this.listenOnly) throw new IntercomError('sip.listenNoEarlyMedia');
    const body = await this.localAnswer();
    this.setState('early');
    this.inviteTx.respond(183, { toTag: this.localTag, headers: [['Contact', this.host.contact()], ['Content-Type', 'application/sdp']], body });
  }

  async answer(): Promise<void> {
    if (this.listenOnly) throw new IntercomError('sip.listenNeverAnswers');
    if (!this.ringing) throw new IntercomError('sip.answerState', { state: this.state });
    const body = await this.localAnswer();
    if (this.isEnded) return; // cancelled while media was negotiating
    this.inviteTx.respond(200, {
      toTag: this.localTag,
      headers: [['Contact', this.host.contact()], ['Allow', ALLOW], ['Content-Type', 'application/sdp'], ['User-Agent', this.host.userAgent]],
      body,
    });
    this.host.clock.clearTimeout(this.timer);
    this.answeredAt = this.host.clock.now();
    this.setState('answered');
    this.emit('answered');
  }

  /**
   * Give the slot of an answered call whose ACK never came to a new INVITE: BYE and the
   * end §13.3.1.4 prescribes when Timer H fires, only sooner, and the 2xx is no longer
   * retransmitted.
   */
  evict(): void {
    if (this.state !== 'answered' || this.acked) return;
    this.inviteTx.terminate();
    this.sendBye();
    this.finish('no-ack');
  }

  /**
   * Offer/answer for the INVITE. When no codec fits the caller gets 488 (500 for a media
   * failure) and the flow gets the error, so "answer" never fails silently.
   */
  private async localAnswer(): Promise<string> {
    try {
      const media = this.ensureMedia();
      const offer = this.invite.body;
      return offer.trim() ? await media.answer(offer) : await media.offer();
    } catch (err) {
      const status = mediaStatus(err);
      this.reject(status);
      throw status === 488 ? new IntercomError('sip.callRejectedCodec', { status }, { cause: err }) : new IntercomError('sip.callRejectedMedia', { status, detail: errorText(err).slice(0, 120) }, { cause: err });
    }
  }

  reject(status = 486, reason?: string): void {
    if (!this.ringing) return;
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new IntercomError('sip.rejectStatus', { status: String(status).slice(0, 20) });
    this.inviteTx.respond(status, { toTag: this.localTag, reason });
    this.finish('rejected', status);
  }

  redirect(target: string): void {
    if (!this.ringing) throw new IntercomError('sip.redirectNotRinging');
    const uri = target.startsWith('sip:') || target.startsWith('sips:') || target.startsWith('tel:') ? target : `sip:${target}`;
    this.inviteTx.respond(302, { toTag: this.localTag, headers: [['Contact', `<${uri}>`]] });
    this.finish('redirected', 302);
  }

  /** Only the caller cancels an inbound call (cancelledByRemote). */
  cancel(): void {
    return;
  }

  protected abandon(): void {
    this.reject(603);
  }

  /** The caller gave up (CANCEL, §9.2): 487 to the INVITE. */
  cancelledByRemote(): void {
    if (!this.ringing) return;
    this.inviteTx.respond(487, { toTag: this.localTag });
    this.emit('cancelled');
    this.finish('cancelled', 487);
  }

  /** Inbound ring time limit: 480 if nobody decides (a flow that forgot us must not hold the panel). */
  startRingTimer(ms: number): void {
    if (ms <= 0) return;
    this.timer = this.host.clock.setTimeout(() => {
      if (this.listenOnly) return; // listen mode: the caller or another phone ends it
      if (this.ringing) {
        this.inviteTx.respond(480, { toTag: this.localTag });
        this.finish('no-answer', 480);
      }
    }, ms);
  }
}
