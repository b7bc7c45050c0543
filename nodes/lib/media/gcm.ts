/**
 * AES-128-GCM (NIST SP 800-38D) for SRTP's AEAD_AES_128_GCM (RFC 7714), per packet without
 * building a cipher: node:crypto has no way to give a GCM cipher a new IV, so every packet
 * cost a createCipheriv (its JS object, its OpenSSL context, setAAD, final, getAuthTag), about
 * a tenth of a relayed browser call's CPU. Here one AES-ECB object per key makes the counter
 * blocks' keystream (OpenSSL's AES, one call per packet), and GHASH runs in JS on tables
 * made once per key (Shoup's 8-bit table, 4 KiB: a call's packets come 20 ms apart, and
 * a table per byte position, 64 KiB, was faster alone but slower in a gateway, out of cache).
 *
 * Checked against OpenSSL's aes-128-gcm in test/unit/media-gcm.test.ts. The tables are
 * indexed by data (like OpenSSL's own table GHASH when it has no carry-less multiply);
 * the tag comparison is constant-time.
 */
import { createCipheriv, type Cipher } from 'node:crypto';

/** R[b]: what the byte shifted out of a multiply by x^8 folds back into the top word (x^128 = x^7 + x^2 + x + 1) */
const R = new Int32Array(256);
for (let b = 0; b < 256; b++) {
  let w0 = 0;
  let low = b;
  for (let i = 0; i < 8; i++) {
    const out = low & 1;
    low >>>= 1;
    w0 >>>= 1;
    if (out) w0 ^= 0xe1000000;
  }
  R[b] = w0 | 0;
}

export const GCM_TAG_BYTES = 16;

export class AesGcm128 {
  private readonly ecb: Cipher;
  /** M[4b..4b+3]: (b at byte 0)·H in four big-endian words (4 KiB per key: it stays in cache) */
  private readonly m = new Int32Array(256 * 4);
  private ctr = Buffer.alloc(16 * 96);
  private readonly y = new Int32Array(4);

  constructor(key: Buffer) {
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
    const h = this.ecb.update(Buffer.alloc(16));
    // H·x^k for k = 0..7 at the entries of the single bits (0x80 is x^0), the rest their sums.
    let v0 = h.readInt32BE(0);
    let v1 = h.readInt32BE(4);
    let v2 = h.readInt32BE(8);
    let v3 = h.readInt32BE(12);
    const m = this.m;
    for (let bit = 0x80; bit >= 1; bit >>= 1) {
      m[bit * 4] = v0;
      m[bit * 4 + 1] = v1;
      m[bit * 4 + 2] = v2;
      m[bit * 4 + 3] = v3;
      const carry = v3 & 1;
      v3 = (v3 >>> 1) | (v2 << 31);
      v2 = (v2 >>> 1) | (v1 << 31);
      v1 = (v1 >>> 1) | (v0 << 31);
      v0 = (v0 >>> 1) ^ (carry ? 0xe1000000 : 0);
    }
    for (let b = 2; b < 256; b++) {
      const hi = 1 << (31 - Math.clz32(b));
      if (hi === b) continue;
      const r = b ^ hi;
      for (let k = 0; k < 4; k++) m[b * 4 + k] = m[hi * 4 + k] ^ m[r * 4 + k];
    }
  }

  /** y = (y ⊕ block)·H for the 16 bytes at buf[at] (zero-padded past end) */
  private absorb(buf: Buffer, at: number, end: number): void {
    const y = this.y;
    let x0: number, x1: number, x2: number, x3: number;
    if (at + 16 <= end) {
      x0 = (buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3];
      x1 = (buf[at + 4] << 24) | (buf[at + 5] << 16) | (buf[at + 6] << 8) | buf[at + 7];
      x2 = (buf[at + 8] << 24) | (buf[at + 9] << 16) | (buf[at + 10] << 8) | buf[at + 11];
      x3 = (buf[at + 12] << 24) | (buf[at + 13] << 16) | (buf[at + 14] << 8) | buf[at + 15];
    } else {
      // the last, short block (an RTP header of 12 bytes is one), zero-padded
      x0 = x1 = x2 = x3 = 0;
      for (let i = 0; at + i < end; i++) {
        const v = buf[at + i] << (24 - ((i & 3) << 3));
        if (i < 4) x0 |= v;
        else if (i < 8) x1 |= v;
        else if (i < 12) x2 |= v;
        else x3 |= v;
      }
    }
    this.mul(y[0] ^ x0, y[1] ^ x1, y[2] ^ x2, y[3] ^ x3);
  }

