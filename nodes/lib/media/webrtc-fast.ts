/**
 * The relayed media of a browser call, once DTLS is up, on a short path of its own: RTP
 * bytes → SRTP (srtp.ts) → the ICE pair's UDP socket, and back. werift still runs ICE,
 * DTLS, consent and RTCP (video's reports, PLI, NACK, SRTCP out, the routing of RTCP in)
 * and takes every packet this path does not claim: STUN, DTLS, the first packets of a
 * stream (its demux learns which stream is the browser's audio), a stream with header
 * extensions. The browser's SRTCP is opened here and handed to werift's RTCP routing.
 *
 * What it replaces per packet is werift's RtpHeader/RtpPacket objects, header
 * re-serialization, a cipher built per packet, STUN parsing of every datagram and its
 * bandwidth bookkeeping; what it keeps true is what the RTCP reports say: a sender's
 * packet and octet counts and its RTP/NTP timestamp pair, a receiver's stream statistics
 * (its own, InboundStats, from werift's counts of the stream's first packets).
 *
 * The audio's RTCP is the path's too, on RFC 3550's 5 s interval (AUDIO_REPORT_MS).
 *
 * werift 0.24.4 internals it reads (pinned in package.json, exercised by the Chromium tests):
 * RTCDtlsTransport.srtp (local/remoteContext: masterKey, masterSalt, srtpSSRCStates),
 * dtls.srtp.srtpProfile, iceTransport.connection (nominated: protocol.transport.socket,
 * remoteAddr; canSendApplicationData), UdpTransport.onData, RTCDtlsTransport.sendRtcp and onRtcp,
 * RTCRtpSender counters and SR times (lastSRtimestamp, lastSentSRTimestamp), cname,
 * RTCRtpReceiver remoteStreams (StreamStatistics fields), lastSRtimestamp, receiveLastSRTimestamp, rtcpSsrc, and the
 * rtcpCancel of both (aborted: their report loops end).
 */
import type { RTCPeerConnection, RTCRtpReceiver, RTCRtpSender } from 'werift';
import { literalLookupOn } from '../net/udp-lookup';
import type { RtpPacket } from './rtp';
import { rtpPayloadOffset, SrtpContext, srtpProfileOf } from './srtp';

interface UdpLike {
  socket: { send(buf: Buffer, port: number, address: string): void };
  closed?: boolean;
  onData: (data: Buffer, addr: [string, number]) => void;
}
interface PairLike {
  protocol: { transport?: UdpLike };
  remoteAddr: [string, number];
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
}
interface ConnectionLike {
  nominated?: PairLike;
  canSendApplicationData?: () => boolean;
}
interface SrtpSessionLike {
  localContext: { masterKey: Buffer; masterSalt: Buffer };
  remoteContext: { masterKey: Buffer; masterSalt: Buffer; srtpSSRCStates: Record<number, { rolloverCounter: number; lastSequenceNumber: number } | undefined> };
}
interface DtlsLike {
  state: string;
  srtp?: SrtpSessionLike;
  dtls?: { srtp?: { srtpProfile?: number } };
  iceTransport: { connection: ConnectionLike };
  bytesSent: number;
  packetsSent: number;
}
interface SenderCounters {
  ssrc: number;
  packetCount: number;
  octetCount: number;
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  headerExtensions: unknown[];
  cname?: string;
  lastSRtimestamp: number;
  lastSentSRTimestamp: number;
  rtcpCancel: AbortController;
  runRtcp(): Promise<void>;
  onGenericNack: { subscribe(f: (nack: { lost: number[] }) => void): { unSubscribe(): void } };
}
/** werift's StreamStatistics of a received stream: what it counted before the path took over */
interface StreamStats {
  packets_received: number;
  base_seq?: number;
  max_seq?: number;
  cycles: number;
  jitter_q4: number;
  last_arrival?: number;
  last_timestamp?: number;
  expected_prior: number;
  received_prior: number;
}
/**
 * The browser's audio as our receiver reports describe it (RFC 3550 §6.4.1, A.3, A.8),
 * going on from what werift counted of the stream's first packets.
 */
class InboundStats {
  private received = 0;
  private baseSeq = -1;
  private maxSeq = -1;
  private cycles = 0;
  private jitterQ4 = 0;
  private lastArrival = 0;
  private lastTs = -1;
  private expectedPrior = 0;
  private receivedPrior = 0;

