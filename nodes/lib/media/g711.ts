/**
 * G.711 (ITU-T G.711) μ-law and A-law, 16-bit linear PCM in and out, and the direct
 * μ-law ↔ A-law translation a bridge needs when the two legs negotiated different laws.
 * Decoding and translation are table lookups, built once at load.
 */

const BIAS = 0x84; // μ-law bias (G.711 §3, 33 in 14-bit scale = 132 in 16-bit)
const CLIP = 32635;

export function linearToUlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function ulawToLinearSlow(u: number): number {
  const v = ~u & 0xff;
  const sign = v & 0x80;
  const exponent = (v >> 4) & 0x07;
  const mantissa = v & 0x0f;
  const s = (((mantissa << 3) + BIAS) << exponent) - BIAS;
  return sign ? -s : s;
}

export function linearToAlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  let sign = 0x80; // A-law: bit 7 set for positive values
  if (s < 0) {
    sign = 0;
    s = -s - 1;
  }
  s >>= 3; // 13-bit magnitude
  let out: number;
  if (s < 32) {
    out = s >> 1;
  } else {
    let exponent = 1;
    while (s >= 64 && exponent < 7) {
      s >>= 1;
      exponent++;
    }
    if (s > 63) s = 63;
    out = (exponent << 4) | ((s >> 1) & 0x0f);
  }
  return (out | sign) ^ 0x55; // even-bit inversion (G.711 §2)
}

function alawToLinearSlow(a: number): number {
  const v = a ^ 0x55;
  const exponent = (v >> 4) & 0x07;
  const mantissa = v & 0x0f;
  let s = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  s = v & 0x80 ? s : -s;
  return s;
}

export const ULAW_TO_LINEAR = new Int16Array(256);
export const ALAW_TO_LINEAR = new Int16Array(256);
const ULAW_TO_ALAW = new Uint8Array(256);
const ALAW_TO_ULAW = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  ULAW_TO_LINEAR[i] = ulawToLinearSlow(i);
  ALAW_TO_LINEAR[i] = alawToLinearSlow(i);
}
for (let i = 0; i < 256; i++) {
  ULAW_TO_ALAW[i] = linearToAlaw(ULAW_TO_LINEAR[i]);
  ALAW_TO_ULAW[i] = linearToUlaw(ALAW_TO_LINEAR[i]);
}

export type Law = 'PCMU' | 'PCMA';

export function decode(law: Law, payload: Uint8Array, out = new Int16Array(payload.length)): Int16Array {
  const table = law === 'PCMU' ? ULAW_TO_LINEAR : ALAW_TO_LINEAR;
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i]];
  return out;
}

export function encode(law: Law, pcm: ArrayLike<number>, out: Buffer = Buffer.allocUnsafe(pcm.length)): Buffer {
  const f = law === 'PCMU' ? linearToUlaw : linearToAlaw;
  for (let i = 0; i < pcm.length; i++) out[i] = f(pcm[i]);
  return out;
}

/** μ-law ↔ A-law without going through a linear buffer (G.711 Tables 3 and 4 in effect). */
export function transcode(from: Law, to: Law, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(payload.length);
  if (from === to) {
    out.set(payload);
    return out;
  }
  const table = from === 'PCMU' ? ULAW_TO_ALAW : ALAW_TO_ULAW;
  for (let i = 0; i < payload.length; i++) out[i] = table[payload[i]];
  return out;
}

/** The code for silence in each law, for comfort filling. */
export const SILENCE: Record<Law, number> = { PCMU: 0xff, PCMA: 0xd5 };
