import { getNode, helper, nextMessage } from '../helpers/node-red';
import { delay } from '../helpers/wait';
import dtmfNode = require('../../nodes/intercom-dtmf');

const press = (id: string, digit: string | number, method = 'rfc4733'): Record<string, unknown> => ({
  topic: 'dtmf',
  payload: digit,
  call: { id, direction: 'inbound', from: { user: '200' } },
  dtmf: { method },
});

function collect(id: string): Array<Record<string, any>> {
  const got: Array<Record<string, any>> = [];
  getNode(id).on('input', (m: Record<string, any>) => got.push(m));
  return got;
}

describe('intercom-dtmf node', () => {
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
  });

  test('each digit: "99" from sip-in-shaped messages is two outputs with call and method', async () => {
    await helper.load(dtmfNode, [{ id: 'd', type: 'intercom-dtmf', mode: 'digit', wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const got = collect('out');
    const d = getNode('d');
    d.receive(press('c1', '9'));
    d.receive(press('c1', 9, 'inband'));
    d.receive({ topic: 'ring', call: { id: 'c1' } }); // other call events pass by unused
    await delay(50);
    expect(got.map((m) => [m.topic, m.payload, m.call.id, m.dtmf.method])).toEqual([['dtmf', '9', 'c1', 'rfc4733'], ['dtmf', '9', 'c1', 'inband']]);
  });

  test('4-digit PIN per call; the status never shows the digits', async () => {
    await helper.load(dtmfNode, [{ id: 'd', type: 'intercom-dtmf', mode: 'sequence', length: 4, terminator: '#', interDigitTimeout: 5, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const d = getNode('d');
    const statuses: string[] = [];
    d.on('call:status', (c: { args: Array<{ text?: string }> }) => statuses.push(String(c.args[0].text)));
    const got = nextMessage(getNode('out'));
    for (const k of '12') d.receive(press('a', k));
    d.receive(press('b', '5', 'info'));
    for (const k of '34') d.receive(press('a', k));
    const msg = await got;
    expect(msg).toMatchObject({ topic: 'digits', payload: '1234', call: { id: 'a' }, dtmf: { method: 'rfc4733', reason: 'length', count: 4 } });
    expect(statuses.join(' ')).not.toMatch(/[0-9]{2}|1234/);
  });

  test('inter-digit timeout completes a short sequence with its reason; # ends one early', async () => {
    await helper.load(dtmfNode, [{ id: 'd', type: 'intercom-dtmf', mode: 'sequence', length: 0, terminator: '#', interDigitTimeout: 0.15, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const got = collect('out');
    const d = getNode('d');
    d.receive(press('a', '7'));
    d.receive(press('a', '1'));
    await delay(300);
    d.receive(press('b', '4', 'info'));
    d.receive(press('b', '#', 'rfc4733'));
    await delay(50);
    expect(got.map((m) => [m.payload, m.dtmf.reason, m.dtmf.method])).toEqual([['71', 'inter-digit-timeout', 'rfc4733'], ['4', 'terminator', 'info+rfc4733']]);
  });

  test('listens only on armed calls when so configured; ended forgets a call', async () => {
    await helper.load(dtmfNode, [{ id: 'd', type: 'intercom-dtmf', mode: 'sequence', scope: 'armed', length: 2, interDigitTimeout: 5, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const got = collect('out');
    const d = getNode('d');
    d.receive(press('x', '1'));
    d.receive(press('x', '2')); // x is not armed: ignored
    d.receive({ topic: 'answered', call: { id: 'y' } });
    d.receive(press('y', '3'));
    d.receive({ topic: 'ended', call: { id: 'y' } });
    d.receive({ topic: 'answered', call: { id: 'y' } });
    d.receive(press('y', '4'));
    d.receive(press('y', '5'));
    await delay(50);
    expect(got.map((m) => m.payload)).toEqual(['45']);
  });

  test('bad input is a clear error, not a crash or a digit', async () => {
    await helper.load(dtmfNode, [{ id: 'd', type: 'intercom-dtmf', mode: 'digit', wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const got = collect('out');
    const d = getNode('d');
    const errors: string[] = [];
    d.on('call:error', (c: { args: unknown[] }) => errors.push(String(c.args[0])));
    d.receive(press('c', 'x'));
    d.receive(press('c', '12'));
    d.receive({ topic: 'dtmf', payload: { digit: 1 } });
    d.receive(press('c', 42));
    await delay(50);
    expect(got).toEqual([]);
    expect(errors).toHaveLength(4);
    expect(errors[0]).toMatch(/not a DTMF key/);
  });

  test('an impossible configuration shows an error status instead of failing later silently', async () => {
    await helper.load(dtmfNode, [{ id: 'd', type: 'intercom-dtmf', mode: 'sequence', length: 0, terminator: '', interDigitTimeout: 0, totalTimeout: 0, wires: [[]] }]);
    const d = getNode('d');
    const errors: string[] = [];
    d.on('call:error', (c: { args: unknown[] }) => errors.push(String(c.args[0])));
    d.receive(press('c', '1'));
    await delay(50);
    expect(errors.join(' ')).toMatch(/not configured correctly/);
  });

  test('close clears pending timers (redeploy leaves nothing running)', async () => {
    await helper.load(dtmfNode, [{ id: 'd', type: 'intercom-dtmf', mode: 'sequence', length: 4, interDigitTimeout: 0.2, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const got = collect('out');
    getNode('d').receive(press('a', '1'));
    await helper.unload();
    await delay(300);
    expect(got).toEqual([]);
  });
});
