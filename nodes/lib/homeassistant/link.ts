/**
 * What the two connections of an intercom-home-assistant config node (the MQTT broker and
 * the Home Assistant websocket) share: the state shown per part in the editor, announced
 * on change, and the capped doubling delay between reconnect attempts.
 */
import { EventEmitter } from 'node:events';

/** Link states shown per part in the editor. */
export type LinkState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'auth-rejected' | 'closed';

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

/** A connection's state and its technical detail (the peer's own words), with a `state` event on change. */
export class Link extends EventEmitter {
  state: LinkState = 'idle';
  detail = '';

  get connected(): boolean {
    return this.state === 'connected';
  }

  protected setState(state: LinkState, detail = ''): void {
    if (this.state === state && this.detail === detail) return;
    this.state = state;
    this.detail = detail;
    this.emit('state', state, detail);
  }
}
