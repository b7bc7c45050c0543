/**
 * One RTP/RTCP session (RFC 3550) on a pair of UDP ports bound to the local address.
 *
 * Symmetric RTP (RFC 4961, and the "latching" every SBC does for NAT): we send to the
 * address the peer's packets come from, not only to what its SDP says. The first valid RTP
 * packet latches the session to its source; after that, packets from any other source are
 * dropped and counted, so nobody else on the network can inject audio or DTMF into a call
 * that is up (no media hijack). Should the first sender not be the address the SDP named
 * and that address then sends, the session moves to it once (the signaled peer wins a
 * race to our port). A new SDP from signaling (re-INVITE) clears the latch.
 */
import * as dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { IntercomError } from '../core/errors';
import { createMediaSocket } from '../net/udp-lookup';
import { buildRtcpReport, buildRtp, parseRtcp, parseRtp, type RtcpPacket, type RtpPacket } from './rtp';
import { SeenWindow } from './seq-window';

export interface Endpoint {
  address: string;
  port: number;
}

export interface RtpSessionOptions {
  localAddress: string;
  /** even port range for RTP; RTCP takes the next odd port (RFC 3550 §11) */
  portMin?: number;
  portMax?: number;
  /** injected for tests; defaults to node:dgram */
  createSocket?: (type: 'udp4' | 'udp6') => dgram.Socket;
  now?: () => number;
  rtcpIntervalMs?: number;
  cname?: string;
}

export interface ReceivedInfo {
  from: Endpoint;
  /** sequence number older than the highest seen: arrived after its successors */
  late: boolean;
  arrival: number;
}

export interface RtpStats {
  received: number;
  sent: number;
  sentOctets: number;
  rejectedSource: number;
  malformed: number;
  duplicates: number;
  late: number;
  ssrcChanges: number;
  /** interarrival jitter in timestamp units (RFC 3550 A.8) */
  jitter: number;
  rtcpReceived: number;
}

/**
 * Events: 'rtp' (RtpPacket, ReceivedInfo), 'latched' (Endpoint), 'ssrc-change'
 * ({from, to}), 'rejected' ({reason, from}), 'rtcp' (RtcpPacket[]), 'error' (Error).
 */
export class RtpSession extends EventEmitter {
  readonly ssrc = randomInt(1, 0xffffffff);
  private seq = randomInt(0, 0x10000);
  private readonly tsBase = randomInt(0, 0x100000000);
  private readonly t0: number;
  private lastSentTs = -1;
  private remote?: Endpoint;
  private remoteRtcp?: Endpoint;
  private latched?: Endpoint;
  private latchedToSignaled = false;
  private remoteSsrc?: number;
  private maxSeq = -1;
  private readonly seenWindow = new SeenWindow(); // bit i = maxSeq - i was seen
  private transit?: number;
  private closed = false;
  private closing?: Promise<void>;
  private rtcpTimer?: NodeJS.Timeout;
  readonly stats: RtpStats = {
    received: 0, sent: 0, sentOctets: 0, rejectedSource: 0, malformed: 0, duplicates: 0, late: 0, ssrcChanges: 0, jitter: 0, rtcpReceived: 0,
  };

