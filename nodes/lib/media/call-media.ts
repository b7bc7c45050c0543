/**
 * One call's media, behind the CallMedia port that SIP signaling drives
 * (nodes/lib/sip/media-port.ts): offer/answer, the RTP session, DTMF in by RFC 4733,
 * SIP INFO and in-band tones (one event per key press whichever way it came), DTMF out by
 * RFC 4733 (or in-band tones when the peer has no telephone-event), prompt playback, and
 * the audio tap a bridge uses.
 *
 * Sending runs on one clock per call: every ptime ms one packet leaves, taken from (in this
 * order) a DTMF event in progress, the prompt playing, bridged audio, or silence, so the
 * RTP timestamps advance exactly by ptime and stay continuous across all of them.
 */
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { NotAcceptableHere, type CallMedia, type CallMediaContext, type DtmfEvent, type DtmfMethod, type MediaFactory } from '../sip/media-port';
import { parseInfoDtmf } from './dtmf-info';
import { decode, encode, SILENCE, transcode, type Law } from './g711';
import { InbandDtmfDetector } from './inband-dtmf';
import { acceptAnswer, answerOffer, createOffer, type CodecName, type NegotiatedAudio } from './offer-answer';
import { loadAudio } from './prompts';
import { ReorderBuffer } from './reorder';
import { eventPackets, Rfc4733Decoder } from './rfc4733';
import { RtpSession, type ReceivedInfo } from './rtp-session';
import type { RtpPacket } from './rtp';
import { buildSdp, parseSdp, SdpError, type SessionDescription } from './sdp';
import { dtmfTone } from './tones';

export interface MediaOptions {
  portMin?: number;
  portMax?: number;
  codecs?: CodecName[];
  /** in-band detection: 'auto' = until the peer shows it sends RFC 4733 events */
  inband?: 'auto' | 'on' | 'off';
  /** send silence when there is nothing else to send (keeps NAT bindings and panels happy) */
  sendSilence?: boolean;
  promptDir?: string;
  /** default press length for sendDtmf (ms) and the gap between digits */
  dtmfDurationMs?: number;
  dtmfGapMs?: number;
  rtcpIntervalMs?: number;
  /** close a press whose RFC 4733 end packets were all lost after this long (ms) */
  dtmfEndTimeoutMs?: number;
  /** emit 'rtp-timeout' once when no RTP arrived for this long while we expect it (0 = off) */
  rtpTimeoutMs?: number;
  now?: () => number;
}

/** A press seen by one method is not reported again by another within this window. */
const CROSS_METHOD_WINDOW_MS = 600;
const MAX_RELAY_BYTES = 8 * 200; // 200 ms of bridged audio, then the oldest is dropped

type TxItem = { kind: 'event'; payload: Buffer; marker: boolean; tsOffset: number; first: boolean; done?: () => void } | { kind: 'audio'; pcm: Int16Array; done?: () => void };

export class RtpCallMedia extends EventEmitter implements CallMedia {
  private session?: RtpSession;
  private opening?: Promise<RtpSession>;
  private audio?: NegotiatedAudio;
  private localOffer?: SessionDescription;
  private version = 0;
  private readonly sessionId = String(randomInt(1, 2 ** 31));
  private rtpStarted = false;
  private lastRtpAt = 0;
  private timedOut = false;
  private hold = false;
  private closed = false;
  private readonly decoder: Rfc4733Decoder;
  private readonly inband: InbandDtmfDetector;
  private readonly reorder = new ReorderBuffer<Buffer>((p) => this.onAudio(p));
  private inbandActive: boolean;
  private lastDigit?: { digit: string; method: DtmfMethod; at: number };
  private readonly now: () => number;
  // transmit side
  private timer?: NodeJS.Timeout;
  private tick = 0;
  private tickStart = 0;
  private tsBase = 0;
  private readonly txQueue: TxItem[] = [];
  private eventTs = 0;
  private prompt?: { bytes: Buffer; pos: number; done: () => void };
  private relay: Buffer[] = [];
  private relayBytes = 0; // unread bytes in `relay`
  private relayOffset = 0;

  constructor(readonly ctx: CallMediaContext, private readonly opts: MediaOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
    this.decoder = new Rfc4733Decoder((d) => this.report(d.digit, 'rfc4733', d.durationMs), { now: this.now, endTimeoutMs: opts.dtmfEndTimeoutMs });
    this.inband = new InbandDtmfDetector((d) => this.report(d.digit, 'inband'));
    this.inbandActive = (opts.inband ?? 'auto') !== 'off';
  }