  /** y = (a0..a3)·H, Horner over the bytes from the last: z = z·x^8 ⊕ M[byte] */
  private mul(a0: number, a1: number, a2: number, a3: number): void {
    const m = this.m;
    let z0 = 0;
    let z1 = 0;
    let z2 = 0;
    let z3 = 0;
    for (let w = 3; w >= 0; w--) {
      const word = w === 3 ? a3 : w === 2 ? a2 : w === 1 ? a1 : a0;
      for (let s = 0; s < 32; s += 8) {
        const r = z3 & 0xff;
        z3 = (z3 >>> 8) | (z2 << 24);
        z2 = (z2 >>> 8) | (z1 << 24);
        z1 = (z1 >>> 8) | (z0 << 24);
        z0 = (z0 >>> 8) ^ R[r];
        const i = ((word >>> s) & 0xff) << 2;
        z0 ^= m[i];
        z1 ^= m[i + 1];
        z2 ^= m[i + 2];
        z3 ^= m[i + 3];
      }
    }
    const y = this.y;
    y[0] = z0;
    y[1] = z1;
    y[2] = z2;
    y[3] = z3;
  }

  /** GHASH(aad, ciphertext) into this.y */
  private ghash(aad: Buffer, aadStart: number, aadEnd: number, ct: Buffer, ctStart: number, ctEnd: number): void {
    this.y.fill(0);
    for (let i = aadStart; i < aadEnd; i += 16) this.absorb(aad, i, aadEnd);
    for (let i = ctStart; i < ctEnd; i += 16) this.absorb(ct, i, ctEnd);
    const aadBits = (aadEnd - aadStart) * 8;
    const ctBits = (ctEnd - ctStart) * 8;
    const y = this.y;
    // len(A) ‖ len(C), 64 bits each (packets are far below 2^32 bits)
    this.mul(y[0], y[1] ^ aadBits, y[2], y[3] ^ ctBits);
  }

  /** E(K, J0) and the keystream for `len` bytes: J0 = iv ‖ 1, the data's counters start at iv ‖ 2 */
  private keystream(iv: Buffer, len: number): Buffer {
    const blocks = Math.ceil(len / 16) + 1;
    if (this.ctr.length < blocks * 16) this.ctr = Buffer.alloc(blocks * 16 + 256);
    const ctr = this.ctr;
    // byte by byte: a Buffer.copy per block costs more than the 16 stores
    for (let b = 0; b < blocks; b++) {
      const o = b * 16;
      for (let i = 0; i < 12; i++) ctr[o + i] = iv[i];
      const n = b + 1;
      ctr[o + 12] = n >>> 24;
      ctr[o + 13] = (n >>> 16) & 0xff;
      ctr[o + 14] = (n >>> 8) & 0xff;
      ctr[o + 15] = n & 0xff;
    }
    return this.ecb.update(ctr.subarray(0, blocks * 16));
  }

  /**
   * Encrypt src[srcStart, srcStart+len) into dst at dstAt, authenticating aad[aadStart, aadEnd)
   * (aad may be dst itself, before dstAt); the 16-byte tag goes to dst at dstAt+len.
   */
  encrypt(iv: Buffer, aad: Buffer, aadStart: number, aadEnd: number, src: Buffer, srcStart: number, len: number, dst: Buffer, dstAt: number): void {
    const ks = this.keystream(iv, len);
    for (let i = 0; i < len; i++) dst[dstAt + i] = src[srcStart + i] ^ ks[16 + i];
    this.ghash(aad, aadStart, aadEnd, dst, dstAt, dstAt + len);
    const y = this.y;
    const t = dstAt + len;
    dst.writeInt32BE((y[0] ^ ((ks[0] << 24) | (ks[1] << 16) | (ks[2] << 8) | ks[3])) | 0, t);
    dst.writeInt32BE((y[1] ^ ((ks[4] << 24) | (ks[5] << 16) | (ks[6] << 8) | ks[7])) | 0, t + 4);
    dst.writeInt32BE((y[2] ^ ((ks[8] << 24) | (ks[9] << 16) | (ks[10] << 8) | ks[11])) | 0, t + 8);
    dst.writeInt32BE((y[3] ^ ((ks[12] << 24) | (ks[13] << 16) | (ks[14] << 8) | ks[15])) | 0, t + 12);
  }

  /**
   * Check the tag at src[ctEnd, ctEnd+16) over aad[aadStart, aadEnd) and src[ctStart, ctEnd),
   * then decrypt that into dst at dstAt. false (and nothing written) when the tag is wrong.
   */
  decrypt(iv: Buffer, aad: Buffer, aadStart: number, aadEnd: number, src: Buffer, ctStart: number, ctEnd: number, dst: Buffer, dstAt: number): boolean {
    const len = ctEnd - ctStart;
    if (len < 0 || ctEnd + GCM_TAG_BYTES > src.length) return false;
    const ks = this.keystream(iv, len);
    this.ghash(aad, aadStart, aadEnd, src, ctStart, ctEnd);
    const y = this.y;
    let diff = 0;
    for (let w = 0; w < 4; w++) {
      const o = w * 4;
      const mask = (ks[o] << 24) | (ks[o + 1] << 16) | (ks[o + 2] << 8) | ks[o + 3];
      const tag = (src[ctEnd + o] << 24) | (src[ctEnd + o + 1] << 16) | (src[ctEnd + o + 2] << 8) | src[ctEnd + o + 3];
      diff |= (y[w] ^ mask) ^ tag;
    }
    if (diff !== 0) return false;
    for (let i = 0; i < len; i++) dst[dstAt + i] = src[ctStart + i] ^ ks[16 + i];
    return true;
  }
}
