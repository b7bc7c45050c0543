/**
 * DTMF and Home Assistant opens go through providers that other nodes register at run
 * time (nodes/shared/providers.ts). Without one, the open fails with a clear reason.
 */
import { DoorOpener, type DoorAction } from '../../nodes/lib/door/opener';
import { providers, registerProvider } from '../../nodes/shared/providers';
import { says } from '../helpers/says';

/** What a configuration refused, as the user reads it. */
function thrown(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return says(err as { code: string; params: Record<string, unknown> });
  }
  return undefined;
}

function opener(action: DoorAction): DoorOpener {
  return new DoorOpener({
    doorId: 'front',
    doorName: 'Front',
    action,
    minIntervalMs: 0,
    dtmfSenders: () => providers('dtmf-sender'),
    haCallers: () => providers('ha-service-caller'),
  });
}

describe('DTMF open', () => {
  test('no SIP side registered: unavailable, with what to add', async () => {
    const r = await opener({ kind: 'dtmf', digits: '9' }).open({ callId: 'c1' });
    expect(r).toMatchObject({ ok: false, outcome: 'unavailable', attempts: 1 });
    expect(says(r.error)).toMatch(/no DTMF sender available: add an intercom-sip-account/);
  });

  test('sends the digit into the call named by the message, through the registered sender', async () => {
    const sent: Array<[string | undefined, string]> = [];
    const off = registerProvider('dtmf-sender', {
      sendDtmf: async (callId, digits) => {
        if (callId !== 'c1') return false;
        sent.push([callId, digits]);
        return true;
      },
    });
    try {
      const o = opener({ kind: 'dtmf', digits: '9#' });
      expect(await o.open({ callId: 'c1' })).toMatchObject({ ok: true });
      expect(sent).toEqual([['c1', '9#']]);
      const other = await o.open({ callId: 'gone' });
      expect(other).toMatchObject({ ok: false });
      expect(says(other.error)).toMatch(/no live call gone/);
      const none = await o.open({});
      expect(says(none.error)).toMatch(/needs msg.call.id/);
    } finally {
      off();
    }
    expect(providers('dtmf-sender')).toHaveLength(0);
  });

  test('a digit that is not DTMF is refused at configuration', () => {
    expect(thrown(() => opener({ kind: 'dtmf', digits: '9; rm' }))).toMatch(/DTMF digits must be/);
  });
});

describe('Home Assistant service open', () => {
  test('no Home Assistant connection: unavailable, with what to add', async () => {
    const r = await opener({ kind: 'ha', service: 'lock.open', entityId: 'lock.front' }).open();
    expect(r).toMatchObject({ ok: false, outcome: 'unavailable' });
    expect(says(r.error)).toMatch(/no Home Assistant connection available/);
  });

  test('calls domain.service with the entity through the registered caller; its failure is reported', async () => {
    const calls: unknown[] = [];
    let fail = false;
    const off = registerProvider('ha-service-caller', {
      id: 'ha1',
      callService: async (domain, service, data) => {
        if (fail) throw new Error('entity not found');
        calls.push([domain, service, data]);
      },
    });
    try {
      const o = opener({ kind: 'ha', service: 'switch.turn_on', entityId: 'switch.gate' });
      expect(await o.open()).toMatchObject({ ok: true });
      expect(calls).toEqual([['switch', 'turn_on', { entity_id: 'switch.gate' }]]);
      fail = true;
      const r = await o.open();
      expect(r).toMatchObject({ ok: false });
      expect(r.error).toEqual({ code: 'door.haFailed', params: { service: 'switch.turn_on', detail: 'entity not found' } });
      expect(says(r.error)).toBe('Home Assistant switch.turn_on failed: entity not found');
      const wrongServer = await opener({ kind: 'ha', service: 'lock.open', entityId: 'lock.x', server: 'other' }).open();
      expect(wrongServer.outcome).toBe('unavailable');
    } finally {
      off();
    }
  });

  test('a service that is not domain.service is refused at configuration', () => {
    expect(thrown(() => opener({ kind: 'ha', service: 'open the door', entityId: 'lock.x' }))).toMatch(/must look like lock.open/);
  });
});

describe('generic HTTP open', () => {
  test('a message may fill the path, never the host', () => {
    expect(thrown(() => opener({ kind: 'http', method: 'GET', url: 'http://{{msg.host}}/open' }))).toMatch(/host may not come from a message/);
    expect(thrown(() => opener({ kind: 'http', method: 'GET', url: 'http://user@{{msg.host}}:80/open' }))).toMatch(/host may not come from a message/);
    expect(() => opener({ kind: 'http', method: 'GET', url: 'http://127.0.0.1:8080/open?who={{msg.call.from.user}}' })).not.toThrow();
    expect(thrown(() => opener({ kind: 'http', method: 'GET', url: 'file:///etc/passwd' }))).toMatch(/must start with http/);
  });
});