  constructor(from: StreamStats | undefined) {
    if (!from || from.base_seq === undefined || from.max_seq === undefined) return;
    this.received = from.packets_received;
    this.baseSeq = from.base_seq;
    this.maxSeq = from.max_seq;
    this.cycles = from.cycles;
    this.jitterQ4 = from.jitter_q4;
    this.lastArrival = from.last_arrival ?? 0;
    this.lastTs = from.last_timestamp ?? -1;
    this.expectedPrior = from.expected_prior;
    this.receivedPrior = from.received_prior;
  }

  add(seq: number, ts: number, nowMs: number): void {
    this.received++;
    if (this.baseSeq < 0) this.baseSeq = seq;
    const ahead = (seq - this.maxSeq) & 0xffff;
    if (this.maxSeq >= 0 && (ahead === 0 || ahead >= 0x8000)) return; // late or repeated: no jitter from it
    // audio is 8 kHz (G.711): arrival in timestamp units
    const arrival = Math.floor(nowMs * 8);
    if (this.maxSeq >= 0 && seq < this.maxSeq) this.cycles += 0x10000;
    this.maxSeq = seq;
    if (this.lastTs >= 0 && ts !== this.lastTs && this.received > 1) {
      const d = Math.abs(arrival - this.lastArrival - ((ts - this.lastTs) | 0));
      this.jitterQ4 += d - ((this.jitterQ4 + 8) >> 4);
    }
    this.lastArrival = arrival;
    this.lastTs = ts;
  }

  private get expected(): number {
    return this.maxSeq < 0 ? 0 : this.cycles + this.maxSeq - this.baseSeq + 1;
  }

  /** the report block's counts; fraction lost is since the last report */
  block(): { fractionLost: number; packetsLost: number; highestSequence: number; jitter: number } {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval << 8) / expectedInterval);
    return { fractionLost, packetsLost: Math.max(0, expected - this.received), highestSequence: (this.cycles + Math.max(0, this.maxSeq)) >>> 0, jitter: this.jitterQ4 >> 4 };
  }
}

interface ReceiverLike {
  rtcpSsrc: number;
  rtcpCancel: AbortController;
  remoteStreams?: Record<number, StreamStats | undefined>;
  /** the browser's last sender report per SSRC (compact NTP) and when it came (s) */
  lastSRtimestamp: Record<number, number | undefined>;
  receiveLastSRTimestamp: Record<number, number | undefined>;
}
interface DtlsRtcp {
  sendRtcp(packets: unknown[]): Promise<void>;
}

/** One received RTP packet, as the call's receiver reads it (a browser sends no CSRCs). */
export type FastRtp = RtpPacket;
/** the CSRC list of every packet from a browser: one empty list, never written to */
export const NO_CSRCS: number[] = [];

const NTP_EPOCH_OFFSET_MS = 2208988800000;
function ntpAt(unixMs: number): bigint {
  const ms = unixMs + NTP_EPOCH_OFFSET_MS;
  const sec = Math.floor(ms / 1000);
  const frac = Math.floor(((ms % 1000) / 1000) * 0x100000000);
  return (BigInt(sec) << 32n) | BigInt(frac);
}

const HISTORY = 512;
/**
 * RTCP for the audio of a call on this path: RFC 3550 §6.2's 5 s minimum, randomized by
 * 0.5-1.5 (§6.3.1), the first at half of it; libwebrtc's audio reports run at this rate too.
 * werift's loops would send a sender and a receiver report every 0.5-1.5 s each, in code
 * that runs too rarely to be optimized: a tenth of a relayed call's CPU with the reports
 * coming back. Video keeps werift's 1 s reports (a viewer's loss and keyframe feedback).
 */
const AUDIO_REPORT_MS = 5000;

/** A sender's side of the path: one SSRC, its RTCP counters kept in werift's sender. */
class FastSender {
  private readonly head = Buffer.alloc(12);
  private readonly history: (Buffer | undefined)[];
  private readonly historySeq: number[];
  started = false;
  private lastReportAt = 0;
  /** when the last packet left (ms) and its RTP timestamp: a report's NTP/RTP pair */
  lastSentAt = 0;
  lastTimestamp = 0;
  private readonly nack?: { unSubscribe(): void };

  /** video: werift's reports and NACK resends; audio: the path's own reports (ownReports) */
  constructor(private readonly path: FastMediaPath, readonly sender: SenderCounters, private readonly video: boolean) {
    this.history = video ? new Array<Buffer | undefined>(HISTORY) : [];
    this.historySeq = video ? new Array<number>(HISTORY).fill(-1) : [];
    // A viewer's NACK (RFC 4585 §6.2.1) for video it lost: the packet again, as sent.
    if (video) this.nack = sender.onGenericNack.subscribe((n) => n.lost.forEach((seq) => this.resend(seq)));
    // werift's own report loop ends at once whenever something starts it (its sendRtp does)
    else sender.rtcpCancel?.abort();
  }

