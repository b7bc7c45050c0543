/**
 * WAV (RIFF) reading for prompts: 16-bit PCM at any rate (resampled to 8 kHz), or 8 kHz
 * G.711 (format 6 A-law, 7 μ-law) as the telephone world ships prompts. Mono, or stereo
 * mixed down. Returns 8 kHz 16-bit linear samples. Throws WavError only.
 */
import { IntercomError } from '../core/errors';
import { ALAW_TO_LINEAR, ULAW_TO_LINEAR } from './g711';

/** Raised for a WAV file we cannot play only, so callers can tell it from other failures. */
export class WavError extends IntercomError {}

const MAX_SECONDS = 600;

export function decodeWav(buf: Buffer): Int16Array {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new WavError('media.wavNotRiff');
  }
  let format = -1;
  let channels = 0;
  let rate = 0;
  let bits = 0;
  let data: Buffer | undefined;
  for (let off = 12; off + 8 <= buf.length; ) {
    const id = buf.toString('latin1', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = buf.subarray(off + 8, Math.min(buf.length, off + 8 + size));
    if (id === 'fmt ') {
      if (body.length < 16) throw new WavError('media.wavShortFmt');
      format = body.readUInt16LE(0);
      channels = body.readUInt16LE(2);
      rate = body.readUInt32LE(4);
      bits = body.readUInt16LE(14);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (format === 0xfffe && body.length >= 26) format = body.readUInt16LE(24);
    } else if (id === 'data') {
      data = body;
    }
    off += 8 + size + (size & 1); // chunks are word aligned
  }
  if (format < 0 || !data) throw new WavError('media.wavNoData');
  if (channels < 1 || channels > 2) throw new WavError('media.wavChannels', { channels });
  if (rate < 4000 || rate > 192000) throw new WavError('media.wavRate', { rate });
  let mono: Int16Array;
  if (format === 1 && bits === 16) {
    const frames = Math.floor(data.length / (2 * channels));
    mono = new Int16Array(frames);
    for (let i = 0; i < frames; i++) {
      let s = 0;
      for (let c = 0; c < channels; c++) s += data.readInt16LE((i * channels + c) * 2);
      mono[i] = Math.round(s / channels);
    }
  } else if ((format === 6 || format === 7) && bits === 8) {
    const table = format === 6 ? ALAW_TO_LINEAR : ULAW_TO_LINEAR;
    const frames = Math.floor(data.length / channels);
    mono = new Int16Array(frames);
    for (let i = 0; i < frames; i++) {
      let s = 0;
      for (let c = 0; c < channels; c++) s += table[data[i * channels + c]];
      mono[i] = Math.round(s / channels);
    }
  } else {
    throw new WavError('media.wavFormat', { format, bits });
  }
  if (mono.length / rate > MAX_SECONDS) throw new WavError('media.wavTooLong', { seconds: MAX_SECONDS });
  return resampleTo8k(mono, rate);
}

/**
 * Resample to 8 kHz: a windowed-sinc low-pass at 3.6 kHz (under the new Nyquist, so a
 * 16/44.1/48 kHz prompt does not alias into the call), evaluated at the output instants.
 */
export function resampleTo8k(input: Int16Array, rate: number): Int16Array {
  if (rate === 8000) return input;
  const ratio = rate / 8000;
  const outLen = Math.floor(input.length / ratio);
  const out = new Int16Array(outLen);
  const cutoff = Math.min(3600 / rate, 0.5); // cycles per input sample
  const half = Math.ceil(8 * Math.max(1, ratio));
  for (let j = 0; j < outLen; j++) {
    const center = j * ratio;
    const i0 = Math.floor(center);
    let acc = 0;
    let norm = 0;
    for (let i = i0 - half + 1; i <= i0 + half; i++) {
      if (i < 0 || i >= input.length) continue;
      const t = i - center;
      const sinc = t === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * t) / (Math.PI * t);
      const w = 0.5 + 0.5 * Math.cos((Math.PI * t) / half); // Hann
      acc += input[i] * sinc * w;
      norm += sinc * w;
    }
    out[j] = Math.max(-32768, Math.min(32767, Math.round(norm ? acc / norm : 0)));
  }
  return out;
}
