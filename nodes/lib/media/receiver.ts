/**
 * The receive side of one call's media: RTP packets in, key presses and audio out. Audio
 * goes through the reorder buffer (in sequence order) to the in-band detector and to
 * whoever relays it; RFC 4733 events go to their decoder; SIP INFO bodies come in from the
 * SIP layer. One press is reported once whichever way, or ways, it came: a panel set to
 * "RFC 2833 + in-band", or INFO + RFC 4733, sends the same key twice.
 */
import { parseInfoDtmf } from './dtmf-info';
import { decode, type Law } from './g711';
import { InbandDtmfDetector } from './inband-dtmf';
import type { NegotiatedAudio } from './offer-answer';
import type { DtmfEvent, DtmfMethod } from './port';
import { ReorderBuffer } from './reorder';
import { Rfc4733Decoder } from './rfc4733';
import type { RtpPacket } from './rtp';
import type { Endpoint, ReceivedInfo } from './rtp-session';

/** A press seen by one method is not reported again by another within this window. */
const CROSS_METHOD_WINDOW_MS = 600;

export interface ReceiverOptions {
  /** in-band detection: 'auto' = until the peer shows it sends RFC 4733 events */
  inband?: 'auto' | 'on' | 'off';
  /** close a press whose RFC 4733 end packets were all lost after this long (ms) */
  dtmfEndTimeoutMs?: number;
  now: () => number;
}

export interface ReceiverHooks {
  /** what both ends agreed on now (it changes with re-INVITEs and hold) */
  audio(): NegotiatedAudio | undefined;
  dtmf(ev: DtmfEvent): void;
  /** undefined when nobody relays the audio, so nothing is copied for nobody */
  relay(): ((payload: Buffer, law: Law) => void) | undefined;
  rtpStart(from: Endpoint): void;
  error(err: Error): void;
}

export class MediaReceiver {
  /** when the last RTP packet arrived (0 = none since the clock started) */
  lastRtpAt = 0;
  private started = false;
  private readonly decoder: Rfc4733Decoder;
  private readonly inband: InbandDtmfDetector;
  private readonly reorder = new ReorderBuffer<Buffer>((p) => this.onAudio(p));
  private inbandActive: boolean;
  private lastDigit?: { digit: string; method: DtmfMethod; at: number };
  private pcm = new Int16Array(0);

  constructor(private readonly opts: ReceiverOptions, private readonly hooks: ReceiverHooks) {
    this.decoder = new Rfc4733Decoder((d) => this.report(d.digit, 'rfc4733', d.durationMs), { now: opts.now, endTimeoutMs: opts.dtmfEndTimeoutMs });
    this.inband = new InbandDtmfDetector((d) => this.report(d.digit, 'inband'));
    this.inbandActive = (opts.inband ?? 'auto') !== 'off';
  }

  /** A new agreement: a peer without telephone-event can only send keys as tones. */
  negotiated(audio: NegotiatedAudio): void {
    if ((this.opts.inband ?? 'auto') === 'auto' && audio.telephoneEvent === undefined) this.inbandActive = true;
  }

  onRtp(pkt: RtpPacket, info: ReceivedInfo): void {
    try {
      const audio = this.hooks.audio();
      if (!audio) return;
      this.lastRtpAt = this.opts.now();
      if (!this.started) {
        this.started = true;
        this.hooks.rtpStart(info.from);
      }
      if (audio.telephoneEvent !== undefined && pkt.payloadType === audio.telephoneEvent) {
        // The peer sends RFC 4733: in 'auto' mode its audio may carry the same tones.
        if ((this.opts.inband ?? 'auto') === 'auto') this.inbandActive = false;
        this.decoder.push(pkt.ssrc, pkt.timestamp, pkt.payload);
        return;
      }
      if (pkt.payloadType !== audio.codec.pt) return;
      this.decoder.tick();
      this.reorder.push(pkt.sequence, pkt.payload);
    } catch (err) {
      this.hooks.error(err as Error);
    }
  }

  /** The sender changed its SSRC (a new stream): nothing buffered belongs to it. */
  newStream(): void {
    this.reorder.reset();
    this.inband.reset();
  }

  /** Called every packet time: closes presses whose end packets never came. */
  tick(): void {
    this.decoder.tick();
  }

  /** SIP INFO DTMF (the SIP layer passes Content-Type and body). true when it was a digit. */
  receiveInfo(contentType: unknown, body: unknown): boolean {
    const r = parseInfoDtmf(contentType, body);
    if (r.ok) this.report(r.digit, 'info', r.durationMs);
    return r.ok;
  }

  close(): void {
    this.decoder.flush();
  }

  /** Audio in sequence order (after the reorder buffer). */
  private onAudio(payload: Buffer): void {
    const audio = this.hooks.audio();
    if (!audio) return;
    if (this.inbandActive) {
      // One linear buffer per call, decoded into every packet (the detector copies what it keeps).
      if (this.pcm.length !== payload.length) this.pcm = new Int16Array(payload.length);
      this.inband.push(decode(audio.codec.name, payload, this.pcm));
    }
    this.hooks.relay()?.(payload, audio.codec.name);
  }

  private report(digit: string, method: DtmfMethod, durationMs?: number): void {
    const at = this.opts.now();
    const last = this.lastDigit;
    // One press, two methods: the first report wins.
    if (last && last.method !== method && last.digit === digit && at - last.at < CROSS_METHOD_WINDOW_MS) return;
    this.lastDigit = { digit, method, at };
    const ev: DtmfEvent = { digit, method, at };
    if (durationMs !== undefined) ev.durationMs = durationMs;
    this.hooks.dtmf(ev);
  }
}