  private constructor(
    private readonly rtp: dgram.Socket,
    private readonly rtcp: dgram.Socket,
    readonly localAddress: string,
    readonly localPort: number,
    private readonly now: () => number,
    private readonly cname: string,
    rtcpIntervalMs: number,
  ) {
    super();
    this.t0 = now();
    rtp.on('message', (buf, rinfo) => this.onRtp(buf, { address: rinfo.address, port: rinfo.port }));
    rtcp.on('message', (buf, rinfo) => this.onRtcp(buf, { address: rinfo.address, port: rinfo.port }));
    // A socket error (ICMP unreachable surfaces as one on some kernels) must not crash.
    const onError = (err: Error): void => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    };
    rtp.on('error', onError);
    rtcp.on('error', onError);
    if (rtcpIntervalMs > 0) {
      this.rtcpTimer = setInterval(() => void this.sendReport(false), rtcpIntervalMs);
      this.rtcpTimer.unref();
    }
  }

  /** Bind an even RTP port and the odd RTCP port above it, both on localAddress. */
  static async open(opts: RtpSessionOptions): Promise<RtpSession> {
    const type = opts.localAddress.includes(':') ? 'udp6' : 'udp4';
    const create = opts.createSocket ?? createMediaSocket;
    // Both ports of the pair inside [portMin, portMax]: that is the range a container publishes.
    const lowest = Math.max(1024, opts.portMin ?? 16384);
    const min = lowest + (lowest % 2);
    const max = Math.min(65535, opts.portMax ?? 32766);
    if (max < min + 1) throw new IntercomError('media.emptyPortRange', { min: lowest, max });
    const pairs = Math.floor((max - 1 - min) / 2) + 1;
    for (let attempt = 0; attempt < 64; attempt++) {
      const port = min + 2 * randomInt(0, pairs);
      const a = create(type);
      const b = create(type);
      try {
        await bind(a, port, opts.localAddress);
        await bind(b, port + 1, opts.localAddress);
        return new RtpSession(a, b, opts.localAddress, port, opts.now ?? Date.now, opts.cname ?? `intercom@${opts.localAddress}`, opts.rtcpIntervalMs ?? 5000);
      } catch (err) {
        await Promise.all([closeSocket(a), closeSocket(b)]);
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
      }
    }
    throw new IntercomError('media.noFreePort', { min, max, address: opts.localAddress });
  }

  get localRtcpPort(): number {
    return this.localPort + 1;
  }

  /** Where the signaling says the peer is. Clears the latch (a re-INVITE may move media). */
  setRemote(rtp: Endpoint, rtcp?: Endpoint): void {
    this.remote = rtp;
    this.remoteRtcp = rtcp ?? { address: rtp.address, port: rtp.port + 1 };
    this.latched = undefined;
    this.latchedToSignaled = false;
  }

  /** The peer we send to: the latched source, else the signaled address. */
  get target(): Endpoint | undefined {
    return this.latched ?? this.remote;
  }

  get latchedTo(): Endpoint | undefined {
    return this.latched;
  }

  /** The media clock now: 8 kHz since the session opened, on the random base (§5.1). */
  mediaTimestamp(): number {
    return (this.tsBase + Math.round((this.now() - this.t0) * 8)) >>> 0;
  }

  /** Send one packet; timestamp is the RTP timestamp of its first sample. */
  send(payloadType: number, payload: Uint8Array, timestamp: number, marker = false): boolean {
    const to = this.target;
    if (this.closed || !to || to.port === 0 || to.address === '0.0.0.0') return false;
    const pkt = buildRtp({ payloadType, sequence: this.seq, timestamp, ssrc: this.ssrc, marker }, payload);
    this.seq = (this.seq + 1) & 0xffff;
    this.lastSentTs = timestamp;
    this.stats.sent++;
    this.stats.sentOctets += payload.length;
    // No callback: with one, every packet sent schedules a process.nextTick to report its
    // success. A datagram's send error has no one to act on it (the peer that went away
    // shows as silence, which the RTP watchdog reports); a bad address still comes as the
    // socket's 'error' event.
    this.rtp.send(pkt, to.port, to.address);
    return true;
  }

  private onRtp(buf: Buffer, from: Endpoint): void {
    if (this.closed) return;
    const pkt = parseRtp(buf);
    if (!pkt) {
      this.stats.malformed++;
      this.emit('rejected', { reason: 'malformed', from });
      return;
    }
    if (this.latched) {
      if (this.latched.address !== from.address || this.latched.port !== from.port) {
        // The address signaling gave us outranks whoever happened to send first (someone
        // racing the real peer to our port): move to it once, never away from it.
        const r = this.remote;
        if (r && !this.latchedToSignaled && r.address === from.address && r.port === from.port) {
          this.latched = from;
          this.latchedToSignaled = true;
          this.emit('latched', from);
        } else {
          this.stats.rejectedSource++;
          this.emit('rejected', { reason: 'source', from });
          return;
        }
      }
    } else {
      this.latchedToSignaled = !!this.remote && this.remote.address === from.address && this.remote.port === from.port;
      this.latched = from;
      this.emit('latched', from);
    }
    const arrival = this.now();
    if (this.remoteSsrc !== pkt.ssrc) {
      if (this.remoteSsrc !== undefined) {
        // A new source behind the same address (re-INVITE, transfer, panel restart):
        // restart sequence and jitter tracking for it (RFC 3550 §8.2).
        this.stats.ssrcChanges++;
        this.emit('ssrc-change', { from: this.remoteSsrc, to: pkt.ssrc });
      }
      this.remoteSsrc = pkt.ssrc;
      this.maxSeq = -1;
      this.seenWindow.clear();
      this.transit = undefined;
    }
    const late = this.trackSequence(pkt.sequence);
    if (late === null) {
      this.stats.duplicates++;
      return;
    }
    if (late) this.stats.late++;
    this.stats.received++;
    this.updateJitter(pkt, arrival);
    this.emit('rtp', pkt, { from, late, arrival } satisfies ReceivedInfo);
  }

  /** true = late, false = in order, null = duplicate (dropped). */
  private trackSequence(seq: number): boolean | null {
    if (this.maxSeq < 0) {
      this.maxSeq = seq;
      this.seenWindow.reset();
      return false;
    }
    const delta = (seq - this.maxSeq) & 0xffff;
    if (delta === 0) return null;
    if (delta < 0x8000) {
      // ahead (with wrap-around); big jumps just restart the window (§A.1 would probe).
      this.seenWindow.advance(delta);
      this.maxSeq = seq;
      return false;
    }
    const behind = 0x10000 - delta;
    if (behind < 64) {
      if (this.seenWindow.has(behind)) return null;
      this.seenWindow.mark(behind);
    }
    return true;
  }

  private updateJitter(pkt: RtpPacket, arrival: number): void {
    // RFC 3550 A.8, arrival time in 8 kHz units (all our codecs are 8 kHz).
    const transit = arrival * 8 - pkt.timestamp;
    if (this.transit !== undefined) {
      let d = Math.abs(transit - this.transit);
      if (d > 0x80000000) d = 0x100000000 - d;
      this.stats.jitter += (d - this.stats.jitter) / 16;
    }
    this.transit = transit;
  }

  private onRtcp(buf: Buffer, from: Endpoint): void {
    if (this.closed) return;
    // RTCP comes from the latched peer's address (port may differ behind NAT).
    if (this.latched && this.latched.address !== from.address) {
      this.stats.rejectedSource++;
      return;
    }
    const packets: RtcpPacket[] | null = parseRtcp(buf);
    if (!packets) {
      this.stats.malformed++;
      return;
    }
    this.stats.rtcpReceived++;
    this.emit('rtcp', packets);
  }

  private sendReport(bye: boolean): Promise<void> {
    const to = this.remoteRtcp;
    if (this.closed || !to || to.port === 0 || to.address === '0.0.0.0') return Promise.resolve();
    const target = this.latched ? { address: this.latched.address, port: this.latched.port + 1 } : to;
    const report = buildRtcpReport({
      ssrc: this.ssrc,
      cname: this.cname,
      sent: this.stats.sent > 0 ? { ntpMs: this.now(), rtpTimestamp: this.lastSentTs >>> 0, packets: this.stats.sent, octets: this.stats.sentOctets } : undefined,
      bye,
    });
    return new Promise((resolve) => {
      try {
        // A report is best effort: a send error is not worth an event.
        this.rtcp.send(report, target.port, target.address, () => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** The SSRC the peer sends with (after its first packet). */
  get peerSsrc(): number | undefined {
    return this.remoteSsrc;
  }

  /** Send one RTCP packet (feedback such as PLI/FIR) to the peer's RTCP port. */
  sendRtcp(packet: Buffer): void {
    const to = this.remoteRtcp;
    if (this.closed || !to || to.port === 0 || to.address === '0.0.0.0') return;
    const target = this.latched ? { address: this.latched.address, port: this.latched.port + 1 } : to;
    try {
      this.rtcp.send(packet, target.port, target.address, () => undefined);
    } catch {
      // best effort, like the reports
    }
  }

  /** Send RTCP BYE and release both ports. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.release();
    return this.closing;
  }

  private async release(): Promise<void> {
    if (this.rtcpTimer) clearInterval(this.rtcpTimer);
    // Wait for the BYE to leave before the socket goes (§6.6).
    await this.sendReport(true);
    this.closed = true;
    await Promise.all([closeSocket(this.rtp), closeSocket(this.rtcp)]);
  }
}

function bind(s: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    s.once('error', onError);
    s.bind({ port, address, exclusive: true }, () => {
      s.off('error', onError);
      resolve();
    });
  });
}

function closeSocket(s: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve(); // never bound, or already closed
    }
  });
}
