/**
 * "ok" can wait for proof that the door opened: a state URL that must match a pattern
 * (polled until the deadline), or an event (a contact, a Home Assistant state) that a flow
 * delivers with confirmEvent().
 */
import type { Credentials } from '../auth/digest';
import type { HttpClient } from '../http/client';
import { HttpError } from '../http/errors';
import type { OpenProblem } from './open-error';
import type { Tally } from './action';

export type Confirmation =
  | { kind: 'none' }
  | { kind: 'poll'; url: string; match: string; intervalMs?: number; timeoutMs?: number }
  | { kind: 'event'; timeoutMs?: number };

export interface ConfirmDeps {
  http: HttpClient;
  credentials?: Credentials;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  closed: () => boolean;
}

export class Confirmer {
  private waiters: Array<() => void> = [];

  constructor(
    private readonly c: Confirmation,
    private readonly deps: ConfirmDeps,
  ) {}

  /** An event confirms the open in flight (kind "event"); closing releases waiters too. */
  event(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** undefined when confirmed (or nothing to confirm), else why not. */
  async confirm(tally: Tally): Promise<OpenProblem | undefined> {
    const c = this.c;
    if (c.kind === 'none') return undefined;
    const timeoutMs = c.timeoutMs ?? 5000;
    if (c.kind === 'event') {
      let timer: NodeJS.Timeout | undefined;
      let waiter: (() => void) | undefined;
      const got = await new Promise<boolean>((resolve) => {
        waiter = () => resolve(true);
        this.waiters.push(waiter);
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      clearTimeout(timer);
      this.waiters = this.waiters.filter((w) => w !== waiter);
      return got && !this.deps.closed() ? undefined : { code: 'door.noConfirmEvent', params: { ms: timeoutMs } };
    }
    const { http, credentials, now, sleep, closed } = this.deps;
    const end = now() + timeoutMs;
    const re = new RegExp(c.match);
    let last = 'nothing';
    while (now() < end && !closed()) {
      try {
        const res = await http.request({ method: 'GET', url: c.url, auth: 'auto', credentials, timeoutMs: Math.max(1, Math.min(2000, end - now())) });
        tally.requests += res.requests;
        const text = res.body.toString('utf8');
        if (res.status >= 200 && res.status < 300 && re.test(text)) return undefined;
        last = `HTTP ${res.status} ${text.slice(0, 60)}`;
      } catch (err) {
        last = err instanceof HttpError ? err.kind : 'error';
      }
      await sleep(Math.min(c.intervalMs ?? 250, Math.max(0, end - now())));
    }
    return { code: 'door.notConfirmed', params: { ms: timeoutMs, last } };
  }
}
