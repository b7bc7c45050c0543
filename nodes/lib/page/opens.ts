/**
 * Open from a page goes through the flow: each press becomes one message out of the page
 * node, and the flow's answer (a message back into the node naming the request) goes back
 * to the page that pressed. A press the page sends twice (a double click, a retry after a
 * lost answer) is one request, and a user gets one request at a time: the door opens once
 * per press, never twice for one. The page never opens the door itself; only the flow does.
 */
import { randomUUID } from 'node:crypto';

export type OpenResult = 'ok' | 'failed' | 'no-answer' | 'closed';

export interface OpenOutcome {
  result: OpenResult;
  /** why not, as the flow said it (door-open's error, a whitelist's reason) */
  reason?: string;
}

export interface OpenRequest {
  id: string;
  user: string;
  done: Promise<OpenOutcome>;
}

interface Pending extends OpenRequest {
  key: string;
  settle(o: OpenOutcome): void;
  timer: ReturnType<typeof setTimeout>;
}

export interface OpenRequestOptions {
  /** how long a press waits for the flow's answer */
  waitMs: number;
  /** a user's next press is taken this long after the last one at the earliest (default 1.5 s) */
  minIntervalMs?: number;
  now?: () => number;
}

export type BeginResult = { request: OpenRequest; fresh: boolean } | { refused: 'busy' | 'too-soon' };

export class OpenRequests {
  private readonly pending = new Map<string, Pending>();
  private readonly lastPress = new Map<string, number>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: OpenRequestOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * A press by `user`, identified by the page's own `key` for it. `fresh` is false when the
   * same press is already waiting (the flow is not asked again).
   */
  begin(user: string, key: string): BeginResult {
    if (this.closed) return { refused: 'busy' };
    for (const p of this.pending.values()) {
      if (p.user !== user) continue;
      if (p.key === key) return { request: p, fresh: false };
      return { refused: 'busy' };
    }
    const now = this.now();
    const last = this.lastPress.get(user);
    if (last !== undefined && now - last < (this.opts.minIntervalMs ?? 1500)) return { refused: 'too-soon' };
    this.lastPress.set(user, now);
    const id = randomUUID();
    let settle!: (o: OpenOutcome) => void;
    const done = new Promise<OpenOutcome>((r) => (settle = r));
    const p: Pending = {
      id,
      user,
      key,
      done,
      settle: (o) => {
        if (this.pending.get(id) !== p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        settle(o);
      },
      timer: setTimeout(() => p.settle({ result: 'no-answer' }), this.opts.waitMs),
    };
    this.pending.set(id, p);
    return { request: p, fresh: true };
  }

  /** The flow answered request `id`; false when it is not waiting (answered already, timed out). */
  answer(id: unknown, outcome: OpenOutcome): boolean {
    const p = typeof id === 'string' ? this.pending.get(id) : undefined;
    if (!p) return false;
    p.settle(outcome);
    return true;
  }

  get waiting(): number {
    return this.pending.size;
  }

  close(): void {
    this.closed = true;
    for (const p of [...this.pending.values()]) p.settle({ result: 'closed' });
    this.lastPress.clear();
  }
}

/**
 * The flow's answer in a message: `payload` "ok" (door-open's result) or true opened the
 * door; anything else did not, with the reason the flow gave (msg.door.error of door-open,
 * msg.access.reason of a whitelist, or a text payload such as "denied"). The request
 * itself coming back unchanged (payload "open", a denied branch wired back) did not open.
 */
export function outcomeOf(msg: { payload?: unknown; door?: unknown; access?: unknown }): OpenOutcome {
  if (msg.payload === 'ok' || msg.payload === true) return { result: 'ok' };
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim().slice(0, 200) : undefined);
  const field = (o: unknown, k: string): unknown => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined);
  // 'failed' is door-open's word; 'open' is the request itself, sent back without opening.
  const reason = text(field(msg.door, 'error')) ?? text(field(msg.access, 'reason')) ?? (msg.payload === 'failed' || msg.payload === 'open' ? undefined : text(msg.payload));
  return { result: 'failed', reason };
}