  get negotiated(): NegotiatedAudio | undefined {
    return this.audio;
  }

  get rtp(): RtpSession | undefined {
    return this.session;
  }

  get law(): Law | undefined {
    return this.audio?.codec.name;
  }

  private local(): { address: string; rtpPort: number; sessionId: string; sessionVersion: number; codecs?: CodecName[]; hold: boolean } {
    return { address: this.ctx.localAddress, rtpPort: this.session!.localPort, sessionId: this.sessionId, sessionVersion: ++this.version, codecs: this.opts.codecs, hold: this.hold };
  }

  /**
   * Put the call on hold from our side (RFC 3264 §8.4): the next offer() is sendonly and
   * the next answer() at most sendonly, so the peer stops sending while we may still play
   * a prompt or tone to it. The SIP layer then sends the re-INVITE with offer().
   */
  setHold(on: boolean): void {
    this.hold = on;
    if (this.audio && on) {
      const d = this.audio.direction;
      this.audio = { ...this.audio, direction: d === 'sendrecv' ? 'sendonly' : d === 'recvonly' ? 'inactive' : d };
    }
  }

  private async ensureSession(): Promise<RtpSession> {
    if (this.closed) throw new Error('call media is closed');
    this.opening ??= RtpSession.open({
      localAddress: this.ctx.localAddress,
      portMin: this.opts.portMin,
      portMax: this.opts.portMax,
      now: this.now,
      rtcpIntervalMs: this.opts.rtcpIntervalMs,
    }).then((s) => {
      this.session = s;
      s.on('rtp', (pkt: RtpPacket, info: ReceivedInfo) => this.onRtp(pkt, info));
      s.on('ssrc-change', () => {
        this.reorder.reset();
        this.inband.reset();
      });
      s.on('error', (err: Error) => this.emitError(err));
      return s;
    });
    const s = await this.opening;
    if (this.closed) throw new Error('call media is closed');
    return s;
  }

  private parse(remoteSdp: string): SessionDescription {
    try {
      return parseSdp(remoteSdp);
    } catch (err) {
      // Undecodable SDP is as unacceptable as SDP without a common codec: 488.
      if (err instanceof SdpError) throw Object.assign(new NotAcceptableHere(`malformed SDP: ${err.message}`), { cause: err });
      throw err;
    }
  }

  async answer(remoteSdp: string): Promise<string> {
    const offer = this.parse(remoteSdp);
    const session = await this.ensureSession();
    const { answer, audio } = answerOffer(offer, this.local());
    this.apply(session, audio);
    return buildSdp(answer);
  }

  async offer(): Promise<string> {
    await this.ensureSession();
    this.localOffer = createOffer(this.local());
    return buildSdp(this.localOffer);
  }

  async setRemoteAnswer(remoteSdp: string): Promise<void> {
    if (!this.localOffer) throw new Error('setRemoteAnswer without offer()');
    const answer = this.parse(remoteSdp);
    const session = await this.ensureSession();
    this.apply(session, acceptAnswer(this.localOffer, answer));
  }

  private apply(session: RtpSession, audio: NegotiatedAudio): void {
    const prev = this.audio;
    this.audio = audio;
    // A re-INVITE that keeps the address (hold, session refresh) keeps the latch too.
    if (!prev || prev.remoteAddress !== audio.remoteAddress || prev.remotePort !== audio.remotePort) {
      session.setRemote({ address: audio.remoteAddress, port: audio.remotePort }, { address: audio.remoteAddress, port: audio.remoteRtcpPort });
    }
    if ((this.opts.inband ?? 'auto') === 'auto' && audio.telephoneEvent === undefined) this.inbandActive = true;
    if (prev && prev.ptime !== audio.ptime && this.timer) {
      // New packetisation (re-INVITE): restart the tick count from the timestamp reached,
      // so timestamps stay continuous and the next packet is not scheduled in the past/future.
      this.tsBase = (this.tsBase + this.tick * prev.ptime * 8) >>> 0;
      this.tickStart = this.now();
      this.tick = 0;
    }
    this.startClock(session);
  }

  private canSend(): boolean {
    const d = this.audio?.direction;
    return d === 'sendrecv' || d === 'sendonly';
  }

  // ---- receive -------------------------------------------------------------------------

