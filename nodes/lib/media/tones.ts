/**
 * Generated tones at 8 kHz: DTMF pairs (ITU-T Q.23) for in-band sending, and the call
 * progress / beep tones a flow may play ("tone:425:200", "tone:440+480:1000").
 */
import { IntercomError } from '../core/errors';

const LOW = [697, 770, 852, 941];
const HIGH = [1209, 1336, 1477, 1633];
const KEYS = ['123A', '456B', '789C', '*0#D'];
const DBM0 = 22700; // peak of a 0 dBm0 sine in 16-bit linear

export function sineMix(freqs: number[], ms: number, dbm0 = -10): Int16Array {
  const n = Math.max(0, Math.round(ms * 8));
  const amp = DBM0 * Math.pow(10, dbm0 / 20);
  const out = new Int16Array(n);
  // 5 ms raised-cosine ramps so a tone does not click.
  const ramp = Math.min(40, Math.floor(n / 2));
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const f of freqs) s += Math.sin((2 * Math.PI * f * i) / 8000);
    const edge = Math.min(i, n - 1 - i);
    const g = edge < ramp ? 0.5 - 0.5 * Math.cos((Math.PI * edge) / ramp) : 1;
    out[i] = Math.round(amp * s * g);
  }
  return out;
}

export function dtmfTone(digit: string, ms: number, dbm0 = -10): Int16Array {
  for (let r = 0; r < 4; r++) {
    const c = KEYS[r].indexOf(digit.toUpperCase());
    if (c >= 0 && digit.length === 1) return sineMix([LOW[r], HIGH[c]], ms, dbm0);
  }
  throw new IntercomError('media.notDtmfDigit', { digit: String(digit).slice(0, 20) });
}

/** "tone:<f>[+<f>...]:<ms>" → samples, or undefined if the text is not a tone spec. */
export function parseToneSpec(spec: string): Int16Array | undefined {
  const m = /^tone:(\d{2,4}(?:\+\d{2,4}){0,3}):(\d{1,5})$/.exec(spec.trim());
  if (!m) return undefined;
  const freqs = m[1].split('+').map(Number);
  const ms = Number(m[2]);
  if (freqs.some((f) => f < 50 || f > 3900) || ms < 1 || ms > 60000) return undefined;
  return sineMix(freqs, ms, freqs.length > 1 ? -13 : -10);
}
