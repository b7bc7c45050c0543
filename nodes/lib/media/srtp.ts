/**
 * SRTP for the bridged streams of a browser call (RFC 3711 AES_CM_128_HMAC_SHA1_80,
 * RFC 7714 AEAD_AES_128_GCM): one packet's bytes in, one packet's bytes out.
 *
 * werift keeps ICE, DTLS and RTCP; once DTLS has given the keys, the relayed RTP takes
 * this path instead of werift's per-packet one (an RtpHeader and an RtpPacket object, a
 * header re-serialized, an AES cipher built per packet, bandwidth bookkeeping), which cost
 * the gateway about ten times what a bare UDP relay costs per packet. Here the counter-mode
 * keystream comes from one AES-ECB object kept for the stream's life (AES-CM's, and GCM's in
 * gcm.ts, which has no cipher to build per packet either), and the buffers a packet needs
 * are allocated once.
 *
 * Receiving checks the authentication tag before anything reads the payload, and drops a
 * replay (an index already seen, or older than the 64-packet window, RFC 3711 §3.3.2).
 */
import { IntercomError } from '../core/errors';
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual, type Cipher } from 'node:crypto';
import { AesGcm128, GCM_TAG_BYTES } from './gcm';
import { SeenWindow } from './seq-window';

export type SrtpProfile = 'AES_CM_128_HMAC_SHA1_80' | 'AEAD_AES_128_GCM';

/** DTLS-SRTP protection profile numbers (RFC 5764 §4.1.2, RFC 7714 §14.2) */
export function srtpProfileOf(id: number): SrtpProfile | undefined {
  if (id === 0x0001) return 'AES_CM_128_HMAC_SHA1_80';
  if (id === 0x0007) return 'AEAD_AES_128_GCM';
  return undefined;
}

/**
 * Up to this many payload bytes GCM runs in gcm.ts (an audio packet: 3.8 against 5.1 µs);
 * above it OpenSSL's, whose GHASH has the CPU's carry-less multiply (a 1200-byte video
 * packet: 6.7 against 13.6 µs in JS), at the price of a cipher built per packet.
 */
const GCM_JS_MAX = 320;
const CM_TAG = 10;
const WINDOW = 64;

export interface SessionKeys {
  key: Buffer;
  /** 14 bytes for AES-CM, 12 for GCM */
  salt: Buffer;
  /** the HMAC-SHA1 key (AES-CM only) */
  auth: Buffer;
}

/**
 * The SRTP key derivation (RFC 3711 §4.3.1, key_derivation_rate 0), for the RTP labels
 * 0, 1, 2, or SRTCP's 3, 4, 5.
 */
export function deriveSrtpKeys(profile: SrtpProfile, masterKey: Buffer, masterSalt: Buffer, rtcp = false): SessionKeys {
  if (masterKey.length !== 16) throw new IntercomError('media.srtpKey', { length: masterKey.length });
  const salt = Buffer.alloc(14);
  masterSalt.copy(salt, 0, 0, Math.min(14, masterSalt.length));
  const ecb = createCipheriv('aes-128-ecb', masterKey, null);
  ecb.setAutoPadding(false);
  const prf = (label: number, bytes: number): Buffer => {
    // x = label‖index/kdr XORed into the salt's low bytes (index/kdr is 0), the IV is x·2^16
    const blocks = Math.ceil(bytes / 16);
    const input = Buffer.alloc(blocks * 16);
    for (let b = 0; b < blocks; b++) {
      const iv = input.subarray(b * 16, b * 16 + 16);
      salt.copy(iv, 0);
      iv[7] ^= label;
      iv.writeUInt16BE(b, 14);
    }
    return ecb.update(input).subarray(0, bytes);
  };
  const gcm = profile === 'AEAD_AES_128_GCM';
  const l = rtcp ? 3 : 0;
  return { key: prf(l, 16), auth: gcm ? Buffer.alloc(0) : prf(l + 1, 20), salt: prf(l + 2, gcm ? 12 : 14) };
}

/** Where an RTP packet's payload starts (after CSRCs and a header extension), or -1. */
export function rtpPayloadOffset(pkt: Buffer, end = pkt.length): number {
  if (end < 12 || (pkt[0] & 0xc0) !== 0x80) return -1;
  let off = 12 + (pkt[0] & 0x0f) * 4;
  if (pkt[0] & 0x10) {
    if (off + 4 > end) return -1;
    off += 4 + pkt.readUInt16BE(off + 2) * 4;
  }
  return off <= end ? off : -1;
}

