/**
 * One call's media with a browser, behind the same CallMedia port as RTP (port.ts): ICE,
 * DTLS-SRTP and RTCP by werift (pure TypeScript WebRTC), and on top of it the same receive
 * side (one event per key press, RFC 4733 from the browser's keypad) and send clock
 * (prompts, ring-back, RFC 4733 to the browser) as an RTP leg. A bridge to the panel's leg
 * relays G.711 straight through (transmitter `directRelay`), and H.264 video packets as
 * they came (werift only rewrites SSRC, payload type, sequence and timestamp offsets).
 *
 * werift 0.24 traps this file works around (found by trying): its answer is recvonly
 * unless the transceiver is set to sendrecv after setRemoteDescription; in the answerer
 * the track exists right after setRemoteDescription (onTrack fired inside it); it matches
 * codecs by mime type only (so the remote SDP is trimmed first, webrtc-sdp.ts); it drops
 * RTP of payload types it was not configured for (telephone-event is configured); its
 * sendRtp forces the sender's codec payload type (RFC 4733 packets swap it for their send);
 * it does not re-packetize (video over ~1200 bytes would exceed the MTU after SRTP).
 *
 * Once DTLS is up, the relayed RTP both ways leaves werift's per-packet path for a short
 * one of ours (webrtc-fast.ts: SRTP on the ICE pair's socket); werift keeps the rest.
 */
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import type { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RTCRtpSender, RTCRtpTransceiver, RtpPacket as WeriftRtp } from 'werift';
import { IntercomError } from '../core/errors';
import { buildInfoDtmf } from './dtmf-info';
import type { CodecName, NegotiatedAudio } from './offer-answer';
import type { CallMedia, CallMediaContext, CallMediaEvents, VideoPacket } from './port';
import { NotAcceptableHere } from './port';
import { loadAudio } from './prompts';
import { MediaReceiver } from './receiver';
import { MediaTransmitter, type MediaSink } from './transmitter';
import type { ReceivedInfo } from './rtp-session';
import { FastMediaPath, NO_CSRCS, type FastRtp } from './webrtc-fast';
import { trimWebRtcSdp } from './webrtc-sdp';

type Werift = typeof import('werift');
let werift: Werift | undefined;
/** werift is loaded on the first browser call: Node-RED starts no slower for it. */
function lib(): Werift {
  // A lazy require, not an import: werift takes ~0.6 s to load and most accounts never see a browser.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  werift ??= require('werift') as Werift;
  return werift;
}

export interface WebRtcMediaOptions {
  /** UDP range for ICE (default: the OS picks) */
  portMin?: number;
  portMax?: number;
  /** host candidates beyond the interfaces werift finds (the account's address, loopback in tests) */
  hostAddresses?: string[];
  /** offer and accept H.264 video (passthrough from the panel or the door's camera) */
  video?: boolean;
  /** ICE gathering before the SDP leaves (SIP has no trickle here), ms */
  gatherTimeoutMs?: number;
  rtpTimeoutMs?: number;
  dtmfDurationMs?: number;
  dtmfGapMs?: number;
  promptDir?: string;
  now?: () => number;
  /** relay RTP on our own SRTP path once DTLS is up (default true; false keeps every packet on werift's) */
  fastPath?: boolean;
}

export interface WebRtcStats {
  audioIn: number;
  audioOut: number;
  videoIn: number;
  videoOut: number;
  keyframeRequests: number;
  /** of those, the packets our short path carried (webrtc-fast.ts), the SRTP/SRTCP it refused, the browser's SRTCP it opened, the reports it sent */
  shortPath: { audioIn: number; audioOut: number; videoOut: number; rejected: number; rtcpIn: number; rtcpOut: number };
}

type ShortSender = { send(pt: number, marker: boolean, seq: number, ts: number, payload: Buffer): boolean };

