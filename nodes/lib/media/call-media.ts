/**
 * One call's real media behind the CallMedia port (port.ts): an RTP session on a port
 * pair of the account's address, the offer/answer state (negotiation.ts), the receive side
 * with its one-event-per-press DTMF (receiver.ts) and the send clock (transmitter.ts), put
 * together; plus the watchdog that tells signalling when a peer went silent.
 */
import { EventEmitter } from 'node:events';
import { IntercomError } from '../core/errors';
import { buildInfoDtmf } from './dtmf-info';
import type { Law } from './g711';
import { checkOffer, Negotiation } from './negotiation';
import type { CodecName, NegotiatedAudio } from './offer-answer';
import type { CallMedia, CallMediaContext, CallMediaEvents, MediaFactory, VideoPacket } from './port';
import { loadAudio } from './prompts';
import { MediaReceiver } from './receiver';
import type { RtpPacket } from './rtp';
import { RtpSession, type ReceivedInfo } from './rtp-session';
import { MediaTransmitter } from './transmitter';
import { buildFir, buildPli, type NegotiatedVideo, offeredVideo } from './video-negotiation';

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
  /** bridged audio of the same law and packet size leaves at once, untouched (default true) */
  directRelay?: boolean;
  /** accept (and offer) H.264 video on its own RTP port, relayed by a bridge (default false) */
  video?: boolean;
  now?: () => number;
}

export class RtpCallMedia extends EventEmitter<CallMediaEvents> implements CallMedia {
  private session?: RtpSession;
  private opening?: Promise<RtpSession>;
  private videoSession?: RtpSession;
  private videoOpening?: Promise<RtpSession>;
  private firSeq = 0;
  private lastFastUpdate = 0;
  private closed = false;
  private readonly now: () => number;
  private readonly negotiation: Negotiation;
  private readonly receiver: MediaReceiver;
  private readonly transmitter: MediaTransmitter;
  /** the watchdog fired and no RTP has come since */
  private timedOut = false;
  private timedOutRtpAt = 0;

  constructor(readonly ctx: CallMediaContext, private readonly opts: MediaOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
    const audio = (): NegotiatedAudio | undefined => this.negotiation.audio;
    const error = (err: Error): void => this.emitError(err);
    const relayOut = (payload: Buffer, law: Law): void => void this.emit('audio', payload, law);
    this.negotiation = new Negotiation(ctx.localAddress, opts.codecs);
    this.receiver = new MediaReceiver(
      { inband: opts.inband, dtmfEndTimeoutMs: opts.dtmfEndTimeoutMs, now: this.now },
      {
        audio,
        dtmf: (ev) => this.emit('dtmf', ev),
        relay: () => (this.listenerCount('audio') > 0 ? relayOut : undefined),
        rtpStart: (from) => this.emit('rtp-start', { from }),
        error,
      },
    );
    this.transmitter = new MediaTransmitter(
      { sendSilence: opts.sendSilence, dtmfDurationMs: opts.dtmfDurationMs, dtmfGapMs: opts.dtmfGapMs, directRelay: opts.directRelay ?? true, now: this.now },
      {
        audio,
        tick: () => {
          this.receiver.tick();
          this.checkTimeout();
        },
        error,
      },
    );
  }

  get negotiated(): NegotiatedAudio | undefined {
    return this.negotiation.audio;
  }

  get rtp(): RtpSession | undefined {
    return this.session;
  }

  get law(): Law | undefined {
    return this.negotiation.audio?.codec.name;
  }

  get remoteHold(): boolean {
    return this.negotiation.remoteHold;
  }

  setHold(on: boolean): void {
    this.negotiation.setHold(on);
  }

