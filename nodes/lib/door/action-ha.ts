/**
 * The door opens by a Home Assistant service (lock.open, switch.turn_on, button.press) on
 * an entity, through the websocket of an intercom-home-assistant config node, which
 * registers itself as a service caller (nodes/shared/providers.ts).
 */
import { errorText } from '../core/errors';
import { HA_NAME } from './door-form';
import { OpenError } from './open-error';
import type { ActionRunner, HaAction } from './action';

/** What the Home Assistant side registers so a door can call a service. */
export interface HaServiceCaller {
  id?: string;
  callService(domain: string, service: string, data: Record<string, unknown>): Promise<void>;
}

export class HaRunner implements ActionRunner {
  // A service call is an action, not a state: never sent twice.
  readonly idempotent = false;

  constructor(
    private readonly a: HaAction,
    private readonly callers: () => HaServiceCaller[],
  ) {
    if (!HA_NAME.test(a.service)) throw new OpenError('door.haService', { service: a.service.slice(0, 40) });
  }

  async attempt(): Promise<undefined> {
    const a = this.a;
    const callers = this.callers().filter((c) => !a.server || c.id === a.server);
    if (callers.length === 0) throw new OpenError('door.noHaConnection', {}, { outcome: 'unavailable' });
    const [domain, service] = a.service.split('.');
    try {
      await callers[0].callService(domain, service, { entity_id: a.entityId });
    } catch (err) {
      throw new OpenError('door.haFailed', { service: a.service, detail: errorText(err).slice(0, 120) });
    }
    return undefined;
  }
}
