/**
 * A small reorder buffer for the audio path: RTP over UDP may arrive out of order (RFC 3550
 * §5.1 sequence numbers exist for that). The in-band detector and the bridge want audio in
 * order, so packets ahead of the next expected sequence wait here (up to `depth` packets,
 * i.e. depth × ptime of added delay, only when something is actually missing); a packet
 * that never comes is skipped once the buffer is full. Late packets are dropped.
 */
export class ReorderBuffer<T> {
  private expected = -1;
  private readonly held = new Map<number, T>();

  constructor(private readonly deliver: (item: T) => void, private readonly depth = 3) {}

  push(seq: number, item: T): void {
    if (this.expected < 0) this.expected = seq;
    if (seq === this.expected && this.held.size === 0) {
      // in order with nothing waiting, nearly every packet: no trip through the map
      this.expected = (seq + 1) & 0xffff;
      this.deliver(item);
      return;
    }
    const ahead = (seq - this.expected) & 0xffff;
    if (ahead >= 0x8000) return; // late: its slot has been played out already
    if (ahead > 1000) {
      // A jump (new stream, long loss): restart from here.
      this.held.clear();
      this.expected = seq;
    }
    this.held.set(seq, item);
    this.drain();
    while (this.held.size > this.depth) {
      // Give up on the missing packet: skip to the oldest one we have.
      let best = -1;
      let bestAhead = Infinity;
      for (const s of this.held.keys()) {
        const a = (s - this.expected) & 0xffff;
        if (a < bestAhead) {
          bestAhead = a;
          best = s;
        }
      }
      this.expected = best;
      this.drain();
    }
  }

  /** Forget everything (SSRC change). */
  reset(): void {
    this.held.clear();
    this.expected = -1;
  }

  private drain(): void {
    for (let item = this.held.get(this.expected); item !== undefined; item = this.held.get(this.expected)) {
      this.held.delete(this.expected);
      this.expected = (this.expected + 1) & 0xffff;
      this.deliver(item);
    }
  }
}
