/**
 * The 64-packet seen window (media/seq-window.ts) that SRTP's replay check and the RTP
 * session's duplicate check keep, against the same window as one BigInt: random walks of
 * steps forward (small, across the 32-bit half, past the window) and marks behind.
 */
import { SeenWindow } from '../../nodes/lib/media/seq-window';

const MASK = (1n << 64n) - 1n;

describe('SeenWindow', () => {
  it('answers as a 64-bit BigInt window does, for 20,000 random steps', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const w = new SeenWindow();
    let ref = 1n;
    w.reset();
    for (let i = 0; i < 20000; i++) {
      const op = rand(4);
      if (op === 0) {
        const d = [0, 1, 2, 31, 32, 33, 63, 64, 65, 200][rand(10)] + (rand(3) === 0 ? rand(5) : 0);
        w.advance(d);
        ref = d >= 64 ? 1n : ((ref << BigInt(d)) | 1n) & MASK;
      } else if (op === 1) {
        const k = rand(64);
        w.mark(k);
        ref |= 1n << BigInt(k);
      } else if (op === 2 && rand(50) === 0) {
        w.reset();
        ref = 1n;
      }
      for (const k of [0, 1, rand(64), rand(64), 31, 32, 63]) expect(w.has(k)).toBe(((ref >> BigInt(k)) & 1n) === 1n);
    }
  });

  it('is empty after clear and knows only the highest after reset', () => {
    const w = new SeenWindow();
    w.advance(3);
    w.mark(40);
    w.clear();
    for (let k = 0; k < 64; k++) expect(w.has(k)).toBe(false);
    w.reset();
    expect(w.has(0)).toBe(true);
    for (let k = 1; k < 64; k++) expect(w.has(k)).toBe(false);
  });
});