  send(payloadType: number, marker: boolean, sequence: number, timestamp: number, payload: Buffer): boolean {
    const srtp = this.path.local();
    const pair = this.path.pair();
    if (!srtp || !pair) return false;
    const h = this.head;
    h[0] = 0x80;
    h[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
    h.writeUInt16BE(sequence & 0xffff, 2);
    h.writeUInt32BE(timestamp >>> 0, 4);
    h.writeUInt32BE(this.sender.ssrc >>> 0, 8);
    const sealed = srtp.seal(h, payload);
    this.path.transmit(pair, sealed);
    const s = this.sender;
    s.packetCount = (s.packetCount + 1) >>> 0;
    s.octetCount += payload.length;
    const now = Date.now();
    this.lastSentAt = now;
    this.lastTimestamp = timestamp >>> 0;
    if (!this.video) {
      if (!this.started) {
        this.started = true;
        this.path.reportsFrom(this);
      }
      return true;
    }
    // The RTP/NTP pair werift's sender report carries: taken together, a few times a second.
    if (now - this.lastReportAt >= 200) {
      this.lastReportAt = now;
      s.ntpTimestamp = ntpAt(now);
      s.rtpTimestamp = timestamp >>> 0;
    }
    if (!this.started) {
      this.started = true;
      s.runRtcp().catch(() => undefined);
    }
    if (this.history.length) {
      const slot = sequence % HISTORY;
      this.history[slot] = sealed;
      this.historySeq[slot] = sequence & 0xffff;
    }
    return true;
  }

  private resend(sequence: number): void {
    const slot = sequence % HISTORY;
    const sealed = this.history[slot];
    const pair = this.path.pair();
    if (!sealed || this.historySeq[slot] !== sequence || !pair) return;
    this.path.transmit(pair, sealed);
  }

  close(): void {
    this.nack?.unSubscribe();
  }
}

/** What the path tells its owner, packet by packet (webrtc-media.ts counts them in stats.shortPath). */
export interface FastPathEvents {
  /** the browser's audio, opened */
  audio(rtp: FastRtp): void;
  /** an SRTP or SRTCP packet of the browser's that failed authentication or replayed */
  rejected(): void;
  /** an SRTCP packet of the browser's, opened here */
  rtcpIn(): void;
  /** a compound report of the path's own sent (the audio's SR or RR, with SDES) */
  rtcpOut(): void;
}

export class FastMediaPath {
  private session?: SrtpSessionLike;
  private tx?: SrtpContext;
  private rx?: SrtpContext;
  private rxRtcp?: SrtpContext;
  private readonly wrapped = new Map<UdpLike, UdpLike['onData']>();
  private readonly senders = new Map<RTCRtpSender, FastSender>();
  private audioIn?: { ssrc: number; receiver: ReceiverLike; stats: InboundStats };
  private audioOut?: FastSender;
  private reportTimer?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly dtls: DtlsLike,
    private readonly on: FastPathEvents,
  ) {}

  /** The path for this peer connection, or undefined while DTLS is not up (or werift changed shape). */
  static open(pc: RTCPeerConnection, on: FastPathEvents): FastMediaPath | undefined {
    const dtls = pc.dtlsTransports[0] as unknown as DtlsLike | undefined;
    if (!dtls || dtls.state !== 'connected' || !dtls.srtp || !dtls.iceTransport?.connection) return undefined;
    const path = new FastMediaPath(dtls, on);
    return path.local() && path.pair() ? path : undefined;
  }

  /** Our SRTP contexts, rebuilt when werift re-keys (a DTLS renegotiation gives a new session). */
  local(): SrtpContext | undefined {
    const session = this.dtls.srtp;
    if (this.closed || this.dtls.state !== 'connected' || !session) return undefined;
    if (session !== this.session) {
      const profile = srtpProfileOf(this.dtls.dtls?.srtp?.srtpProfile ?? -1);
      if (!profile) return undefined;
      this.tx = new SrtpContext(profile, session.localContext.masterKey, session.localContext.masterSalt);
      this.rx = new SrtpContext(profile, session.remoteContext.masterKey, session.remoteContext.masterSalt);
      this.rxRtcp = new SrtpContext(profile, session.remoteContext.masterKey, session.remoteContext.masterSalt, true);
      this.session = session;
      if (this.audioIn) this.adopt(this.audioIn.ssrc);
    }
    return this.tx;
  }

