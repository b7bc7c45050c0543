/**
 * The INVITE client (UAC, RFC 3261 §13.2): a call we place. It sends the INVITE with our
 * SDP offer, answers digest challenges (challenge.ts), follows up to three redirects
 * (§8.1.3.4), turns the first 2xx into the dialog and ACKs every 2xx copy (§13.2.2.4),
 * and CANCELs (§9.1) only after a provisional response, ending with BYE when the 2xx
 * crossed the CANCEL.
 */
import { IntercomError, errorText } from '../core/errors';
import { ALLOW, Call, type CallHost, party } from './call';
import { ChallengeAnswerer, withAuth } from './challenge';
import { uacDialog } from './dialog';
import { header, type HeaderList, headerOf, nextCSeq, parseNameAddr, randomToken, type SipResponse, withHeader } from './message';
import type { ClientTransaction, RequestSpec } from './transactions';
import type { Remote } from './transport';

const MAX_REDIRECTS = 3;

export interface DialOptions {
  /** unanswered outbound calls are cancelled after this (ms) */
  noAnswerTimeoutMs?: number;
  displayName?: string;
  fromUser: string;
  fromHost: string;
  headers?: HeaderList;
  /** requests go to an outbound proxy/registrar (client mode) rather than to the target itself */
  viaProxy?: boolean;
  /**
   * the address of record the call is for, when the Request-URI is a registered Contact
   * (registrar mode: `sip:phone1@domain` while the INVITE goes to `sip:phone1-0x…@IP`):
   * To and msg.call.to name the user, not its device (RFC 3261 §8.1.1.2)
   */
  to?: string;
}

export class OutboundCall extends Call {
  private readonly spec: RequestSpec;
  private readonly viaProxy: boolean;
  private readonly challenge: ChallengeAnswerer;
  private clientTx?: ClientTransaction;
  private provisionalSeen = false;
  private cancelPending = false;
  private redirects = 0;