/** One direction of one SSRC's SRTP: the rollover counter and the replay window live here. */
class StreamState {
  roc = 0;
  /** highest sequence number seen (s_l), -1 before the first packet */
  sl = -1;
  /** index of the highest packet, and a bit per packet below it (bit 0 = highest) */
  top = -1;
  readonly seen = new SeenWindow();
}

/** SRTCP's replay state of one sender SSRC (RFC 3711 §3.3.2 applies to the SRTCP index too) */
class RtcpState {
  top = -1;
  readonly seen = new SeenWindow();
}

export class SrtpContext {
  readonly profile: SrtpProfile;
  private readonly keys: SessionKeys;
  private readonly ecb?: Cipher;
  private readonly gcm?: AesGcm128;
  private readonly gcmNonce = Buffer.alloc(12);
  private readonly streams = new Map<number, StreamState>();
  private readonly iv = Buffer.alloc(16);
  private readonly rocBytes = Buffer.alloc(4);
  private ctr = Buffer.alloc(0);

  private readonly rtcpStates = new Map<number, RtcpState>();
  private rtcpAad = Buffer.alloc(0);

  /** rtcp: the context opens SRTCP (its own keys, labels 3-5) instead of SRTP */
  constructor(profile: SrtpProfile, masterKey: Buffer, masterSalt: Buffer, readonly rtcp = false) {
    this.profile = profile;
    this.keys = deriveSrtpKeys(profile, masterKey, masterSalt, rtcp);
    if (profile === 'AES_CM_128_HMAC_SHA1_80') {
      this.ecb = createCipheriv('aes-128-ecb', this.keys.key, null);
      this.ecb.setAutoPadding(false);
    } else this.gcm = new AesGcm128(this.keys.key);
  }

  get tagLength(): number {
    return this.profile === 'AEAD_AES_128_GCM' ? GCM_TAG_BYTES : CM_TAG;
  }

  private stream(ssrc: number): StreamState {
    let s = this.streams.get(ssrc);
    if (!s) {
      s = new StreamState();
      this.streams.set(ssrc, s);
    }
    return s;
  }

  /**
   * Carry a stream's state over from another implementation (werift's, which decrypted
   * the stream's first packets): its rollover counter and highest sequence number.
   */
  adopt(ssrc: number, roc: number, lastSequence: number): void {
    const s = this.stream(ssrc);
    s.roc = roc >>> 0;
    s.sl = lastSequence & 0xffff;
    s.top = s.roc * 0x10000 + s.sl;
    s.seen.reset();
  }

  /** Protect one RTP packet (header and payload as plain bytes): a new buffer, the tag appended. */
  protect(rtp: Buffer): Buffer {
    const off = rtpPayloadOffset(rtp);
    if (off < 0) throw new IntercomError('media.notRtp');
    return this.seal(rtp.subarray(0, off), rtp.subarray(off));
  }

  /**
   * The same for a header and a payload kept apart (a relay's packet): they meet only in
   * the sealed buffer, so the packet is not put together once more to be copied again.
   */
  seal(head: Buffer, payload: Buffer): Buffer {
    if (rtpPayloadOffset(head) !== head.length) throw new IntercomError('media.notRtp');
    const off = head.length;
    const ssrc = head.readUInt32BE(8);
    const seq = head.readUInt16BE(2);
    const s = this.stream(ssrc);
    // The sender's sequence: a step forward past 65535 is a wrap; a late packet from
    // before the wrap (relayed video arrives out of order) keeps the previous counter.
    let roc = s.roc;
    if (s.sl < 0) s.sl = seq;
    else if (((seq - s.sl) & 0xffff) < 0x8000) {
      if (seq < s.sl) s.roc = roc = (s.roc + 1) >>> 0;
      s.sl = seq;
    } else if (seq > s.sl && s.roc > 0) roc = s.roc - 1;
    const end = off + payload.length;
    const out = Buffer.allocUnsafe(end + this.tagLength);
    head.copy(out, 0);
    if (this.gcm) {
      // RFC 7714 §5: the header is the associated data, the payload is encrypted, the tag follows
      const iv = this.gcmIv(ssrc, roc, seq);
      if (payload.length <= GCM_JS_MAX) {
        this.gcm.encrypt(iv, out, 0, off, payload, 0, payload.length, out, off);
        return out;
      }
      const c = createCipheriv('aes-128-gcm', this.keys.key, iv);
      c.setAAD(head);
      const n = c.update(payload).copy(out, off);
      c.final();
      c.getAuthTag().copy(out, off + n);
      return out;
    }
    this.cmXor(payload, 0, payload.length, out, off, ssrc, roc, seq);
    this.cmTag(out, end, roc).copy(out, end, 0, CM_TAG);
    return out;
  }