  /** The ICE pair in use, with its socket, after consent allows sending (RFC 7675). */
  pair(): PairLike | undefined {
    const conn = this.dtls.iceTransport.connection;
    const pair = conn.nominated;
    const transport = pair?.protocol?.transport;
    if (!pair || !transport?.socket || transport.closed) return undefined;
    if (conn.canSendApplicationData && !conn.canSendApplicationData()) return undefined;
    if (!this.wrapped.has(transport)) this.claim(transport);
    return pair;
  }

  transmit(pair: PairLike, sealed: Buffer): void {
    (pair.protocol.transport as UdpLike).socket.send(sealed, pair.remoteAddr[1], pair.remoteAddr[0]);
    pair.packetsSent++;
    pair.bytesSent += sealed.length;
    this.dtls.packetsSent++;
    this.dtls.bytesSent += sealed.length;
  }

  /** The sender's packets take this path; false when the stream must stay on werift's. */
  sender(sender: RTCRtpSender, video: boolean): FastSender | undefined {
    const s = sender as unknown as SenderCounters;
    // Header extensions (mid, abs-send-time, transport-cc) are werift's to write.
    if (s.headerExtensions?.length) return undefined;
    let f = this.senders.get(sender);
    if (!f) {
      f = new FastSender(this, s, video);
      this.senders.set(sender, f);
    }
    return f;
  }

  /**
   * The browser's audio stream, by the SSRC werift's demux delivered it on: from the next
   * packet on, this path decrypts it, continuing werift's rollover counter, and keeps the
   * receiver's statistics (its receiver reports) counting.
   */
  claimAudio(ssrc: number, receiver: RTCRtpReceiver): void {
    if (this.audioIn?.ssrc === ssrc) return;
    const r = receiver as unknown as ReceiverLike;
    this.audioIn = { ssrc, receiver: r, stats: new InboundStats(r.remoteStreams?.[ssrc]) };
    // its receiver reports are the path's now (reportsFrom); werift's loop ends at once
    r.rtcpCancel?.abort();
    this.adopt(ssrc);
    this.scheduleReport(true);
  }

  /** The audio sender whose sender reports the path sends. */
  reportsFrom(sender: FastSender): void {
    this.audioOut = sender;
    this.scheduleReport(true);
  }