  private async ensureSession(): Promise<RtpSession> {
    if (this.closed) throw new IntercomError('media.closed');
    this.opening ??= RtpSession.open({
      localAddress: this.ctx.localAddress,
      portMin: this.opts.portMin,
      portMax: this.opts.portMax,
      now: this.now,
      rtcpIntervalMs: this.opts.rtcpIntervalMs,
    }).then((s) => {
      this.session = s;
      s.on('rtp', (pkt: RtpPacket, info: ReceivedInfo) => this.receiver.onRtp(pkt, info));
      s.on('ssrc-change', () => this.receiver.newStream());
      s.on('error', (err: Error) => this.emitError(err));
      return s;
    });
    const s = await this.opening;
    if (this.closed) throw new IntercomError('media.closed');
    return s;
  }

  async answer(remoteSdp: string): Promise<string> {
    // Read the offer before binding ports: SDP we cannot take costs no socket.
    const offer = this.negotiation.readOffer(remoteSdp);
    const session = await this.ensureSession();
    const video = this.opts.video && offeredVideo(offer) ? await this.ensureVideoSession() : undefined;
    const prev = this.negotiation.audio;
    const prevVideo = this.negotiation.video;
    const sdp = this.negotiation.answer(offer, session.localPort, video?.localPort);
    this.apply(session, prev);
    this.applyVideo(prevVideo);
    return sdp;
  }

  async offer(): Promise<string> {
    const session = await this.ensureSession();
    const video = this.opts.video ? await this.ensureVideoSession() : undefined;
    return this.negotiation.offer(session.localPort, video?.localPort);
  }

  async setRemoteAnswer(remoteSdp: string): Promise<void> {
    const session = await this.ensureSession();
    const prev = this.negotiation.audio;
    const prevVideo = this.negotiation.video;
    this.negotiation.acceptAnswer(remoteSdp);
    this.apply(session, prev);
    this.applyVideo(prevVideo);
  }

  /** The video session's counters (undefined without video). */
  get videoStats(): RtpSession['stats'] | undefined {
    return this.videoSession?.stats;
  }

  /** The H.264 stream agreed on, if any. */
  get video(): NegotiatedVideo | undefined {
    return this.negotiation.video;
  }

  get hasVideo(): boolean {
    const d = this.negotiation.video?.direction;
    return !!this.videoSession && !!d && d !== 'inactive';
  }

  /** A second RTP session for video: packets in go to a bridge as they came, never decoded. */
  private async ensureVideoSession(): Promise<RtpSession> {
    if (this.closed) throw new IntercomError('media.closed');
    this.videoOpening ??= RtpSession.open({ localAddress: this.ctx.localAddress, portMin: this.opts.portMin, portMax: this.opts.portMax, now: this.now, rtcpIntervalMs: this.opts.rtcpIntervalMs }).then((s) => {
      this.videoSession = s;
      s.on('rtp', (pkt: RtpPacket) => {
        const v = this.negotiation.video;
        if (!v || pkt.payloadType !== v.pt || this.listenerCount('video') === 0) return;
        this.emit('video', { payloadType: pkt.payloadType, marker: pkt.marker, sequence: pkt.sequence, timestamp: pkt.timestamp, payload: pkt.payload });
      });
      // A video phone asks for a keyframe with PLI (RFC 4585) or FIR (RFC 5104): pass it on.
      s.on('rtcp', (packets: Array<{ type: string; packetType?: number; fmt?: number }>) => {
        if (packets.some((p) => p.type === 'other' && p.packetType === 206 && (p.fmt === 1 || p.fmt === 4))) this.emit('keyframe-request');
      });
      s.on('error', (err: Error) => this.emitError(err));
      return s;
    });
    const s = await this.videoOpening;
    if (this.closed) throw new IntercomError('media.closed');
    return s;
  }

  private applyVideo(prev: NegotiatedVideo | undefined): void {
    const v = this.negotiation.video;
    const s = this.videoSession;
    if (!v || !s) return;
    if (!prev || prev.remoteAddress !== v.remoteAddress || prev.remotePort !== v.remotePort) s.setRemote({ address: v.remoteAddress, port: v.remotePort }, { address: v.remoteAddress, port: v.remoteRtcpPort });
  }

