/**
 * Where playable audio comes from: a built-in prompt name (shipped under
 * nodes/assets/prompts/, copied to dist/nodes/assets/prompts/ by the build), a WAV file
 * path, or a generated tone ("tone:425:200"). Everything becomes 8 kHz linear samples.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseToneSpec } from './tones';
import { decodeWav } from './wav';

// Same relative place from nodes/lib/media (ts-jest) and dist/nodes/lib/media (built).
export const PROMPT_DIR = path.join(__dirname, '..', '..', 'assets', 'prompts');
export const BUILT_IN_PROMPTS = ['door-opened', 'access-denied', 'enter-pin', 'goodbye'] as const;

const cache = new Map<string, Int16Array>();

export async function loadAudio(source: string, promptDir = PROMPT_DIR): Promise<Int16Array> {
  if (typeof source !== 'string' || source.trim() === '') throw new Error('no audio source given');
  const tone = parseToneSpec(source);
  if (tone) return tone;
  if (source.startsWith('tone:')) throw new Error(`bad tone spec ${JSON.stringify(source)} (tone:<Hz>[+<Hz>]:<ms>)`);
  const builtIn = (BUILT_IN_PROMPTS as readonly string[]).includes(source);
  const file = builtIn ? path.join(promptDir, `${source}.wav`) : source;
  if (!builtIn && !path.isAbsolute(file)) throw new Error(`prompt ${JSON.stringify(source)}: use a built-in name (${BUILT_IN_PROMPTS.join(', ')}) or an absolute WAV path`);
  const hit = builtIn ? cache.get(file) : undefined;
  if (hit) return hit;
  const samples = decodeWav(await readFile(file));
  if (builtIn) cache.set(file, samples);
  return samples;
}