  private scheduleReport(first: boolean): void {
    if (this.closed || this.reportTimer) return;
    const interval = (first ? AUDIO_REPORT_MS / 2 : AUDIO_REPORT_MS) * (0.5 + Math.random());
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      this.report();
      this.scheduleReport(false);
    }, interval);
    this.reportTimer.unref();
  }

  /**
   * One compound RTCP packet (RFC 3550 §6.1): a sender report once our audio has gone out
   * (else a receiver report), with a block about the browser's audio, and SDES CNAME. It
   * leaves through werift's SRTCP (a few a minute: no short path needed).
   */
  private report(): void {
    if (this.closed || this.dtls.state !== 'connected') return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const w = require('werift') as typeof import('werift');
    const reports: InstanceType<typeof w.RtcpReceiverInfo>[] = [];
    const inbound = this.audioIn;
    if (inbound) {
      const nowS = Date.now() / 1000;
      const lsr = inbound.receiver.lastSRtimestamp?.[inbound.ssrc] ?? 0;
      const at = inbound.receiver.receiveLastSRTimestamp?.[inbound.ssrc];
      const delay = lsr && at !== undefined ? nowS - at : 0;
      reports.push(
        new w.RtcpReceiverInfo({
          ssrc: inbound.ssrc,
          ...inbound.stats.block(),
          lsr,
          dlsr: delay > 0 && delay < 65536 ? Math.floor(delay * 65536) : 0,
        }),
      );
    }
    const out = this.audioOut;
    const packets: unknown[] = [];
    if (out?.started) {
      const s = out.sender;
      const ntp = ntpAt(out.lastSentAt);
      packets.push(new w.RtcpSrPacket({ ssrc: s.ssrc, senderInfo: new w.RtcpSenderInfo({ ntpTimestamp: ntp, rtpTimestamp: out.lastTimestamp, packetCount: s.packetCount, octetCount: s.octetCount }), reports }));
      // what werift's sender reads to tell the round-trip time from the browser's next report
      s.lastSRtimestamp = w.compactNtp(ntp);
      s.lastSentSRTimestamp = Date.now() / 1000;
    } else if (inbound) packets.push(new w.RtcpRrPacket({ ssrc: inbound.receiver.rtcpSsrc, reports }));
    else return;
    const cname = out?.sender.cname;
    const source = out?.sender.ssrc ?? inbound?.receiver.rtcpSsrc;
    if (cname && source !== undefined) {
      packets.push(new w.RtcpSourceDescriptionPacket({ chunks: [new w.SourceDescriptionChunk({ source, items: [new w.SourceDescriptionItem({ type: 1, text: cname })] })] }));
    }
    this.on.rtcpOut();
    (this.dtls as unknown as DtlsRtcp).sendRtcp(packets).catch(() => undefined);
  }

  private adopt(ssrc: number): void {
    const st = this.session?.remoteContext.srtpSSRCStates[ssrc];
    if (st && this.rx) this.rx.adopt(ssrc, st.rolloverCounter, st.lastSequenceNumber);
  }

  private claim(transport: UdpLike): void {
    // werift sends to address literals too: no dns.lookup hop per packet (net/udp-lookup.ts)
    literalLookupOn(transport.socket as never);
    const werifts = transport.onData;
    this.wrapped.set(transport, werifts);
    transport.onData = (data, addr) => {
      if (!this.take(data, addr)) werifts(data, addr);
    };
  }

  /**
   * The datagram came from the ICE pair in use and our SRTP is keyed: counted on the pair
   * (as werift would), and ours to open. Anything else stays werift's.
   */
  private fromPair(data: Buffer, addr: [string, number]): boolean {
    const pair = this.dtls.iceTransport.connection.nominated;
    if (!pair || pair.remoteAddr[1] !== addr[1] || pair.remoteAddr[0] !== addr[0] || !this.local()) return false;
    pair.packetsReceived++;
    pair.bytesReceived += data.length;
    return true;
  }

  /** true when the datagram was the claimed stream's (delivered or dropped), false for werift */
  private take(data: Buffer, addr: [string, number]): boolean {
    if (this.closed || data.length < 12 || (data[0] & 0xc0) !== 0x80) return false;
    // RFC 5761 §4: packet types 192-223 are RTCP
    if (data[1] >= 192 && data[1] <= 223) return this.takeRtcp(data, addr);
    const inbound = this.audioIn;
    if (!inbound) return false;
    if (data.readUInt32BE(8) !== inbound.ssrc || !this.fromPair(data, addr) || !this.rx) return false;
    const plain = this.rx.unprotect(data);
    if (!plain) {
      this.on.rejected();
      return true;
    }
    const off = rtpPayloadOffset(plain);
    if (off < 0) return true;
    const pkt: FastRtp = { marker: (plain[1] & 0x80) !== 0, payloadType: plain[1] & 0x7f, sequence: plain.readUInt16BE(2), timestamp: plain.readUInt32BE(4), ssrc: inbound.ssrc, csrcs: NO_CSRCS, payload: plain.subarray(off) };
    inbound.stats.add(pkt.sequence, pkt.timestamp, Date.now());
    this.on.audio(pkt);
    return true;
  }

  /**
   * The browser's SRTCP (its reports, PLI, FIR, NACK): opened here, with replay protection
   * werift's SRTCP does not have, and handed to werift's RTCP routing as its own SRTCP
   * would have been, without the trip through STUN parsing and werift's decryption.
   */
  private takeRtcp(data: Buffer, addr: [string, number]): boolean {
    if (!this.fromPair(data, addr) || !this.rxRtcp) return false;
    const plain = this.rxRtcp.unprotectRtcp(data);
    if (!plain) {
      this.on.rejected();
      return true;
    }
    this.on.rtcpIn();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { RtcpPacketConverter } = require('werift') as typeof import('werift');
    let packets: unknown[];
    try {
      packets = RtcpPacketConverter.deSerialize(plain);
    } catch {
      return true; // authentic but malformed: dropped, as werift drops it
    }
    const route = (this.dtls as unknown as { onRtcp: { execute(p: unknown): void } }).onRtcp;
    for (const p of packets) {
      try {
        route.execute(p);
      } catch {
        // one packet's handler failing does not stop the others (werift logs and goes on)
      }
    }
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reportTimer) clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    for (const [transport, werifts] of this.wrapped) transport.onData = werifts;
    this.wrapped.clear();
    for (const s of this.senders.values()) s.close();
    this.senders.clear();
  }
}
