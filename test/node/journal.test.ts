import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { getNode, helper, nextMessage } from '../helpers/node-red';
import journalNode = require('../../nodes/intercom-journal');

describe('intercom-journal node', () => {
  let dir: string;
  beforeEach((done) => {
    dir = mkdtempSync(path.join(tmpdir(), 'journal-node-'));
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('journals a ring and passes the message on after the line is written', async () => {
    const file = path.join(dir, 'events.jsonl');
    const flow = [
      { id: 'j1', type: 'intercom-journal', file, note: 'front panel', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(journalNode, flow);
    const out = getNode('out');
    const got = nextMessage(out);
    getNode('j1').receive({ topic: 'ring', call: { id: 'c1', from: { user: '200' }, source: '127.0.0.1:5070' }, payload: 'ringing' });
    const msg = await got;
    expect(msg.journal.file).toBe(file);
    // The line is on disk when the message arrives.
    const line = JSON.parse(readFileSync(file, 'utf8').trim());
    expect(line).toMatchObject({ event: 'ring', caller: '200', source: '127.0.0.1:5070', callId: 'c1', result: 'ringing', note: 'front panel' });
  });

  test('reports a write failure as an error, not a crash', async () => {
    // A path whose parent is a regular file can never be created.
    const blocker = path.join(dir, 'blocker');
    require('node:fs').writeFileSync(blocker, '');
    const flow = [{ id: 'j1', type: 'intercom-journal', file: path.join(blocker, 'x.jsonl'), wires: [[]] }];
    await helper.load(journalNode, flow);
    const n = getNode('j1');
    const errored = new Promise<string>((resolve) => {
      n.on('call:error', (call: { args: unknown[] }) => resolve(String(call.args[0])));
    });
    n.receive({ topic: 'ring' });
    expect(await errored).toMatch(/journal write .* failed/);
  });

  test('records whitelist decisions, never typed digits, and answers queries as events or CSV', async () => {
    const file = path.join(dir, 'events.jsonl');
    const flow = [
      { id: 'j1', type: 'intercom-journal', file, maxSizeMB: '1', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(journalNode, flow);
    const out = getNode('out');
    const j = getNode('j1');
    const send = async (m: Record<string, unknown>) => {
      const got = nextMessage(out);
      j.receive(m);
      return got;
    };
    await send({ topic: 'ring', door: { doorId: 'gate', doorName: 'Gate' }, call: { id: 'c1', from: { user: '84951234567' }, source: { address: '10.0.0.7', port: 5060 } }, access: { result: 'denied', reason: 'not-listed', event: 'ring' } });
    await send({ topic: 'dtmf', payload: '4711', door: 'gate', call: { id: 'c1', from: { user: '84951234567' } } });
    await send({ topic: 'open', payload: 'ok', door: 'front', call: { id: 'c2', from: { user: '200' } } });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('4711');
    const first = JSON.parse(text.split('\n')[0]);
    expect(first).toMatchObject({ event: 'ring', door: 'gate', caller: '84951234567', source: '10.0.0.7:5060', result: 'denied', reason: 'not-listed' });

    const q = await send({ topic: 'query', payload: { door: 'gate', caller: '+7 495 123-45-67' } });
    expect(q.payload.map((e: { event: string }) => e.event)).toEqual(['ring', 'dtmf']);
    expect(q.journal.count).toBe(2);
    const csv = await send({ topic: 'query', payload: { result: 'ok' }, format: 'csv' });
    expect(csv.payload.split('\r\n')[1]).toMatch(/^[^,]+,open,front,200,/);
    // Queries are not journaled themselves.
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  test('a decision is the result of its own event only: a later "open" journals its own outcome', async () => {
    const file = path.join(dir, 'events.jsonl');
    await helper.load(journalNode, [{ id: 'j1', type: 'intercom-journal', file, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const got = nextMessage(getNode('out'));
    getNode('j1').receive({ topic: 'open', payload: 'failed', door: 'gate', access: { result: 'allowed', reason: 'listed', event: 'ring' } });
    await got;
    expect(JSON.parse(readFileSync(file, 'utf8').trim())).toMatchObject({ event: 'open', result: 'failed', reason: 'listed' });
  });

  test('the status counts events with the right plural, and a bad rotation setting is refused at deploy', async () => {
    const file = path.join(dir, 'events.jsonl');
    await helper.load(journalNode, [
      { id: 'j1', type: 'intercom-journal', file, wires: [['out']] },
      { id: 'j2', type: 'intercom-journal', file: path.join(dir, 'other.jsonl'), maxSizeMB: '-1', wires: [[]] },
      { id: 'out', type: 'helper' },
    ]);
    const texts = (): string[] => (getNode('j1').status as unknown as { args: Array<Array<{ text: string }>> }).args.map((a) => a[0].text);
    for (let i = 0; i < 2; i++) {
      const got = nextMessage(getNode('out'));
      getNode('j1').receive({ topic: 'ring' });
      await got;
    }
    expect(texts().slice(-2)).toEqual(['1 event', '2 events']);
    const j2 = getNode('j2');
    expect((j2.error as unknown as { args: unknown[][] }).args.map((a) => String(a[0]))).toEqual(['journal not started: Rotate at size (MB) must be a number from 0 to 1000000, got "-1"']);
    const err = new Promise<string>((resolve) => j2.on('call:error', (c: { args: unknown[] }) => resolve(String(c.args[0]))));
    j2.receive({ topic: 'ring' });
    expect(await err).toMatch(/journal not started: bad configuration/);
  });
});