  constructor(host: CallHost, target: string, remote: Remote, opts: DialOptions) {
    const callId = randomToken(12) + '@' + host.localAddress;
    super(
      host,
      'outbound',
      { from: { user: opts.fromUser, display: opts.displayName ?? '', uri: `sip:${opts.fromUser}@${opts.fromHost}` }, to: party(parseNameAddr(`<${opts.to ?? target}>`)), source: `${remote.address}:${remote.port}`, headers: {} },
      callId,
      remote,
    );
    this.viaProxy = opts.viaProxy ?? false;
    this.challenge = new ChallengeAnswerer(host.credentials);
    const from = `${opts.displayName ? `"${opts.displayName.replace(/"/g, '')}" ` : ''}<sip:${opts.fromUser}@${opts.fromHost}>;tag=${this.localTag}`;
    this.spec = {
      method: 'INVITE',
      uri: target,
      remote,
      headers: [
        ['Max-Forwards', '70'],
        ['From', from],
        ['To', `<${opts.to ?? target}>`],
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
      this.timer = host.clock.setTimeout(() => {
        if (this.state === 'calling' || this.state === 'ringing' || this.state === 'early') this.cancel('no-answer');
      }, opts.noAnswerTimeoutMs);
    }
  }

  /** Make the offer and send the INVITE. */
  async start(): Promise<void> {
    try {
      this.spec.body = await this.ensureMedia().offer();
    } catch (err) {
      this.host.log.warn('sip.offerFailed', { call: this.id, detail: errorText(err) });
      this.finish('media-failed');
      return;
    }
    if (this.isEnded) return;
    this.sendInvite();
  }

  private sendInvite(): void {
    this.provisionalSeen = false;
    this.clientTx = this.host.layer.sendRequest({ ...this.spec, branch: undefined }, {
      onResponse: (res) => this.onResponse(res),
      onTimeout: () => this.finish('timeout', 408),
    });
  }

  private onResponse(res: SipResponse): void {
    if (this.isEnded && res.status < 200) return;
    if (res.status < 200) return this.onProvisional(res.status);
    if (res.status < 300) return this.onAccepted(res);
    const spec = this.spec;
    if (!this.cancelPending) {
      const auth = this.challenge.answer(res, 'INVITE', spec.uri);
      if (auth) {
        spec.headers = nextCSeq(withAuth(spec.headers, auth), 'INVITE');
        return this.sendInvite();
      }
      if ((res.status === 301 || res.status === 302) && this.redirects < MAX_REDIRECTS && this.follow(res)) return;
    }
    this.finish(this.cancelPending ? 'cancelled' : 'rejected', res.status);
  }

  private onProvisional(status: number): void {
    if (status === 100) return;
    this.provisionalSeen = true;
    if (this.cancelPending) return this.sendCancel();
    if (this.state === 'calling') this.setState('ringing');
    this.emit('progress', status);
  }

  /** A new request to the new target (RFC 3261 §8.1.3.4): direct unless a proxy carries it. */
  private follow(res: SipResponse): boolean {
    const contact = parseNameAddr(header(res, 'contact') ?? '');
    if (!contact) return false;
    const spec = this.spec;
    this.redirects++;
    spec.uri = contact.uri.toString();
    if (!this.viaProxy) spec.remote = { address: contact.uri.host, port: contact.uri.port ?? 5060, protocol: spec.remote.protocol };
    spec.headers = withHeader(nextCSeq(spec.headers, 'INVITE'), 'to', `<${spec.uri}>`);
    this.emit('redirected', spec.uri);
    this.sendInvite();
    return true;
  }

  private onAccepted(res: SipResponse): void {
    this.dialog ??= uacDialog(this.spec, res, this.localTag);
    // ACK for 2xx is its own transaction-less request (§13.2.2.4), re-sent for every 2xx copy.
    this.host.layer.sendStateless(this.inDialog('ACK', res.cseq));
    if (this.state === 'answered' || this.isEnded) {
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
      this.host.log.warn('sip.answerSdpRejected', { call: this.id, detail: errorText(err) });
      this.hangup();
    });
    this.emit('answered');
  }

  /** A 2xx retransmission arrived with no transaction left: ACK again (§13.2.2.4). */
  retransmitted2xx(res: SipResponse): void {
    if (this.dialog && res.cseqMethod === 'INVITE') this.host.layer.sendStateless(this.inDialog('ACK', res.cseq));
  }

  cancel(reason = 'cancelled'): void {
    if (this.state === 'answered' || this.isEnded) return;
    this.cancelPending = true;
    this.info.reason = reason;
    // §9.1: CANCEL only after a provisional response; until then it waits.
    if (this.provisionalSeen) this.sendCancel();
    else if (this.clientTx)
      this.host.clock.setTimeout(() => {
        if (!this.isEnded && this.state !== 'answered') this.finish(reason);
      }, 64 * this.host.layer.timers.T1);
  }

  private sendCancel(): void {
    const tx = this.clientTx;
    if (!tx) return;
    const spec = this.spec;
    const keep = ['from', 'to', 'call-id', 'route', 'max-forwards'];
    const hs: HeaderList = spec.headers.filter(([k]) => keep.includes(k.toLowerCase()));
    hs.push(['CSeq', `${headerOf(spec.headers, 'cseq').split(/\s+/)[0]} CANCEL`]);
    this.host.layer.sendRequest({ method: 'CANCEL', uri: spec.uri, headers: hs, remote: spec.remote, branch: tx.branch }, { onResponse: () => undefined, onTimeout: () => undefined });
  }

  protected abandon(): void {
    this.cancel('local-cancel');
  }

  /** An outbound call rings at the other end; nothing to send. */
  async ring(): Promise<void> {
    return;
  }

  async answer(): Promise<void> {
    throw new IntercomError('sip.answerNotInbound');
  }

  /** Only a ringing inbound call can be rejected; an outbound one is cancelled. */
  reject(): void {
    return;
  }

  redirect(): void {
    throw new IntercomError('sip.redirectNotRinging');
  }
}