  /** Check and decrypt one SRTP packet: the plain RTP packet, or undefined (forged, replayed, malformed). */
  unprotect(srtp: Buffer): Buffer | undefined {
    const end = srtp.length - this.tagLength;
    const off = rtpPayloadOffset(srtp, end);
    if (off < 0) return undefined;
    const ssrc = srtp.readUInt32BE(8);
    const seq = srtp.readUInt16BE(2);
    const s = this.stream(ssrc);
    // RFC 3711 Appendix A: the ROC this packet most likely belongs to.
    let roc = s.roc;
    if (s.sl >= 0) {
      if (s.sl < 0x8000) {
        if (seq - s.sl > 0x8000) {
          if (s.roc === 0) return undefined; // from before the stream began
          roc = s.roc - 1;
        }
      } else if (s.sl - 0x8000 > seq) roc = (s.roc + 1) >>> 0;
    }
    const index = roc * 0x10000 + seq;
    if (s.top >= 0) {
      if (index <= s.top - WINDOW) return undefined;
      if (index <= s.top && s.seen.has(s.top - index)) return undefined;
    }
    const out = Buffer.allocUnsafe(end);
    if (this.gcm) {
      const iv = this.gcmIv(ssrc, roc, seq);
      if (end - off <= GCM_JS_MAX) {
        if (!this.gcm.decrypt(iv, srtp, 0, off, srtp, off, end, out, off)) return undefined;
      } else {
        try {
          const d = createDecipheriv('aes-128-gcm', this.keys.key, iv);
          d.setAAD(srtp.subarray(0, off));
          d.setAuthTag(srtp.subarray(end));
          d.update(srtp.subarray(off, end)).copy(out, off);
          d.final();
        } catch {
          return undefined;
        }
      }
      srtp.copy(out, 0, 0, off);
    } else {
      const tag = this.cmTag(srtp, end, roc);
      if (!timingSafeEqual(tag.subarray(0, CM_TAG), srtp.subarray(end))) return undefined;
      srtp.copy(out, 0, 0, off);
      this.cmXor(srtp, off, end - off, out, off, ssrc, roc, seq);
    }
    // Authentic: only now does it move the stream's state.
    if (index > s.top) {
      if (s.top < 0) s.seen.reset();
      else s.seen.advance(index - s.top);
      s.top = index;
    } else s.seen.mark(s.top - index);
    if (s.sl < 0 || roc > s.roc || (roc === s.roc && seq > s.sl)) {
      s.roc = roc;
      s.sl = seq;
    }
    return out;
  }