  /** Video from the other leg, as it came (payload, marker and timestamp untouched). */
  relayVideo(pkt: VideoPacket): void {
    const v = this.negotiation.video;
    const s = this.videoSession;
    if (!v || !s || (v.direction !== 'sendrecv' && v.direction !== 'sendonly')) return;
    s.send(v.pt, pkt.payload, pkt.timestamp, pkt.marker);
  }

  /** Ask the peer for a keyframe: PLI, and FIR for senders that only honour that. */
  requestKeyframe(): void {
    const s = this.videoSession;
    const media = s?.peerSsrc;
    if (!s || media === undefined) return;
    s.sendRtcp(buildPli(s.ssrc, media));
    s.sendRtcp(buildFir(s.ssrc, media, this.firSeq++));
    // The SIP INFO form at most every 2 s: a viewer repeats its request until it decodes.
    const now = this.now();
    if (now - this.lastFastUpdate >= 2000) {
      this.lastFastUpdate = now;
      this.emit('picture-fast-update');
    }
  }

  private apply(session: RtpSession, prev: NegotiatedAudio | undefined): void {
    const audio = this.negotiation.audio as NegotiatedAudio;
    // A re-INVITE that keeps the address (hold, session refresh) keeps the latch too.
    if (!prev || prev.remoteAddress !== audio.remoteAddress || prev.remotePort !== audio.remotePort) {
      session.setRemote({ address: audio.remoteAddress, port: audio.remotePort }, { address: audio.remoteAddress, port: audio.remoteRtcpPort });
    }
    this.receiver.negotiated(audio);
    this.transmitter.negotiated(session, audio, prev);
  }

  /** A panel that vanished without BYE: tell the SIP layer once, so it can hang up. */
  private checkTimeout(): void {
    const limit = this.opts.rtpTimeoutMs ?? 30000;
    // Only a call that is fully up: a peer holding us (its sendonly) often sends nothing.
    if (!limit || this.negotiation.audio?.direction !== 'sendrecv') return;
    const lastRtp = this.receiver.lastRtpAt;
    if (this.timedOut && lastRtp === this.timedOutRtpAt) return;
    this.timedOut = false;
    const since = lastRtp || this.transmitter.clockStart;
    if (this.now() - since >= limit) {
      this.timedOut = true;
      this.timedOutRtpAt = lastRtp;
      this.emit('rtp-timeout', { silentMs: this.now() - since });
    }
  }

  receiveInfo(contentType: string, body: string): boolean {
    return this.receiver.receiveInfo(contentType, body);
  }

  infoDtmf(digit: string, durationMs?: number): { contentType: string; body: string } {
    return buildInfoDtmf(digit, durationMs);
  }

  sendDtmf(digits: string, opts: { durationMs?: number } = {}): Promise<void> {
    return this.transmitter.sendDtmf(digits, opts);
  }

  /** Play a built-in prompt, a WAV file or a tone spec; resolves when it has been sent. */
  async play(source: string): Promise<void> {
    const pcm = await loadAudio(source, this.opts.promptDir);
    const law = this.law;
    if (!law) throw new IntercomError('media.notNegotiated');
    return this.transmitter.play(pcm, law);
  }

  stopPlayback(): void {
    this.transmitter.stopPlayback();
  }

  relayAudio(payload: Buffer, law: Law): void {
    this.transmitter.relayAudio(payload, law);
  }

  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.receiver.close();
    this.transmitter.close();
    const session = this.session ?? (this.opening ? await this.opening.catch(() => undefined) : undefined);
    const video = this.videoSession ?? (this.videoOpening ? await this.videoOpening.catch(() => undefined) : undefined);
    await Promise.all([session?.close(), video?.close()]);
    this.emit('closed');
  }
}

/** The MediaFactory the SIP account node injects: one RtpCallMedia per call. */
export interface RtpMediaFactory extends MediaFactory {
  create(ctx: CallMediaContext): RtpCallMedia;
}

export function createRtpMediaFactory(opts: MediaOptions = {}): RtpMediaFactory {
  return { create: (ctx: CallMediaContext) => new RtpCallMedia(ctx, opts), check: (sdp: string) => checkOffer(sdp, opts.codecs) };
}
