/**
 * The journal's promise, tested against a real crash: a Node-RED child journals 10,000
 * events in a loop and logs each acknowledgement (the msg left intercom-journal, so the
 * line was fsync'ed); we kill -9 it mid-run, restart it on the same file, and check that
 * every acknowledged event is there and the file reads cleanly.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { ensureBuilt, prepareUserDir, startNodeRed, stopNodeRed, type Child } from './access-node-red-child';

function flow(run: string, file: string, total: number) {
  const next = (n: string) =>
    `{ topic: 'ring', seq: ${n}, door: 'gate', call: { id: '${run}-' + ${n}, from: { user: '84951234567' }, source: '127.0.0.1:5060' } }`;
  return [
    { id: 'tab', type: 'tab', label: 'crash test' },
    { id: 'inj', type: 'inject', z: 'tab', once: true, onceDelay: 0.1, repeat: '', topic: '', props: [], wires: [['start']] },
    { id: 'start', type: 'function', z: 'tab', func: `return ${next('0')};`, outputs: 1, wires: [['j']] },
    { id: 'j', type: 'intercom-journal', z: 'tab', file, wires: [['ack']] },
    {
      id: 'ack',
      type: 'function',
      z: 'tab',
      outputs: 1,
      func: `node.log('ACK ' + msg.call.id); const n = msg.seq + 1; if (n >= ${total}) { node.log('DONE ${run}'); return null; } return ${next('n')};`,
      wires: [['j']],
    },
  ];
}

describe('intercom-journal survives kill -9 of Node-RED', () => {
  let dir: string;
  let child: Child | null = null;
  beforeAll(() => ensureBuilt(['nodes/intercom-journal.ts', 'nodes/lib/journal/writer.ts', 'nodes/lib/journal/query.ts', 'nodes/shared/journal-event.ts']), 120_000);
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'journal-crash-'));
  });
  afterEach(async () => {
    await stopNodeRed(child);
    child = null;
    rmSync(dir, { recursive: true, force: true });
  });

  test('every acknowledged event is in the file after a crash mid-run, and the file stays readable', async () => {
    const port = await freeTcpPort();
    const file = path.join(dir, 'events.jsonl');

    // Run 1: 10,000 events planned; killed without warning once a good share is acknowledged.
    prepareUserDir(dir, port, flow('r1', file, 10_000));
    child = startNodeRed(dir);
    const killAt = 1500 + Math.floor(Math.random() * 1500);
    await waitFor(() => child!.acks.length >= killAt || child!.proc.exitCode !== null, `${killAt} acks`, 40_000, 5).catch((err) => {
      throw new Error(`${(err as Error).message}\n${child!.log.slice(-20).join('\n')}`);
    });
    expect(child.proc.exitCode).toBeNull();
    child.proc.kill('SIGKILL');
    await child.exited;
    const acked = [...child.acks];
    expect(acked.length).toBeGreaterThanOrEqual(killAt);
    expect(acked.length).toBeLessThan(10_000); // it really was mid-run

    // Run 2 on the same file: the journal repairs any torn tail and appends cleanly.
    writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(flow('r2', file, 100)));
    child = startNodeRed(dir);
    await waitFor(() => child!.acks.length >= 100, 'run 2 acks', 30_000, 10);
    child.proc.kill('SIGTERM');
    await child.exited;

    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe(''); // ends with a newline: no torn line left behind
    const events = lines.map((l, i) => {
      try {
        return JSON.parse(l) as { callId: string; event: string; door: string };
      } catch {
        throw new Error(`line ${i + 1} is not JSON: ${l.slice(0, 80)}`);
      }
    });
    const ids = new Set(events.map((e) => e.callId));
    const missing = acked.filter((id) => !ids.has(id));
    expect(missing).toEqual([]);
    for (let i = 0; i < 100; i++) expect(ids.has(`r2-${i}`)).toBe(true);
    expect(events[0]).toMatchObject({ event: 'ring', door: 'gate' });
  }, 90_000);
});
