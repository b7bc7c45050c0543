import { getNode, helper, nextMessage, type TestNode } from '../helpers/node-red';
import { waitFor } from '../helpers/wait';
import timeWindowNode = require('../../nodes/intercom-time-window');

async function route(n: TestNode, msg: Record<string, unknown>): Promise<{ out: 'in' | 'out'; msg: Record<string, any> }> {
  const a = nextMessage(getNode('in'), 2000).then((m) => ({ out: 'in' as const, msg: m }));
  const b = nextMessage(getNode('out'), 2000).then((m) => ({ out: 'out' as const, msg: m }));
  n.receive(msg);
  return Promise.race([a, b]);
}

const ALL = { sun: '00:00-24:00', mon: '00:00-24:00', tue: '00:00-24:00', wed: '00:00-24:00', thu: '00:00-24:00', fri: '00:00-24:00', sat: '00:00-24:00' };

describe('intercom-time-window node', () => {
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
  });

  const flow = (cfg: Record<string, unknown>) => [
    { id: 't1', type: 'intercom-time-window', wires: [['in'], ['out']], ...cfg },
    { id: 'in', type: 'helper' },
    { id: 'out', type: 'helper' },
  ];

  test('always-open schedule: in-window with the state in msg.timeWindow', async () => {
    await helper.load(timeWindowNode, flow({ timezone: 'Europe/Berlin', ...ALL }));
    const r = await route(getNode('t1'), { topic: 'ring' });
    expect(r.out).toBe('in');
    expect(r.msg.timeWindow).toMatchObject({ open: true, reason: 'schedule', timezone: 'Europe/Berlin', nextChange: null });
  });

  test('a holiday today closes the gate (exception by the zone\'s date)', async () => {
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date());
    await helper.load(timeWindowNode, flow({ timezone: 'America/New_York', ...ALL, exceptions: `${today} closed` }));
    const r = await route(getNode('t1'), { topic: 'ring' });
    expect(r.out).toBe('out');
    expect(r.msg.timeWindow).toMatchObject({ open: false, reason: 'exception' });
  });

  test('override by msg: open house for 2 hours, then back to auto; status follows', async () => {
    await helper.load(timeWindowNode, flow({ timezone: 'UTC' }));
    const t = getNode('t1');
    const statuses: string[] = [];
    t.on('call:status', (c: { args: Array<{ text: string }> }) => statuses.push(c.args[0].text));
    expect((await route(t, { topic: 'ring' })).out).toBe('out');
    t.receive({ topic: 'override', payload: { state: 'open', minutes: 120 } });
    await waitFor(() => statuses.some((s) => /^open \(override\) until/.test(s)), 'override status');
    const r = await route(t, { topic: 'ring' });
    expect(r.out).toBe('in');
    expect(r.msg.timeWindow.reason).toBe('override');
    expect(Date.parse(r.msg.timeWindow.nextChange) - Date.now()).toBeGreaterThan(119 * 60_000);
    t.receive({ topic: 'override', payload: 'auto' });
    expect((await route(t, { topic: 'ring' })).out).toBe('out');
  });

  test('a bad override is an error, a bad schedule sends everything out-of-window', async () => {
    await helper.load(timeWindowNode, flow({ timezone: 'UTC', mon: '9-18' }));
    const t = getNode('t1');
    const errs: string[] = [];
    t.on('call:error', (c: { args: unknown[] }) => errs.push(String(c.args[0])));
    const r = await route(t, { topic: 'ring' });
    expect(r.out).toBe('out');
    expect(r.msg.timeWindow.reason).toBe('bad-schedule');
    t.receive({ topic: 'override', payload: { state: 'ajar' } });
    await waitFor(() => errs.some((e) => /state must be/.test(e)), 'override error');
  });

  test('a bad schedule names each broken day as the dialog labels it, not by its code', async () => {
    await helper.load(timeWindowNode, flow({ timezone: 'UTC', mon: '9-18', sat: 'noon' }));
    const t = getNode('t1');
    const errors = (t.error as unknown as { getCalls(): Array<{ args: unknown[] }> }).getCalls().map((c) => String(c.args[0]));
    expect(errors).toEqual([
      'schedule not valid, every message goes to out-of-window: Monday: bad time range "9-18" (want HH:MM-HH:MM); Saturday: bad time range "noon" (want HH:MM-HH:MM)',
    ]);
  });

  test('an unknown time zone is reported', async () => {
    await helper.load(timeWindowNode, flow({ timezone: 'Mars/Olympus' }));
    const t = getNode('t1');
    const r = await route(t, { topic: 'ring' });
    expect(r.out).toBe('out');
  });
});
