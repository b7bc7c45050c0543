/** The logger every Home Assistant core class takes: a node's log methods fit it. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Doubling reconnect delay with a cap, reset after a good connection. */
export class Backoff {
  private next: number;
  constructor(
    private readonly initialMs = 1000,
    private readonly maxMs = 30000,
  ) {
    this.next = initialMs;
  }
  /** the delay to wait now; the following one doubles */
  take(): number {
    const d = this.next;
    this.next = Math.min(this.next * 2, this.maxMs);
    return d;
  }
  reset(): void {
    this.next = this.initialMs;
  }
}

/** Link states shown per part in the editor. */
export type LinkState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'auth-rejected' | 'closed';