/** The media clock and the one sequence of an audio sender, for the transmitter. */
class WeriftAudioSink implements MediaSink {
  private seq = randomInt(0, 0x10000);
  private readonly tsBase = randomInt(0, 0x7fffffff);
  private short?: ShortSender;
  private readonly t0: number;
  constructor(
    private readonly sender: RTCRtpSender,
    private readonly te: RTCRtpCodecParameters | undefined,
    private readonly now: () => number,
    private readonly count: (short: boolean) => void,
    private readonly fast: () => ShortSender | undefined,
  ) {
    this.t0 = now();
  }
  mediaTimestamp(): number {
    return (this.tsBase + Math.round((this.now() - this.t0) * 8)) >>> 0;
  }
  send(payloadType: number, payload: Uint8Array, timestamp: number, marker = false): boolean {
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    // found once DTLS is up, then kept: it says itself when it cannot send (and werift's path takes over)
    this.short ??= this.fast();
    if (this.short?.send(payloadType, marker, this.seq, timestamp, body)) {
      this.seq = (this.seq + 1) & 0xffff;
      this.count(true);
      return true;
    }
    const { RtpHeader, RtpPacket } = lib();
    const header = new RtpHeader({ payloadType, sequenceNumber: this.seq, timestamp, marker, ssrc: this.sender.ssrc });
    this.seq = (this.seq + 1) & 0xffff;
    const pkt = new RtpPacket(header, body);
    const audioCodec = this.sender.codec;
    // sendRtp writes the sender's codec PT into the header before its first await: an
    // RFC 4733 packet swaps in telephone-event for that synchronous part, and back.
    if (this.te && payloadType === this.te.payloadType && audioCodec) this.sender.codec = this.te;
    try {
      this.sender.sendRtp(pkt).catch(() => undefined);
    } finally {
      if (audioCodec) this.sender.codec = audioCodec;
    }
    this.count(false);
    return true;
  }
}

const AUDIO_CODECS = (w: Werift): RTCRtpCodecParameters[] => [
  new w.RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0 }),
  new w.RTCRtpCodecParameters({ mimeType: 'audio/PCMA', clockRate: 8000, channels: 1, payloadType: 8 }),
  new w.RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 8000, channels: 1, payloadType: 101, parameters: '0-16' }),
];
const VIDEO_CODECS = (w: Werift): RTCRtpCodecParameters[] => [
  new w.RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90000,
    payloadType: 102,
    parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
  }),
];

export type WebRtcMediaEvents = CallMediaEvents;

export class WebRtcCallMedia extends EventEmitter<WebRtcMediaEvents> implements CallMedia {
  readonly webrtc = true;
  readonly stats: WebRtcStats = { audioIn: 0, audioOut: 0, videoIn: 0, videoOut: 0, keyframeRequests: 0, shortPath: { audioIn: 0, audioOut: 0, videoOut: 0, rejected: 0, rtcpIn: 0, rtcpOut: 0 } };
  private pc?: RTCPeerConnection;
  private audioTx?: RTCRtpTransceiver;
  private videoTx?: RTCRtpTransceiver;
  private audio?: NegotiatedAudio;
  private readonly receiver: MediaReceiver;
  private readonly transmitter: MediaTransmitter;
  private readonly now: () => number;
  private closed = false;
  private timedOut = false;
  private wired = new Set<MediaStreamTrack>();
  private videoSsrc?: number;
  private hold = false;
  private fast?: FastMediaPath;
  private videoShort?: ShortSender;
  private readonly rxInfo: ReceivedInfo = { from: { address: '', port: 0 }, late: false, arrival: 0 };

  constructor(readonly ctx: CallMediaContext, private readonly opts: WebRtcMediaOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
    this.receiver = new MediaReceiver(
      { inband: 'off', now: this.now },
      {
        audio: () => this.audio,
        dtmf: (ev) => this.emit('dtmf', ev),
        relay: () => (this.listenerCount('audio') > 0 ? (p, law) => void this.emit('audio', p, law) : undefined),
        rtpStart: (from) => this.emit('rtp-start', { from }),
        error: (err) => this.emitError(err),
      },
    );
    this.transmitter = new MediaTransmitter(
      { directRelay: true, dtmfDurationMs: opts.dtmfDurationMs, dtmfGapMs: opts.dtmfGapMs, now: this.now },
      {
        audio: () => this.audio,
        tick: () => {
          this.receiver.tick();
          this.checkTimeout();
        },
        error: (err) => this.emitError(err),
      },
    );
  }

