/**
 * In-band DTMF detection on 8 kHz linear audio (decoded G.711), by the Goertzel algorithm,
 * with the acceptance limits of ITU-T Q.24 (and Q.23 for the frequencies):
 *   - frequency: each tone within ±1.5 % must be accepted, beyond ±3.5 % rejected; we
 *     estimate each tone's actual frequency and accept up to ±2.5 %, the middle of the gap;
 *   - twist: the high-group tone may be up to 4 dB above or 8 dB below the low-group tone;
 *   - energy: each tone at least MIN_TONE_AMPLITUDE (about -33 dBm0), and together they
 *     must carry most of the signal power (speech and ring-back tones do not);
 *   - duration: a tone of 40 ms is accepted; one of 25 ms or less is not.
 *
 * Analysis: a 20 ms Hann-windowed frame every 10 ms. Three consecutive valid frames for
 * the same digit (40 ms of tone) report it once; three frames without it end the press, so
 * a lost packet inside a tone does not split one press into two.
 */

const LOW = [697, 770, 852, 941];
const HIGH = [1209, 1336, 1477, 1633];
const KEYS = ['123A', '456B', '789C', '*0#D'];

const RATE = 8000;
const FRAME = 160;
const HOP = 80;
const MIN_TONE_AMPLITUDE = 500; // 16-bit linear; 0 dBm0 is about 22700 peak
const MAX_DEVIATION = 0.025;
const TWIST_HIGH_ABOVE_DB = 4;
const TWIST_HIGH_BELOW_DB = 8;
const MIN_PURITY = 0.7;
const GROUP_MARGIN_DB = 6;
const FRAMES_TO_ACCEPT = 3;
const FRAMES_TO_RELEASE = 3;

const HANN = Float64Array.from({ length: FRAME }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (FRAME - 1)));
const HANN_SUM = HANN.reduce((a, b) => a + b, 0);
const HANN_SQ_SUM = HANN.reduce((a, b) => a + b * b, 0);