  /**
   * Check and decrypt one SRTCP packet (RFC 3711 §3.4; RFC 7714 §9 for GCM): the plain
   * compound RTCP packet, or undefined (forged, replayed, malformed). A context made with
   * rtcp = true only.
   */
  unprotectRtcp(srtcp: Buffer): Buffer | undefined {
    if (!this.rtcp) throw new IntercomError('media.notRtp');
    const gcm = this.profile === 'AEAD_AES_128_GCM';
    const tagLen = this.tagLength;
    // header (8) ‖ encrypted part ‖ GCM: tag ‖ E+index; AES-CM: E+index ‖ tag
    if (srtcp.length < 8 + 4 + tagLen || (srtcp[0] & 0xc0) !== 0x80) return undefined;
    const idxOff = gcm ? srtcp.length - 4 : srtcp.length - tagLen - 4;
    const word = srtcp.readUInt32BE(idxOff);
    const encrypted = word >>> 31 === 1;
    const index = word & 0x7fffffff;
    const ssrc = srtcp.readUInt32BE(4);
    let st = this.rtcpStates.get(ssrc);
    if (st && st.top >= 0) {
      if (index <= st.top - WINDOW) return undefined;
      if (index <= st.top && st.seen.has(st.top - index)) return undefined;
    }
    const bodyEnd = gcm ? idxOff - tagLen : idxOff;
    const out = Buffer.allocUnsafe(bodyEnd);
    if (gcm) {
      // RFC 7714 §9.1: 00 00 ‖ SSRC ‖ 00 00 ‖ 0+index, XORed with the salt; §9.2: the
      // associated data is the header (or all of an unencrypted packet) ‖ E+index
      const iv = this.gcmNonce;
      iv.writeUInt16BE(0, 0);
      iv.writeUInt32BE(ssrc, 2);
      iv.writeUInt16BE(0, 6);
      iv.writeUInt32BE(index, 8);
      for (let i = 0; i < 12; i++) iv[i] ^= this.keys.salt[i];
      const clear = encrypted ? 8 : bodyEnd;
      if (this.rtcpAad.length < clear + 4) this.rtcpAad = Buffer.alloc(clear + 64);
      const aad = this.rtcpAad;
      srtcp.copy(aad, 0, 0, clear);
      srtcp.copy(aad, clear, idxOff, idxOff + 4);
      if (!(this.gcm as AesGcm128).decrypt(iv, aad, 0, clear + 4, srtcp, clear, bodyEnd, out, clear)) return undefined;
      srtcp.copy(out, 0, 0, clear);
    } else {
      const tag = createHmac('sha1', this.keys.auth).update(srtcp.subarray(0, srtcp.length - tagLen)).digest();
      if (!timingSafeEqual(tag.subarray(0, CM_TAG), srtcp.subarray(srtcp.length - tagLen))) return undefined;
      srtcp.copy(out, 0, 0, encrypted ? 8 : bodyEnd);
      // the SRTCP index stands where SRTP's 48-bit packet index does (ROC ‖ SEQ)
      if (encrypted) this.cmXor(srtcp, 8, bodyEnd - 8, out, 8, ssrc, index >>> 16, index & 0xffff);
    }
    if (!st) {
      st = new RtcpState();
      this.rtcpStates.set(ssrc, st);
    }
    if (index > st.top) {
      if (st.top < 0) st.seen.reset();
      else st.seen.advance(index - st.top);
      st.top = index;
    } else st.seen.mark(st.top - index);
    return out;
  }

  /** RFC 7714 §8.1: 00 00 ‖ SSRC ‖ ROC ‖ SEQ, XORed with the session salt (one buffer, rewritten per packet) */
  private gcmIv(ssrc: number, roc: number, seq: number): Buffer {
    const iv = this.gcmNonce;
    iv.writeUInt16BE(0, 0);
    iv.writeUInt32BE(ssrc, 2);
    iv.writeUInt32BE(roc, 6);
    iv.writeUInt16BE(seq, 10);
    for (let i = 0; i < 12; i++) iv[i] ^= this.keys.salt[i];
    return iv;
  }

  /** RFC 3711 §4.1.1: payload XOR AES(k_e, (k_s·2^16) ⊕ (SSRC·2^64) ⊕ (i·2^16) + block) */
  private cmXor(src: Buffer, from: number, len: number, dst: Buffer, at: number, ssrc: number, roc: number, seq: number): void {
    if (len <= 0) return;
    const blocks = Math.ceil(len / 16);
    const iv = this.iv;
    this.keys.salt.copy(iv, 0);
    iv[14] = 0;
    iv[15] = 0;
    iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ roc) >>> 0, 8);
    iv.writeUInt16BE(iv.readUInt16BE(12) ^ seq, 12);
    if (this.ctr.length < blocks * 16) this.ctr = Buffer.alloc(blocks * 16 + 256);
    const ctr = this.ctr;
    for (let b = 0; b < blocks; b++) {
      iv.copy(ctr, b * 16);
      ctr.writeUInt16BE(b, b * 16 + 14);
    }
    const ks = (this.ecb as Cipher).update(ctr.subarray(0, blocks * 16));
    for (let i = 0; i < len; i++) dst[at + i] = src[from + i] ^ ks[i];
  }

  /** RFC 3711 §4.2: HMAC-SHA1(k_a, packet ‖ ROC) */
  private cmTag(pkt: Buffer, end: number, roc: number): Buffer {
    this.rocBytes.writeUInt32BE(roc, 0);
    return createHmac('sha1', this.keys.auth).update(pkt.subarray(0, end)).update(this.rocBytes).digest();
  }
}
