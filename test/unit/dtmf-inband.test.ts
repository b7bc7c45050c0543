import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { decode, encode } from '../../nodes/lib/media/g711';
import { InbandDtmfDetector } from '../../nodes/lib/media/inband-dtmf';
import { describeWithPeers } from '../helpers/peers';

const LOW: Record<string, number> = {};
const HIGH: Record<string, number> = {};
['123A', '456B', '789C', '*0#D'].forEach((row, r) =>
  row.split('').forEach((k, c) => {
    LOW[k] = [697, 770, 852, 941][r];
    HIGH[k] = [1209, 1336, 1477, 1633][c];
  }),
);
const DBM0 = 22700; // peak amplitude of a 0 dBm0 sine, 16-bit

interface ToneOpts {
  ms: number;
  lowDev?: number;
  highDev?: number;
  lowDb?: number;
  highDb?: number;
}
function tone(digit: string, o: ToneOpts): number[] {
  const n = Math.round(o.ms * 8);
  const fl = LOW[digit] * (1 + (o.lowDev ?? 0));
  const fh = HIGH[digit] * (1 + (o.highDev ?? 0));
  const al = DBM0 * Math.pow(10, (o.lowDb ?? -10) / 20);
  const ah = DBM0 * Math.pow(10, (o.highDb ?? -10) / 20);
  return Array.from({ length: n }, (_, i) => al * Math.sin((2 * Math.PI * fl * i) / 8000 + 0.3) + ah * Math.sin((2 * Math.PI * fh * i) / 8000 + 1.1));
}
const silence = (ms: number): number[] => new Array(Math.round(ms * 8)).fill(0);

/** Run audio through μ-law (as it arrives in a call) and the detector, in 20 ms packets. */
function detect(samples: number[]): string {
  const got: string[] = [];
  const det = new InbandDtmfDetector((d) => got.push(d.digit));
  const coded = decode('PCMU', encode('PCMU', samples));
  for (let i = 0; i < coded.length; i += 160) det.push(coded.subarray(i, i + 160));
  return got.join('');
}

describe('in-band DTMF detector (Goertzel, ITU-T Q.24 limits)', () => {
  test('all sixteen keys, 60 ms on / 60 ms off', () => {
    const keys = '0123456789*#ABCD';
    const audio = [...silence(30), ...keys.split('').flatMap((k) => [...tone(k, { ms: 60 }), ...silence(60)])];
    expect(detect(audio)).toBe(keys);
  });

  test.each([0.015, -0.015])('each frequency %p off nominal is accepted', (dev) => {
    for (const k of '0123456789*#ABCD') {
      expect(detect([...silence(20), ...tone(k, { ms: 80, lowDev: dev }), ...silence(40)])).toBe(k);
      expect(detect([...silence(20), ...tone(k, { ms: 80, highDev: dev }), ...silence(40)])).toBe(k);
    }
  });

  test.each([0.035, -0.035])('any frequency %p off nominal is rejected', (dev) => {
    for (const k of '0123456789*#ABCD') {
      expect(detect([...silence(20), ...tone(k, { ms: 80, lowDev: dev }), ...silence(40)])).toBe('');
      expect(detect([...silence(20), ...tone(k, { ms: 80, highDev: dev }), ...silence(40)])).toBe('');
    }
  });

  test.each([
    ['high 6 dB below low', -12, -18, '5'],
    ['high 3 dB above low', -15, -12, '5'],
    ['high 10 dB below low', -8, -18, ''],
    ['high 6 dB above low', -16, -10, ''],
  ])('twist: %s', (_t, lowDb, highDb, want) => {
    expect(detect([...silence(20), ...tone('5', { ms: 80, lowDb, highDb }), ...silence(40)])).toBe(want);
  });

  test('energy: -25 dBm0 per tone is heard, -40 dBm0 is not', () => {
    expect(detect([...tone('8', { ms: 80, lowDb: -25, highDb: -25 }), ...silence(40)])).toBe('8');
    expect(detect([...tone('8', { ms: 80, lowDb: -40, highDb: -40 }), ...silence(40)])).toBe('');
  });

  test('duration: 40 ms tones are accepted at every alignment, 25 ms and 20 ms ones are not', () => {
    for (let offset = 0; offset < 80; offset += 10) {
      const pre = new Array(offset + 160).fill(0);
      expect(detect([...pre, ...tone('7', { ms: 40 }), ...silence(40)])).toBe('7');
      expect(detect([...pre, ...tone('7', { ms: 25 }), ...silence(40)])).toBe('');
      expect(detect([...pre, ...tone('7', { ms: 20 }), ...silence(40)])).toBe('');
    }
  });

  test('"99" with a 40 ms pause is two digits; a 2 s press is one', () => {
    expect(detect([...tone('9', { ms: 70 }), ...silence(40), ...tone('9', { ms: 70 }), ...silence(40)])).toBe('99');
    expect(detect([...tone('1', { ms: 2000 }), ...silence(40)])).toBe('1');
  });

  test('no digit from ring-back tones (425 Hz; 440+480 Hz), dial tone or white noise', () => {
    const sine = (f: number[], ms: number, db = -6): number[] =>
      Array.from({ length: ms * 8 }, (_, i) => f.reduce((s, x) => s + DBM0 * Math.pow(10, db / 20) * Math.sin((2 * Math.PI * x * i) / 8000), 0));
    expect(detect([...sine([425], 1000), ...silence(4000 / 8), ...sine([425], 1000)])).toBe('');
    expect(detect([...sine([440, 480], 2000, -12), ...silence(100)])).toBe('');
    expect(detect(sine([350, 440], 2000, -12))).toBe('');
    let seed = 3;
    const noise = Array.from({ length: 16000 }, () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 12000);
    expect(detect(noise)).toBe('');
  });

  test('a tone over low background noise is still found', () => {
    let seed = 5;
    const t = [...silence(40), ...tone('#', { ms: 80 }), ...silence(80)].map((v) => v + ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 1500);
    expect(detect(t)).toBe('#');
  });
});

