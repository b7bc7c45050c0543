/**
 * A 64-packet "seen" window in two 32-bit numbers: bit 0 is the highest index, bit k the
 * one k below it. SRTP's replay list (RFC 3711 §3.3.2) and the RTP session's duplicate
 * check keep one per stream; as a BigInt it allocated on every packet.
 */
export class SeenWindow {
  private lo = 0;
  private hi = 0;

  /** only the highest, newly seen */
  reset(): void {
    this.lo = 1;
    this.hi = 0;
  }

  clear(): void {
    this.lo = 0;
    this.hi = 0;
  }

  /** a new highest, d above the old one (d ≥ 64 forgets the old window) */
  advance(d: number): void {
    if (d >= 64) {
      this.lo = 1;
      this.hi = 0;
      return;
    }
    if (d >= 32) {
      this.hi = d === 32 ? this.lo : this.lo << (d - 32);
      this.lo = 0;
    } else if (d > 0) {
      this.hi = (this.hi << d) | (this.lo >>> (32 - d));
      this.lo <<= d;
    }
    this.lo |= 1;
  }

  /** was the index k below the highest seen (k < 64) */
  has(k: number): boolean {
    return ((k < 32 ? this.lo >>> k : this.hi >>> (k - 32)) & 1) === 1;
  }

  mark(k: number): void {
    if (k < 32) this.lo |= 1 << k;
    else if (k < 64) this.hi |= 1 << (k - 32);
  }
}
