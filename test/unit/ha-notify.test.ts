import { ActionRegistry, notificationData, parseCustomActions } from '../../nodes/lib/homeassistant/notify';
import { CommandAttribution } from '../../nodes/lib/homeassistant/attribution';

function registry(expiryMs = 60000) {
  let t = 1000;
  let n = 0;
  const reg = new ActionRegistry({ expiryMs, now: () => t, random: () => `r${++n}` });
  return { reg, advance: (ms: number) => (t += ms) };
}
const OPEN_IGNORE = [
  { key: 'open', title: 'Open' },
  { key: 'ignore', title: 'Ignore' },
];

describe('one-time notification actions', () => {
  test('ids are fresh per ring and a press resolves exactly once', () => {
    const { reg } = registry();
    const a = reg.issue({ ringId: 'c1', callId: 'c1', doorId: 'front' }, OPEN_IGNORE);
    expect(a.map((x) => x.action)).toEqual(['OPEN_r1', 'IGNORE_r2']);
    expect(reg.resolve('OPEN_r1')).toMatchObject({ kind: 'action', key: 'open', ring: { ringId: 'c1' } });
    expect(reg.resolve('OPEN_r1')).toMatchObject({ kind: 'expired', reason: 'already-used' });
    // The other button of the same notification is dead too: one answer per ring.
    expect(reg.resolve('IGNORE_r2')).toMatchObject({ kind: 'expired', reason: 'already-used' });
  });

  test('a press after the expiry is expired, just before it is valid', () => {
    const { reg, advance } = registry(30000);
    reg.issue({ ringId: 'c1' }, OPEN_IGNORE);
    reg.issue({ ringId: 'c2' }, OPEN_IGNORE);
    advance(29999);
    expect(reg.resolve('OPEN_r1').kind).toBe('action');
    advance(1);
    expect(reg.resolve('OPEN_r3')).toMatchObject({ kind: 'expired', reason: 'timeout', ageMs: 30000 });
  });

  test('ending the call kills its actions only; a new ring of the door replaces the old one', () => {
    const { reg } = registry();
    reg.issue({ ringId: 'c1', callId: 'c1', doorId: 'front' }, OPEN_IGNORE);
    reg.issue({ ringId: 'c2', callId: 'c2', doorId: 'back' }, OPEN_IGNORE);
    expect(reg.endRing({ callId: 'c1' })).toBe(2);
    expect(reg.resolve('OPEN_r1')).toMatchObject({ kind: 'expired', reason: 'call-ended' });
    reg.issue({ ringId: 'c3', callId: 'c3', doorId: 'back' }, OPEN_IGNORE);
    expect(reg.resolve('OPEN_r3')).toMatchObject({ kind: 'expired', reason: 'replaced' });
    expect(reg.resolve('OPEN_r5').kind).toBe('action');
  });

  test('unknown and malformed ids are unknown, never an action', () => {
    const { reg } = registry();
    reg.issue({ ringId: 'c1' }, OPEN_IGNORE);
    for (const bad of ['OPEN', 'OPEN_', 'open_r1', 'OPEN_r1 ', '', null, 42, { action: 'OPEN_r1' }]) {
      expect(reg.resolve(bad).kind).toBe('unknown');
    }
  });

  test('custom actions parse to keys; reserved and malformed keys are refused', () => {
    expect(parseCustomActions('Talk, Let in:let_in')).toEqual([
      { key: 'talk', title: 'Talk' },
      { key: 'let_in', title: 'Let in' },
    ]);
    expect(() => parseCustomActions('Open it:open')).toThrow(expect.objectContaining({ code: 'ha.notify.reservedKey', params: { key: 'open' } }));
    expect(() => parseCustomActions('X:bad key')).toThrow(expect.objectContaining({ code: 'ha.notify.badKey', params: { key: 'bad key' } }));
    expect(() => parseCustomActions('A:a, B:a')).toThrow(expect.objectContaining({ code: 'ha.notify.duplicateKey', params: { key: 'a' } }));
  });

  test('service data carries image, actions, tag and an Android timeout', () => {
    const d = notificationData({ title: 'T', message: 'M', image: '/api/image_proxy/image.x_snapshot', actions: [{ action: 'OPEN_1', title: 'Open' }], tag: 'intercom_x', expirySeconds: 45 });
    expect(d).toMatchObject({ title: 'T', message: 'M', data: { image: '/api/image_proxy/image.x_snapshot', tag: 'intercom_x', timeout: 45, actions: [{ action: 'OPEN_1', title: 'Open' }] } });
  });
});

describe('who asked', () => {
  const ev = (domain: string, service: string, entity: string, user: string | null) => ({
    event_type: 'call_service',
    data: { domain, service, service_data: { entity_id: entity } },
    context: { user_id: user },
  });

  test('a service call seen before or after the command attributes it, once', async () => {
    const a = new CommandAttribution();
    a.onEvent(ev('lock', 'open', 'lock.front', 'u1'));
    expect(await a.who('lock', ['open'], 'lock.front', 0)).toEqual({ userId: 'u1' });
    expect(await a.who('lock', ['open'], 'lock.front', 0)).toBeUndefined();
    const later = a.who('button', ['press'], 'button.front_open', 1000);
    a.onEvent(ev('button', 'press', 'button.other_open', 'u9'));
    a.onEvent(ev('button', 'press', 'button.front_open', 'u2'));
    expect(await later).toEqual({ userId: 'u2' });
  });

  test('no matching call within the wait: no user, not a wrong one', async () => {
    const a = new CommandAttribution();
    a.onEvent(ev('lock', 'lock', 'lock.front', 'u1'));
    expect(await a.who('lock', ['open'], 'lock.front', 30)).toBeUndefined();
  });
});
