import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BUILT_IN_PROMPTS, loadAudio, PROMPT_DIR } from '../../nodes/lib/media/prompts';
import { parseToneSpec } from '../../nodes/lib/media/tones';
import { decodeWav, WavError } from '../../nodes/lib/media/wav';
import { describeWithPeers } from '../helpers/peers';

function level(pcm: Int16Array, f: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < pcm.length; i++) {
    re += pcm[i] * Math.cos((2 * Math.PI * f * i) / 8000);
    im += pcm[i] * Math.sin((2 * Math.PI * f * i) / 8000);
  }
  return (2 * Math.hypot(re, im)) / pcm.length;
}

describe('shipped prompts', () => {
  test.each(BUILT_IN_PROMPTS)('%s is a small 8 kHz mono G.711 WAV with speech in it', async (name) => {
    const file = path.join(PROMPT_DIR, `${name}.wav`);
    expect(statSync(file).size).toBeLessThan(40 * 1024);
    const head = readFileSync(file);
    expect(head.readUInt16LE(22)).toBe(1); // mono
    expect(head.readUInt32LE(24)).toBe(8000);
    const pcm = await loadAudio(name);
    expect(pcm.length / 8000).toBeGreaterThan(0.5);
    expect(pcm.length / 8000).toBeLessThan(5);
    const rms = Math.sqrt(pcm.reduce((s, v) => s + v * v, 0) / pcm.length);
    expect(rms).toBeGreaterThan(1000);
  });

  test('generated call-progress tones: one cadence cycle each', async () => {
    const eu = await loadAudio('ringback-eu');
    expect(eu.length).toBe(5 * 8000);
    expect(level(eu.subarray(0, 8000), 425)).toBeGreaterThan(3000);
    expect(level(eu.subarray(8000), 425)).toBe(0);
    const us = await loadAudio('ringback-us');
    expect(us.length).toBe(6 * 8000);
    expect(level(us.subarray(0, 16000), 440)).toBeGreaterThan(1000);
    expect(level(us.subarray(0, 16000), 480)).toBeGreaterThan(1000);
    expect((await loadAudio('beep')).length).toBe(1600);
  });

  test('tone specs and bad sources', async () => {
    expect(parseToneSpec('tone:425:200')?.length).toBe(1600);
    expect(parseToneSpec('tone:440+480:1000')?.length).toBe(8000);
    expect(parseToneSpec('tone:5:100')).toBeUndefined();
    expect(parseToneSpec('tone:425:999999')).toBeUndefined();
    await expect(loadAudio('tone:abc')).rejects.toThrow(/^media\.badToneSpec/);
    await expect(loadAudio('relative/file.wav')).rejects.toThrow(/^media\.promptNotAbsolute/);
    await expect(loadAudio('')).rejects.toThrow();
    await expect(loadAudio('/nonexistent/x.wav')).rejects.toThrow();
  });

  test('malformed WAVs raise WavError', () => {
    expect(() => decodeWav(Buffer.from('not a wav at all'))).toThrow(WavError);
    const hdr = Buffer.alloc(44);
    hdr.write('RIFF', 0, 'latin1');
    hdr.write('WAVE', 8, 'latin1');
    expect(() => decodeWav(hdr)).toThrow(WavError);
    let seed = 9;
    for (let i = 0; i < 500; i++) {
      const b = Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVEfmt '), Buffer.alloc(i % 60)]);
      for (let k = 12; k < b.length; k++) b[k] = (seed = (seed * 69069 + 1) >>> 0) >>> 24;
      try {
        decodeWav(b);
      } catch (err) {
        expect(err).toBeInstanceOf(WavError);
      }
    }
  });
});

describeWithPeers(['sox'], 'WAV prompts made by sox', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'wav-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const make = (name: string, args: string[]): string => {
    const f = path.join(dir, name);
    execFileSync('sox', ['-n', ...args, f, 'synth', '0.5', 'sine', '1000', 'vol', '0.5']);
    return f;
  };

  test.each([
    ['16-bit 16 kHz', 'a.wav', ['-r', '16000', '-b', '16', '-c', '1']],
    ['16-bit 44.1 kHz stereo', 'b.wav', ['-r', '44100', '-b', '16', '-c', '2']],
    ['16-bit 8 kHz', 'c.wav', ['-r', '8000', '-b', '16', '-c', '1']],
    ['A-law 8 kHz', 'd.wav', ['-r', '8000', '-e', 'a-law', '-c', '1']],
    ['μ-law 8 kHz', 'e.wav', ['-r', '8000', '-e', 'u-law', '-c', '1']],
  ])('%s becomes 0.5 s of 8 kHz with the 1 kHz tone', async (_what, name, args) => {
    const pcm = await loadAudio(make(name, args as string[]));
    expect(Math.abs(pcm.length - 4000)).toBeLessThanOrEqual(2);
    // vol 0.5 of full scale: about 16000 peak
    expect(level(pcm, 1000)).toBeGreaterThan(14000);
    expect(level(pcm, 1000)).toBeLessThan(17500);
  });

  test('resampling filters what 8 kHz cannot carry (no aliasing)', async () => {
    const f = path.join(dir, 'hi.wav');
    execFileSync('sox', ['-n', '-r', '16000', '-b', '16', '-c', '1', f, 'synth', '0.5', 'sine', '5000', 'vol', '0.5']);
    const pcm = await loadAudio(f);
    // 5 kHz would fold to 3 kHz without the low-pass.
    expect(level(pcm, 3000)).toBeLessThan(300);
  });

  test('8-bit unsigned PCM is refused with a clear error', () => {
    const f = path.join(dir, 'u8.wav');
    execFileSync('sox', ['-n', '-r', '8000', '-b', '8', '-e', 'unsigned', '-c', '1', f, 'synth', '0.1', 'sine', '1000']);
    expect(() => decodeWav(readFileSync(f))).toThrow(/^media\.wavFormat \(format=1, bits=8\)/);
    writeFileSync(path.join(dir, 'trunc.wav'), readFileSync(f).subarray(0, 30));
    expect(() => decodeWav(readFileSync(path.join(dir, 'trunc.wav')))).toThrow(WavError);
  });
});
