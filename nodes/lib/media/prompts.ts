/**
 * Where playable audio comes from: a built-in prompt name (shipped under
 * nodes/assets/prompts/, copied to dist/nodes/assets/prompts/ by the build), a WAV file
 * path, or a generated tone ("tone:425:200"). Everything becomes 8 kHz linear samples.
 */
import { readFile } from 'node:fs/promises';
import { IntercomError } from '../core/errors';
import * as path from 'node:path';
import { parseToneSpec, sineMix } from './tones';
import { decodeWav } from './wav';

// Same relative place from nodes/lib/media (ts-jest) and dist/nodes/lib/media (built).
export const PROMPT_DIR = path.join(__dirname, '..', '..', 'assets', 'prompts');
export const BUILT_IN_PROMPTS = ['door-opened', 'access-denied', 'enter-pin', 'goodbye'] as const;

/**
 * Generated call-progress tones, one cadence cycle each (play them in a loop while a
 * forward rings, stop with stopPlayback): ETSI TR 101 041 / ITU-T E.180 ring-back.
 */
const GENERATED: Record<string, () => Int16Array> = {
  'ringback-eu': () => cadence([425], 1000, 4000, -13),
  'ringback-us': () => cadence([440, 480], 2000, 4000, -19),
  beep: () => sineMix([1000], 200, -10),
};
export const BUILT_IN_TONES = Object.keys(GENERATED);

function cadence(freqs: number[], onMs: number, offMs: number, dbm0: number): Int16Array {
  const on = sineMix(freqs, onMs, dbm0);
  const out = new Int16Array(on.length + offMs * 8);
  out.set(on);
  return out;
}

const cache = new Map<string, Int16Array>();

export async function loadAudio(source: string, promptDir = PROMPT_DIR): Promise<Int16Array> {
  if (typeof source !== 'string' || source.trim() === '') throw new IntercomError('media.noSource');
  const tone = parseToneSpec(source);
  if (tone) return tone;
  const generated = GENERATED[source];
  if (generated) return generated();
  if (source.startsWith('tone:')) throw new IntercomError('media.badToneSpec', { source: source.slice(0, 60) });
  const builtIn = (BUILT_IN_PROMPTS as readonly string[]).includes(source);
  const file = builtIn ? path.join(promptDir, `${source}.wav`) : source;
  if (!builtIn && !path.isAbsolute(file)) throw new IntercomError('media.promptNotAbsolute', { source: source.slice(0, 80), names: [...BUILT_IN_PROMPTS, ...BUILT_IN_TONES].join(', ') });
  const hit = builtIn ? cache.get(file) : undefined;
  if (hit) return hit;
  const samples = decodeWav(await readFile(file));
  if (builtIn) cache.set(file, samples);
  return samples;
}