function goertzelPower(y: Float64Array, freq: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * freq) / RATE);
  let s1 = 0;
  let s2 = 0;
  for (let n = 0; n < y.length; n++) {
    const s = y[n] + coeff * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/**
 * Scratch space for classifyFrame, which runs every 10 ms on every call's audio: one frame
 * at a time (it is synchronous), so the windowed frame and the tone amplitudes are written
 * into the same arrays each time instead of new ones (at 100 calls that was ~13 MB/s of
 * garbage, and the collector's pauses hit every call's packet clock at once).
 */
const WINDOWED = new Float64Array(FRAME);
const LOW_AMPS = new Float64Array(4);
const HIGH_AMPS = new Float64Array(4);
const SEARCH = new Float64Array(9);
const REJECTED: Record<string, FrameVerdict> = Object.fromEntries(['energy', 'partial', 'group', 'frequency', 'level', 'twist', 'purity'].map((r) => [r, Object.freeze({ reason: r })]));

/** Amplitude of a sinusoid at freq in the windowed frame (|X| = A/2 · Σw). */
function amplitude(y: Float64Array, freq: number): number {
  return (2 * Math.sqrt(Math.max(0, goertzelPower(y, freq)))) / HANN_SUM;
}

/**
 * Peak search ±4 % around the nominal frequency in 1 % steps with parabolic
 * interpolation on the log magnitude: returns the deviation (fraction) and peak amplitude.
 */
function refine(y: Float64Array, nominal: number): { deviation: number; amp: number } {
  const amps = SEARCH;
  for (let k = -4; k <= 4; k++) amps[k + 4] = amplitude(y, nominal * (1 + k * 0.01));
  let best = 0;
  for (let i = 1; i < amps.length; i++) if (amps[i] > amps[best]) best = i;
  let offset = best - 4;
  if (best > 0 && best < amps.length - 1) {
    const a = Math.log(amps[best - 1] + 1e-9);
    const b = Math.log(amps[best] + 1e-9);
    const c = Math.log(amps[best + 1] + 1e-9);
    const den = a - 2 * b + c;
    if (den < 0) offset += (0.5 * (a - c)) / den;
  } else {
    // The peak is at the edge of the search: at least 4 % off.
    offset += offset < 0 ? -1 : 1;
  }
  return { deviation: offset * 0.01, amp: amps[best] };
}

export interface FrameVerdict {
  digit?: string;
  reason?: string;
}

function strongest(amps: Float64Array): number {
  let best = 0;
  for (let i = 1; i < 4; i++) if (amps[i] > amps[best]) best = i;
  return best;
}

function secondOf(amps: Float64Array, best: number): number {
  let second = 0;
  for (let i = 0; i < 4; i++) if (i !== best && amps[i] > second) second = amps[i];
  return second;
}

/** Classify one 20 ms frame (exported for tests and diagnostics). */
export function classifyFrame(x: ArrayLike<number>): FrameVerdict {
  let e1 = 0;
  let e2 = 0;
  const y = WINDOWED;
  let ew = 0;
  for (let n = 0; n < FRAME; n++) {
    const v = x[n];
    if (n < HOP) e1 += v * v;
    else e2 += v * v;
    const w = v * HANN[n];
    y[n] = w;
    ew += w * w;
  }
  const minPower = ((MIN_TONE_AMPLITUDE * MIN_TONE_AMPLITUDE) / 2) * FRAME;
  if (e1 + e2 < minPower) return REJECTED.energy;
  // The tone must fill the frame: a frame only half covered does not count towards 40 ms.
  if (Math.min(e1, e2) < 0.25 * Math.max(e1, e2)) return REJECTED.partial;
  for (let i = 0; i < 4; i++) {
    LOW_AMPS[i] = amplitude(y, LOW[i]);
    HIGH_AMPS[i] = amplitude(y, HIGH[i]);
  }
  const li = strongest(LOW_AMPS);
  const hi = strongest(HIGH_AMPS);
  const margin = Math.pow(10, GROUP_MARGIN_DB / 20);
  if (LOW_AMPS[li] < margin * secondOf(LOW_AMPS, li) || HIGH_AMPS[hi] < margin * secondOf(HIGH_AMPS, hi)) return REJECTED.group;
  const low = refine(y, LOW[li]);
  const high = refine(y, HIGH[hi]);
  if (Math.abs(low.deviation) > MAX_DEVIATION || Math.abs(high.deviation) > MAX_DEVIATION) return REJECTED.frequency;
  if (low.amp < MIN_TONE_AMPLITUDE || high.amp < MIN_TONE_AMPLITUDE) return REJECTED.level;
  const twistDb = 20 * Math.log10(high.amp / low.amp);
  if (twistDb > TWIST_HIGH_ABOVE_DB || twistDb < -TWIST_HIGH_BELOW_DB) return REJECTED.twist;
  // Mean power of the frame vs the power the two tones explain.
  const meanPower = ew / HANN_SQ_SUM;
  const tonePower = (low.amp * low.amp + high.amp * high.amp) / 2;
  if (tonePower < MIN_PURITY * meanPower) return REJECTED.purity;
  return { digit: KEYS[li][hi] };
}

export interface InbandDetection {
  digit: string;
  /** sample index (from the first sample fed) where the tone was confirmed */
  atSample: number;
}

/** Streaming detector: feed decoded samples in any chunk size, get one event per press. */
export class InbandDtmfDetector {
  private readonly ring = new Float64Array(FRAME);
  private readonly frameBuf = new Float64Array(FRAME);
  private head = 0; // next write position in the ring
  private filled = 0;
  private sinceHop = 0;
  private samples = 0;
  private candidate?: string;
  private count = 0;
  private reported?: string;
  private misses = 0;

  constructor(private readonly onDigit: (d: InbandDetection) => void) {}

  push(pcm: ArrayLike<number>): void {
    for (let i = 0; i < pcm.length; i++) {
      this.ring[this.head] = pcm[i];
      if (++this.head === FRAME) this.head = 0;
      if (this.filled < FRAME) this.filled++;
      this.samples++;
      if (this.filled === FRAME && ++this.sinceHop >= HOP) {
        this.sinceHop = 0;
        this.frame();
      }
    }
  }

  /** Forget the running state (a gap in the audio, an SSRC change). */
  reset(): void {
    this.filled = 0;
    this.head = 0;
    this.sinceHop = 0;
    this.candidate = undefined;
    this.count = 0;
    this.reported = undefined;
    this.misses = 0;
  }

  private frame(): void {
    // Oldest sample first: the ring's head is where the oldest sample sits.
    // (two loops, not two subarray views: this runs twice a packet)
    const ring = this.ring;
    const out = this.frameBuf;
    const head = this.head;
    for (let n = head; n < FRAME; n++) out[n - head] = ring[n];
    for (let n = 0; n < head; n++) out[FRAME - head + n] = ring[n];
    const { digit } = classifyFrame(this.frameBuf);
    if (digit && digit === this.candidate) {
      this.count++;
    } else if (digit) {
      this.candidate = digit;
      this.count = 1;
    } else {
      this.candidate = undefined;
      this.count = 0;
    }
    if (this.reported !== undefined) {
      // The press lasts while its digit keeps appearing; a short dropout does not split it.
      if (digit === this.reported) this.misses = 0;
      else if (++this.misses >= FRAMES_TO_RELEASE) this.reported = undefined;
      if (this.reported !== undefined) return;
    }
    if (this.candidate && this.count >= FRAMES_TO_ACCEPT) {
      this.reported = this.candidate;
      this.misses = 0;
      this.onDigit({ digit: this.candidate, atSample: this.samples });
    }
  }
}
