/**
 * RTP (RFC 3550 §5.1) and RTCP (RFC 3550 §6) packets. Parsing untrusted datagrams returns
 * null for anything malformed; it never throws.
 */

export interface RtpPacket {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  payload: Buffer;
}

export function parseRtp(buf: Buffer): RtpPacket | null {
  if (buf.length < 12) return null;
  const b0 = buf[0];
  if (b0 >> 6 !== 2) return null; // version 2 only
  const padding = (b0 & 0x20) !== 0;
  const extension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const b1 = buf[1];
  const payloadType = b1 & 0x7f;
  // RFC 5761 §4: 72-76 would be RTCP SR/RR/SDES/BYE/APP multiplexed on the RTP port.
  if (payloadType >= 72 && payloadType <= 76) return null;
  let offset = 12 + cc * 4;
  if (buf.length < offset) return null;
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(buf.readUInt32BE(12 + i * 4));
  if (extension) {
    // §5.3.1: 16-bit profile id, 16-bit length in 32-bit words, then the extension.
    if (buf.length < offset + 4) return null;
    const words = buf.readUInt16BE(offset + 2);
    offset += 4 + words * 4;
    if (buf.length < offset) return null;
  }
  let end = buf.length;
  if (padding) {
    const pad = buf[buf.length - 1];
    if (pad === 0 || end - pad < offset) return null;
    end -= pad;
  }
  return {
    marker: (b1 & 0x80) !== 0,
    payloadType,
    sequence: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrcs,
    payload: buf.subarray(offset, end),
  };
}

export interface RtpHeader {
  marker?: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
}

export function buildRtp(h: RtpHeader, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(12 + payload.length);
  buf[0] = 0x80;
  buf[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  buf.writeUInt16BE(h.sequence & 0xffff, 2);
  buf.writeUInt32BE(h.timestamp >>> 0, 4);
  buf.writeUInt32BE(h.ssrc >>> 0, 8);
  buf.set(payload, 12);
  return buf;
}

export type RtcpPacket =
  | { type: 'SR'; ssrc: number; ntpSec: number; ntpFrac: number; rtpTimestamp: number; packets: number; octets: number }
  | { type: 'RR'; ssrc: number }
  | { type: 'BYE'; ssrcs: number[] }
  | { type: 'other'; packetType: number; fmt: number };

/** Parse a compound RTCP packet (§6.1); null when any part of it is malformed. */
export function parseRtcp(buf: Buffer): RtcpPacket[] | null {
  const out: RtcpPacket[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 4) return null;
    const b0 = buf[off];
    if (b0 >> 6 !== 2) return null;
    const count = b0 & 0x1f;
    const pt = buf[off + 1];
    const len = (buf.readUInt16BE(off + 2) + 1) * 4;
    if (off + len > buf.length) return null;
    if (pt === 200) {
      if (len < 28) return null;
      out.push({
        type: 'SR',
        ssrc: buf.readUInt32BE(off + 4),
        ntpSec: buf.readUInt32BE(off + 8),
        ntpFrac: buf.readUInt32BE(off + 12),
        rtpTimestamp: buf.readUInt32BE(off + 16),
        packets: buf.readUInt32BE(off + 20),
        octets: buf.readUInt32BE(off + 24),
      });
    } else if (pt === 201) {
      if (len < 8) return null;
      out.push({ type: 'RR', ssrc: buf.readUInt32BE(off + 4) });
    } else if (pt === 203) {
      if (len < 4 + count * 4) return null;
      const ssrcs: number[] = [];
      for (let i = 0; i < count; i++) ssrcs.push(buf.readUInt32BE(off + 4 + i * 4));
      out.push({ type: 'BYE', ssrcs });
    } else if (pt >= 192 && pt <= 223) {
      out.push({ type: 'other', packetType: pt, fmt: count });
    } else {
      return null;
    }
    off += len;
  }
  // §6.1: a compound packet starts with SR or RR; we are lenient and only require one part.
  return out.length ? out : null;
}

/** An SR (when we sent media) or an empty RR, plus the SDES CNAME item §6.1 requires. */
export function buildRtcpReport(opts: {
  ssrc: number;
  cname: string;
  sent?: { ntpMs: number; rtpTimestamp: number; packets: number; octets: number };
  bye?: boolean;
}): Buffer {
  const parts: Buffer[] = [];
  if (opts.sent) {
    const sr = rtcpPacket(28, 0x80, 200, opts.ssrc);
    // NTP time: seconds since 1900 (§4).
    const sec = Math.floor(opts.sent.ntpMs / 1000) + 2208988800;
    sr.writeUInt32BE(sec >>> 0, 8);
    sr.writeUInt32BE(Math.floor(((opts.sent.ntpMs % 1000) / 1000) * 0x100000000) >>> 0, 12);
    sr.writeUInt32BE(opts.sent.rtpTimestamp >>> 0, 16);
    sr.writeUInt32BE(opts.sent.packets >>> 0, 20);
    sr.writeUInt32BE(opts.sent.octets >>> 0, 24);
    parts.push(sr);
  } else {
    parts.push(rtcpPacket(8, 0x80, 201, opts.ssrc));
  }
  const cname = Buffer.from(opts.cname.slice(0, 255), 'utf8');
  const itemLen = 4 + 2 + cname.length + 1; // ssrc, type+len, text, end item
  const padded = Math.ceil(itemLen / 4) * 4;
  const sdes = rtcpPacket(4 + padded, 0x81, 202, opts.ssrc);
  sdes[8] = 1; // CNAME
  sdes[9] = cname.length;
  cname.copy(sdes, 10);
  parts.push(sdes);
  if (opts.bye) parts.push(rtcpPacket(8, 0x81, 203, opts.ssrc));
  return Buffer.concat(parts);
}

/**
 * An RTCP packet of `bytes` with its common header (§6.4.1): V=2 and the count in the
 * first byte, the packet type, the length in 32-bit words minus one, the sender's SSRC.
 */
function rtcpPacket(bytes: number, first: number, type: number, ssrc: number): Buffer {
  const b = Buffer.alloc(bytes);
  b[0] = first;
  b[1] = type;
  b.writeUInt16BE(bytes / 4 - 1, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  return b;
}