describeWithPeers(['sox', 'espeak-ng'], 'in-band DTMF with real speech (espeak-ng) and sox tones', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'inband-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** espeak-ng speech as a μ-law 8 kHz stream, the way it would arrive from a panel. */
  function speech(name: string, text: string, voice = 'en'): string {
    const wav = path.join(dir, `${name}.wav`);
    execFileSync('espeak-ng', ['-v', voice, '-s', '150', '-w', wav, text]);
    const out = path.join(dir, `${name}-8k.wav`);
    execFileSync('sox', [wav, '-r', '8000', '-c', '1', '-b', '16', out, 'norm', '-3']);
    return out;
  }
  function ulaw(file: string): Int16Array {
    const raw = path.join(dir, path.basename(file) + '.ul');
    execFileSync('sox', [file, '-t', 'raw', '-r', '8000', '-e', 'u-law', '-c', '1', raw]);
    return decode('PCMU', readFileSync(raw));
  }
  function run(pcm: Int16Array): string {
    const got: string[] = [];
    const det = new InbandDtmfDetector((d) => got.push(d.digit));
    for (let i = 0; i < pcm.length; i += 160) det.push(pcm.subarray(i, i + 160));
    return got.join('');
  }
  const texts: Array<[string, string, string]> = [
    ['s1', 'Hello, this is the front door. Please press nine to open, or hang up to cancel.', 'en'],
    ['s2', 'One two three four five six seven eight nine zero. Star. Hash. Beep beep beep.', 'en'],
    ['s3', 'Guten Tag, hier ist die Haustür. Bitte drücken Sie die Neun.', 'de'],
    ['s4', 'Eeeeeeee. Oooooooo. Aaaaaaaah. Mmmmmm. Whistle whistle.', 'en+f3'],
  ];

  test('speech alone never gives a digit (talk-off)', () => {
    for (const [name, text, voice] of texts) {
      expect([name, run(ulaw(speech(name, text, voice)))]).toEqual([name, '']);
    }
  });

  test('sox tones mixed over speech are all found, in order', () => {
    const digits = '1590*#2468A';
    const parts: string[] = [];
    digits.split('').forEach((k, i) => {
      const f = path.join(dir, `t${i}.wav`);
      // Each key: 70 ms of both tones at -10 dBm0-ish, then 130 ms silence.
      execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', f, 'synth', '0.07', 'sine', String(LOW[k]), 'synth', '0.07', 'sine', 'mix', String(HIGH[k]), 'vol', '0.3', 'pad', '0', '0.13']);
      parts.push(f);
    });
    const tones = path.join(dir, 'tones.wav');
    execFileSync('sox', [...parts, tones, 'pad', '0.3', '0']);
    // Speech 12 dB below the tones (a caller talking while pressing keys).
    const voice = speech('mix', texts[0][1], 'en');
    const quiet = path.join(dir, 'quiet.wav');
    execFileSync('sox', [voice, quiet, 'vol', '-14dB']);
    const mixed = path.join(dir, 'mixed.wav');
    execFileSync('sox', ['-m', tones, quiet, mixed]);
    expect(run(ulaw(tones))).toBe(digits);
    expect(run(ulaw(mixed))).toBe(digits);
  });
});
