/**
 * One timer for the send clocks of every call (transmitter.ts) that reads the same time.
 * A call's clock wakes every packet time; with a timer each, 20 calls meant 1,000 timer
 * wake-ups a second, each a trip through the event loop and the kernel that cost about as
 * much as the packets themselves. A clock starts on a multiple of its packet time, so calls
 * of the same packet time come due together and one wake-up serves them all.
 */
export const GRID_MS = 10;

type Due = () => void;

export class SharedClock {
  private readonly due = new Map<Due, number>();
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private firing = false;

  constructor(private readonly now: () => number) {}

  /** the next multiple of step (the packet time; 10 ms when there is none) at or after t */
  static aligned(t: number, step = GRID_MS): number {
    const g = step > 0 ? step : GRID_MS;
    return Math.ceil(t / g) * g;
  }

  /** Run fn once at `at` (its own clock's time); a second call moves it. */
  schedule(fn: Due, at: number): void {
    this.due.delete(fn);
    this.due.set(fn, at);
    if (!this.firing && at < this.timerAt) this.arm(at);
  }

  cancel(fn: Due): void {
    this.due.delete(fn);
    if (this.due.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
    }
  }

  get pending(): number {
    return this.due.size;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    // A timer fires up to a millisecond early in Node's rounding: what is due within it runs now.
    const now = this.now() + 1;
    const run: Due[] = [];
    for (const [fn, at] of this.due) if (at <= now) run.push(fn);
    this.firing = true;
    try {
      for (const fn of run) {
        this.due.delete(fn);
        try {
          fn();
        } catch {
          // a clock's own errors are its own (the transmitter reports them): the others run on
        }
      }
    } finally {
      this.firing = false;
    }
    let next = Infinity;
    for (const at of this.due.values()) if (at < next) next = at;
    if (next < Infinity) this.arm(next);
  }
}

const clocks = new WeakMap<() => number, SharedClock>();

/** The clock shared by every transmitter reading time from `now` (Date.now in production). */
export function sharedClock(now: () => number): SharedClock {
  let c = clocks.get(now);
  if (!c) clocks.set(now, (c = new SharedClock(now)));
  return c;
}