  get law(): CodecName | undefined {
    return this.audio?.codec.name;
  }
  get remoteHold(): boolean {
    return this.audio?.direction === 'recvonly' || this.audio?.direction === 'inactive';
  }
  /** the video stream is up both ways (a browser that sends and takes H.264) */
  get hasVideo(): boolean {
    return !!this.videoTx && this.videoTx.currentDirection !== 'inactive' && !!this.videoTx.sender.codec;
  }
  setHold(on: boolean): void {
    this.hold = on;
  }

  private peer(): RTCPeerConnection {
    if (this.closed) throw new IntercomError('media.closed');
    if (this.pc) return this.pc;
    const w = lib();
    const range = this.opts.portMin && this.opts.portMax ? ([this.opts.portMin, this.opts.portMax] as [number, number]) : undefined;
    const pc = new w.RTCPeerConnection({
      codecs: { audio: AUDIO_CODECS(w), video: this.opts.video ? VIDEO_CODECS(w) : [] },
      // werift's default is a public STUN server: a door talks on its own network.
      iceServers: [],
      iceAdditionalHostAddresses: this.opts.hostAddresses?.filter((a) => a && a !== '0.0.0.0' && a !== '::'),
      icePortRange: range,
      iceUseIpv6: false,
      // One transport for audio and video (browsers all bundle): werift 0.24 never closes the
      // video transport a bundled answer replaces, so 'balanced' leaked a UDP socket per call.
      bundlePolicy: 'max-bundle',
    });
    pc.connectionStateChange.subscribe((state) => {
      // DTLS or ICE gave up (the page's network went away): the call is over.
      if ((state === 'failed' || state === 'closed') && !this.closed) this.peerGone();
    });
    this.pc = pc;
    return pc;
  }

  private peerGone(): void {
    if (this.timedOut || this.closed) return;
    this.timedOut = true;
    this.emit('rtp-timeout', { silentMs: this.receiver.lastRtpAt ? this.now() - this.receiver.lastRtpAt : 0 });
  }

