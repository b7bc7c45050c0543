/**
 * "Who asked": an MQTT command carries no user, but HA fires a call_service event (with the
 * calling user's id in its context) on its bus for the service call that produced it. We
 * watch those events over the websocket and match a command to the call for its entity.
 * The websocket event and the MQTT message race, so a command waits briefly for its match.
 */
import type { HaEvent } from './ws-link';

interface ServiceCall {
  domain: string;
  service: string;
  entityIds: string[];
  userId: string | null;
  at: number;
}

export interface Attribution {
  userId: string;
}

export class CommandAttribution {
  private calls: ServiceCall[] = [];
  private waiters: Array<{ match: (c: ServiceCall) => boolean; resolve: (c: ServiceCall | undefined) => void }> = [];

  constructor(
    private readonly now: () => number = Date.now,
    private readonly keepMs = 5000,
  ) {}

  /** Feed every call_service event here. */
  onEvent(ev: HaEvent): void {
    const d = ev.data as { domain?: unknown; service?: unknown; service_data?: { entity_id?: unknown } };
    if (typeof d.domain !== 'string' || typeof d.service !== 'string') return;
    const raw = d.service_data?.entity_id;
    const entityIds = (Array.isArray(raw) ? raw : [raw]).filter((x): x is string => typeof x === 'string');
    const call: ServiceCall = { domain: d.domain, service: d.service, entityIds, userId: ev.context?.user_id ?? null, at: this.now() };
    const t = this.now();
    this.calls = this.calls.filter((c) => t - c.at < this.keepMs);
    const w = this.waiters.find((x) => x.match(call));
    if (w) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(call);
      return;
    }
    this.calls.push(call);
  }

  /** The user behind a recent (or imminent) call of domain.service on entityId, if HA said. */
  who(domain: string, services: string[], entityId: string, waitMs: number): Promise<Attribution | undefined> {
    const match = (c: ServiceCall): boolean => c.domain === domain && services.includes(c.service) && c.entityIds.includes(entityId);
    const t = this.now();
    const i = this.calls.findIndex((c) => match(c) && t - c.at < this.keepMs);
    const toResult = (c: ServiceCall | undefined): Attribution | undefined => (c && c.userId ? { userId: c.userId } : undefined);
    if (i >= 0) {
      // Consumed: one service call attributes one command.
      const [c] = this.calls.splice(i, 1);
      return Promise.resolve(toResult(c));
    }
    if (waitMs <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = {
        match,
        resolve: (c: ServiceCall | undefined) => {
          clearTimeout(timer);
          resolve(toResult(c));
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== waiter);
        resolve(undefined);
      }, waitMs);
      this.waiters.push(waiter);
    });
  }

  clear(): void {
    for (const w of this.waiters) w.resolve(undefined);
    this.waiters = [];
    this.calls = [];
  }
}