  private onRtp(pkt: RtpPacket, info: ReceivedInfo): void {
    try {
      const audio = this.audio;
      if (!audio) return;
      this.lastRtpAt = this.now();
      this.timedOut = false;
      if (!this.rtpStarted) {
        this.rtpStarted = true;
        this.emit('rtp-start', { from: info.from });
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
      this.emitError(err as Error);
    }
  }

  /** Audio in sequence order (after the reorder buffer). */
  private onAudio(payload: Buffer): void {
    const audio = this.audio;
    if (!audio) return;
    if (this.inbandActive) this.inband.push(decode(audio.codec.name, payload));
    if (this.listenerCount('audio') > 0) this.emit('audio', payload, audio.codec.name);
  }

  /** SIP INFO DTMF (the SIP layer passes Content-Type and body). true when it was a digit. */
  receiveInfo(contentType: unknown, body: unknown): boolean {
    const r = parseInfoDtmf(contentType, body);
    if (r.ok) this.report(r.digit, 'info', r.durationMs);
    return r.ok;
  }

  private report(digit: string, method: DtmfMethod, durationMs?: number): void {
    const at = this.now();
    const last = this.lastDigit;
    // One press, two methods (a panel set to "RFC 2833 + in-band", or INFO + RFC 4733):
    // the first report wins.
    if (last && last.method !== method && last.digit === digit && at - last.at < CROSS_METHOD_WINDOW_MS) return;
    this.lastDigit = { digit, method, at };
    const ev: DtmfEvent = { digit, method, at };
    if (durationMs !== undefined) ev.durationMs = durationMs;
    this.emit('dtmf', ev);
  }

  // ---- transmit ------------------------------------------------------------------------

  private get ptime(): number {
    return this.audio?.ptime ?? 20;
  }

  private startClock(session: RtpSession): void {
    if (this.timer || this.closed) return;
    this.tick = 0;
    this.tickStart = this.now();
    this.lastRtpAt = 0;
    this.tsBase = session.mediaTimestamp();
    this.schedule();
  }

  private schedule(): void {
    const due = this.tickStart + this.tick * this.ptime;
    this.timer = setTimeout(() => this.onTick(), Math.max(0, due - this.now()));
  }

  private onTick(): void {
    this.timer = undefined;
    if (this.closed) return;
    try {
      const behind = Math.floor((this.now() - this.tickStart) / this.ptime) - this.tick;
      // After a stall (GC, a busy event loop) skip ahead rather than burst packets.
      if (behind > 5) this.tick += behind;
      this.sendOne();
      this.decoder.tick();
      this.checkTimeout();
    } catch (err) {
      this.emitError(err as Error);
    }
    this.tick++;
    this.schedule();
  }

  /** A panel that vanished without BYE: tell the SIP layer once, so it can hang up. */
  private checkTimeout(): void {
    const limit = this.opts.rtpTimeoutMs ?? 30000;
    // Only a call that is fully up: a peer holding us (its sendonly) often sends nothing.
    if (!limit || this.timedOut || this.audio?.direction !== 'sendrecv') return;
    const since = this.lastRtpAt || this.tickStart;
    if (this.now() - since >= limit) {
      this.timedOut = true;
      this.emit('rtp-timeout', { silentMs: this.now() - since });
    }
  }

  private sendOne(): void {
    const session = this.session;
    const audio = this.audio;
    if (!session || !audio) return;
    const samples = this.ptime * 8;
    const ts = (this.tsBase + this.tick * samples) >>> 0;
    const send = this.canSend();
    const item = this.txQueue.shift();
    if (item?.kind === 'event') {
      // RFC 4733 §2.5.1.1: every packet of a press carries the press's start timestamp.
      if (item.first) this.eventTs = ts;
      if (send && audio.telephoneEvent !== undefined) session.send(audio.telephoneEvent, item.payload, (this.eventTs + item.tsOffset) >>> 0, item.marker);
      item.done?.();
      return;
    }
    let payload: Buffer | undefined;
    if (item?.kind === 'audio') {
      payload = encode(audio.codec.name, item.pcm);
      item.done?.();
    } else if (this.prompt) {
      const p = this.prompt;
      payload = Buffer.alloc(samples, SILENCE[audio.codec.name]);
      p.bytes.copy(payload, 0, p.pos, p.pos + samples);
      p.pos += samples;
      if (p.pos >= p.bytes.length) {
        this.prompt = undefined;
        p.done();
      }
    } else if (this.relayBytes > 0) {
      payload = this.takeRelay(samples, SILENCE[audio.codec.name]);
    } else if (this.opts.sendSilence !== false) {
      payload = Buffer.alloc(samples, SILENCE[audio.codec.name]);
    }
    if (payload && send) session.send(audio.codec.pt, payload, ts);
  }

  /** Send digits by RFC 4733, or as in-band tones when the peer has no telephone-event. */
  async sendDtmf(digits: string, opts: { durationMs?: number } = {}): Promise<void> {
    if (typeof digits !== 'string' || !/^[0-9*#A-Da-d]{1,32}$/.test(digits)) throw new Error(`not DTMF digits: ${JSON.stringify(digits)}`);
    const audio = this.audio;
    if (!audio || !this.session) throw new Error('no media negotiated yet');
    if (!this.canSend()) throw new Error(`cannot send DTMF while the stream is ${audio.direction}`);
    const duration = Math.min(Math.max(opts.durationMs ?? this.opts.dtmfDurationMs ?? 100, 40), 5000);
    const gapTicks = Math.max(1, Math.round((this.opts.dtmfGapMs ?? 80) / this.ptime));
    const silence = new Int16Array(this.ptime * 8);
    let last!: Promise<void>;
    for (const digit of digits.toUpperCase()) {
      if (audio.telephoneEvent !== undefined) {
        const packets = eventPackets(digit, duration, this.ptime);
        packets.forEach((p, i) => this.txQueue.push({ kind: 'event', payload: p.payload, marker: p.marker, tsOffset: p.timestampOffset, first: i === 0 }));
      } else {
        const tone = dtmfTone(digit, duration);
        const n = this.ptime * 8;
        for (let i = 0; i < tone.length; i += n) {
          const frame = new Int16Array(n);
          frame.set(tone.subarray(i, i + n));
          this.txQueue.push({ kind: 'audio', pcm: frame });
        }
      }
      for (let g = 0; g < gapTicks; g++) this.txQueue.push({ kind: 'audio', pcm: silence });
      last = new Promise<void>((resolve) => {
        (this.txQueue[this.txQueue.length - 1] as TxItem).done = resolve;
      });
    }
    await last;
  }

  /** Play a built-in prompt, a WAV file or a tone spec; resolves when it has been sent. */
  async play(source: string): Promise<void> {
    const pcm = await loadAudio(source, this.opts.promptDir);
    const audio = this.audio;
    if (!audio) throw new Error('no media negotiated yet');
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.prompt?.done(); // a new prompt replaces the one playing
      this.prompt = { bytes: encode(audio.codec.name, pcm), pos: 0, done: resolve };
    });
  }

  stopPlayback(): void {
    const p = this.prompt;
    this.prompt = undefined;
    p?.done();
  }

  /** Queue audio from the other leg of a bridge (already in `law`); it is re-packetised here. */
  relayAudio(payload: Buffer, law: Law): void {
    const mine = this.audio?.codec.name;
    if (!mine || this.closed) return;
    const bytes = law === mine ? payload : transcode(law, mine, payload);
    this.relay.push(bytes);
    this.relayBytes += bytes.length;
    // Bound the latency a bridge can build up: drop the oldest audio beyond 200 ms.
    while (this.relayBytes > MAX_RELAY_BYTES && this.relay.length > 1) {
      const dropped = this.relay.shift()!;
      this.relayBytes -= dropped.length - this.relayOffset;
      this.relayOffset = 0;
    }
  }

  private takeRelay(n: number, fill: number): Buffer {
    const out = Buffer.alloc(n, fill);
    let w = 0;
    while (w < n && this.relay.length) {
      const head = this.relay[0];
      const take = Math.min(n - w, head.length - this.relayOffset);
      head.copy(out, w, this.relayOffset, this.relayOffset + take);
      w += take;
      this.relayOffset += take;
      this.relayBytes -= take;
      if (this.relayOffset >= head.length) {
        this.relay.shift();
        this.relayOffset = 0;
      }
    }
    return out;
  }

  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.decoder.flush();
    this.stopPlayback();
    for (const item of this.txQueue.splice(0)) item.done?.();
    const session = this.session ?? (this.opening ? await this.opening.catch(() => undefined) : undefined);
    await session?.close();
    this.emit('closed');
  }
}

/** The MediaFactory the SIP account injects: one RtpCallMedia per call. */
export interface RtpMediaFactory extends MediaFactory {
  create(ctx: CallMediaContext): RtpCallMedia;
}

export function createRtpMediaFactory(opts: MediaOptions = {}): RtpMediaFactory {
  return { create: (ctx: CallMediaContext) => new RtpCallMedia(ctx, opts) };
}