  private async gathered(pc: RTCPeerConnection): Promise<string> {
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.gatherTimeoutMs ?? 3000);
        const { unSubscribe } = pc.iceGatheringStateChange.subscribe((s) => {
          if (s !== 'complete') return;
          clearTimeout(t);
          unSubscribe();
          resolve();
        });
      });
    }
    if (this.closed) throw new IntercomError('media.closed');
    const sdp = pc.localDescription?.sdp;
    if (!sdp) throw new IntercomError('media.notNegotiated');
    return sdp;
  }

  async offer(): Promise<string> {
    const pc = this.peer();
    if (!this.audioTx) {
      this.audioTx = pc.addTransceiver('audio', { direction: 'sendrecv' });
      this.wire(this.audioTx);
      if (this.opts.video) {
        this.videoTx = pc.addTransceiver('video', { direction: 'sendrecv' });
        this.wire(this.videoTx);
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    return this.gathered(pc);
  }

  async setRemoteAnswer(remoteSdp: string): Promise<void> {
    const pc = this.peer();
    const { sdp } = trimWebRtcSdp(remoteSdp, { video: !!this.opts.video });
    await pc.setRemoteDescription({ type: 'answer', sdp });
    this.negotiated(sdp);
  }

  async answer(remoteSdp: string): Promise<string> {
    // Read the offer before anything binds: SDP we cannot take costs no socket.
    const { sdp } = trimWebRtcSdp(remoteSdp, { video: !!this.opts.video });
    const pc = this.peer();
    await pc.setRemoteDescription({ type: 'offer', sdp });
    for (const tx of pc.getTransceivers()) {
      if (tx.kind === 'audio' && !this.audioTx) this.audioTx = tx;
      if (tx.kind === 'video' && !this.videoTx && this.opts.video) this.videoTx = tx;
      if (tx === this.audioTx || tx === this.videoTx) {
        tx.setDirection(this.hold ? 'sendonly' : 'sendrecv');
        this.wire(tx);
      }
    }
    if (!this.audioTx) throw new NotAcceptableHere('media.noCommonCodec');
    await pc.setLocalDescription(await pc.createAnswer());
    const local = await this.gathered(pc);
    this.negotiated(sdp);
    return local;
  }

  /** What both ends agreed: werift's negotiated codecs, the direction the remote SDP asked. */
  private negotiated(remoteSdp: string): void {
    const tx = this.audioTx;
    if (!tx) throw new NotAcceptableHere('media.noCommonCodec');
    const codec = tx.sender.codec ?? tx.codecs.find((c) => /^audio\/pcm[ua]$/i.test(c.mimeType));
    if (!codec || !/^audio\/pcm[ua]$/i.test(codec.mimeType)) throw new NotAcceptableHere('media.noCommonCodec');
    const te = tx.codecs.find((c) => /telephone-event/i.test(c.mimeType) && c.clockRate === 8000);
    const audioSection = /^m=audio[\s\S]*?(?=^m=|(?![\s\S]))/m.exec(remoteSdp)?.[0] ?? '';
    const remoteDir = /^a=(sendrecv|sendonly|recvonly|inactive)$/m.exec(audioSection)?.[1] ?? 'sendrecv';
    const direction = remoteDir === 'sendonly' ? 'recvonly' : remoteDir === 'recvonly' ? 'sendonly' : remoteDir === 'inactive' ? 'inactive' : this.hold ? 'sendonly' : 'sendrecv';
    const name = codec.mimeType.slice(6).toUpperCase() as CodecName;
    const first = !this.audio;
    this.audio = { codec: { name, pt: codec.payloadType }, telephoneEvent: te?.payloadType, remoteAddress: '', remotePort: 0, remoteRtcpPort: 0, ptime: 20, direction };
    this.receiver.negotiated(this.audio);
    if (first) this.transmitter.negotiated(new WeriftAudioSink(tx.sender, te, this.now, (short) => {
          this.stats.audioOut++;
          if (short) this.stats.shortPath.audioOut++;
        }, () => this.fastPath()?.sender(tx.sender, false)), this.audio, undefined);
    if (this.videoTx && first) this.watchKeyframeRequests(this.videoTx);
  }

  /**
   * The viewer asks for a keyframe (PLI, RFC 4585 §6.3.1; FIR, RFC 5104 §4.3.1): the bridge
   * passes it on to the panel. werift routes a PLI by its *sender* SSRC first, which is often
   * the browser's audio stream, so its own onPictureLossIndication never fires: every RTCP
   * packet of the connection is looked at for feedback about our video SSRC.
   */
  private watchKeyframeRequests(video: RTCRtpTransceiver): void {
    const pc = this.pc;
    if (!pc) return;
    const ours = video.sender.ssrc;
    let last = 0;
    const look = (p: { type: number; feedback?: { count?: number; mediaSsrc?: number; senderSsrc?: number } }): void => {
      if (p.type !== 206 || !p.feedback || (p.feedback.count !== 1 && p.feedback.count !== 4)) return;
      if (p.feedback.count === 1 && p.feedback.mediaSsrc !== ours) return;
      // A browser repeats PLI every few hundred ms until it decodes: one request per 500 ms is plenty.
      const now = this.now();
      if (now - last < 500) return;
      last = now;
      this.stats.keyframeRequests++;
      this.emit('keyframe-request');
    };
    for (const tx of pc.getTransceivers()) {
      tx.receiver.onRtcp.subscribe((p) => look(p as never));
      tx.sender.onRtcp.subscribe((p) => look(p as never));
    }
  }

  private wire(tx: RTCRtpTransceiver): void {
    const hook = (track: MediaStreamTrack): void => {
      if (this.wired.has(track)) return;
      this.wired.add(track);
      track.onReceiveRtp.subscribe((rtp: WeriftRtp) => {
        try {
          if (this.closed) return;
          if (tx === this.videoTx) {
            this.stats.videoIn++;
            this.videoSsrc = rtp.header.ssrc;
            this.emit('video', { payloadType: rtp.header.payloadType, marker: rtp.header.marker, sequence: rtp.header.sequenceNumber, timestamp: rtp.header.timestamp, payload: rtp.payload });
            return;
          }
          const h = rtp.header;
          // werift's demux found the browser's audio: its next packets take the short path.
          if (!h.extensions.length) this.fastPath()?.claimAudio(h.ssrc, tx.receiver);
          this.audioIn({ marker: h.marker, payloadType: h.payloadType, sequence: h.sequenceNumber, timestamp: h.timestamp, ssrc: h.ssrc, csrcs: NO_CSRCS, payload: rtp.payload });
        } catch (err) {
          this.emitError(err as Error);
        }
      });
    };
    const t = tx.receiver.track as MediaStreamTrack | undefined;
    if (t) hook(t);
    tx.onTrack.subscribe((track) => hook(track));
  }

  private audioIn(rtp: FastRtp): void {
    this.stats.audioIn++;
    // One info for every packet: the receiver reads only where the first one came from,
    // and a browser's address is the ICE pair's, not the receiver's business.
    this.receiver.onRtp(rtp, this.rxInfo);
  }

  /** The short path once DTLS is up (undefined before, or when it is turned off). */
  private fastPath(): FastMediaPath | undefined {
    if (this.fast || this.closed || this.opts.fastPath === false || !this.pc || this.pc.connectionState !== 'connected') return this.fast;
    const short = this.stats.shortPath;
    this.fast = FastMediaPath.open(this.pc, {
      audio: (rtp) => {
        try {
          if (this.closed) return;
          short.audioIn++;
          this.audioIn(rtp);
        } catch (err) {
          this.emitError(err as Error);
        }
      },
      rejected: () => short.rejected++,
      rtcpIn: () => short.rtcpIn++,
      rtcpOut: () => short.rtcpOut++,
    });
    return this.fast;
  }

  /** Video from the other leg (the panel, the door camera), sent as it came. */
  relayVideo(pkt: VideoPacket): void {
    const tx = this.videoTx;
    if (!tx || this.closed || !tx.sender.codec) return;
    this.videoShort ??= this.fastPath()?.sender(tx.sender, true);
    if (this.videoShort?.send(tx.sender.codec.payloadType, pkt.marker, pkt.sequence, pkt.timestamp, pkt.payload)) {
      this.stats.videoOut++;
      this.stats.shortPath.videoOut++;
      return;
    }
    const { RtpHeader, RtpPacket } = lib();
    const header = new RtpHeader({ payloadType: tx.sender.codec.payloadType, marker: pkt.marker, sequenceNumber: pkt.sequence, timestamp: pkt.timestamp, ssrc: tx.sender.ssrc });
    this.stats.videoOut++;
    tx.sender.sendRtp(new RtpPacket(header, pkt.payload)).catch(() => undefined);
  }

  /** Ask the browser for a keyframe (RTCP PLI, RFC 4585 §6.3.1). */
  requestKeyframe(): void {
    const tx = this.videoTx;
    if (!tx || this.videoSsrc === undefined || this.closed) return;
    tx.receiver.sendRtcpPLI(this.videoSsrc).catch(() => undefined);
  }

  private checkTimeout(): void {
    const limit = this.opts.rtpTimeoutMs ?? 30000;
    if (!limit || this.audio?.direction !== 'sendrecv' || this.timedOut) return;
    const since = this.receiver.lastRtpAt || this.transmitter.clockStart;
    if (this.now() - since >= limit) this.peerGone();
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
  async play(source: string): Promise<void> {
    const pcm = await loadAudio(source, this.opts.promptDir);
    const law = this.law;
    if (!law) throw new IntercomError('media.notNegotiated');
    return this.transmitter.play(pcm, law);
  }
  stopPlayback(): void {
    this.transmitter.stopPlayback();
  }
  relayAudio(payload: Buffer, law: CodecName): void {
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
    this.fast?.close();
    const pc = this.pc;
    this.pc = undefined;
    // Every ICE socket is released before the call counts as ended (a redeploy finds them free).
    if (pc) await pc.close().catch(() => undefined);
    this.emit('closed');
  }
}
