/**
 * The journal's promise is "fsync'ed before the msg goes on", and a kill -9 alone cannot
 * check that: the process dies but the page cache survives, so a journal that only wrote
 * before the ack passes too. Here the kill is followed by a power cut of the disk itself
 * (test/helpers/loopfs.ts): the journal lives on an ext4 loop device whose backing image
 * sits on a second loop-mounted file system; freezing that outer file system stops every
 * write the device sends, and the image copied at that instant is exactly what the device
 * had received. What the page cache held and nobody fsync'ed is not in the copy, as after a
 * real power cut. The copy's ext4 journal is replayed (e2fsck) and the file read out of it.
 *
 *  1. intercom-journal in a real Node-RED child, 10,000 events planned, kill -9 mid-run,
 *     power cut: every event whose msg left the node is on the device.
 *  2. The control that shows the method can fail: the same writer with fsync off, killed
 *     and cut the same way: every acknowledged event is still in the live file (kill -9
 *     alone would pass it) but events are missing from the device.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describeWithLoopFs, PowerCutDisk } from '../helpers/loopfs';
import { freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { ensureBuilt, prepareUserDir, root, startNodeRed, stopNodeRed, type Child } from '../node/access-node-red-child';

function flow(file: string, total: number) {
  const next = (n: string) => `{ topic: 'ring', seq: ${n}, door: 'gate', call: { id: 'e' + ${n}, from: { user: '84951234567' }, source: '127.0.0.1:5060' } }`;
  return [
    { id: 'tab', type: 'tab', label: 'power cut' },
    { id: 'inj', type: 'inject', z: 'tab', once: true, onceDelay: 0.1, repeat: '', topic: '', props: [], wires: [['start']] },
    { id: 'start', type: 'function', z: 'tab', func: `return ${next('0')};`, outputs: 1, wires: [['j']] },
    { id: 'j', type: 'intercom-journal', z: 'tab', file, wires: [['ack']] },
    { id: 'ack', type: 'function', z: 'tab', outputs: 1, func: `node.log('ACK ' + msg.call.id); const n = msg.seq + 1; if (n >= ${total}) return null; return ${next('n')};`, wires: [['j']] },
  ];
}

/** callIds of the JSON lines in `text`; a torn last line (no newline) is not an event. */
function ids(text: string | Buffer | null): Set<string> {
  const out = new Set<string>();
  if (!text) return out;
  const lines = text.toString('utf8').split('\n');
  lines.pop();
  for (const l of lines) {
    if (!l) continue;
    out.add((JSON.parse(l) as { callId: string }).callId);
  }
  return out;
}

describeWithLoopFs('journal: acknowledged means on the device (kill -9, then a power cut)', () => {
  let disk: PowerCutDisk | null = null;
  let child: Child | null = null;

  beforeAll(() => {
    ensureBuilt(['nodes/intercom-journal.ts', 'nodes/lib/journal/writer.ts', 'nodes/lib/journal/durable.ts', 'nodes/lib/journal/repair.ts']);
    disk = PowerCutDisk.create();
  }, 120_000);
  afterAll(async () => {
    await stopNodeRed(child);
    disk?.dispose();
  });

  test('every event intercom-journal passed on is on the device after kill -9 + power cut', async () => {
    const d = disk!;
    const userDir = path.join(d.mountPoint, 'userdir');
    const file = path.join(d.mountPoint, 'events.jsonl');
    // Node-RED's own files live on the same disk, as in a real install: only the journal is judged
    prepareUserDir(userDir, await freeTcpPort(), flow(file, 10_000));
    child = startNodeRed(userDir);
    const killAt = 800 + Math.floor(Math.random() * 1200);
    await waitFor(() => child!.acks.length >= killAt || child!.proc.exitCode !== null, `${killAt} acknowledged events`, 60_000, 5).catch((err) => {
      throw new Error(`${(err as Error).message}\n${child!.log.slice(-20).join('\n')}`);
    });
    child.proc.kill('SIGKILL');
    await child.exited;
    const acked = [...child.acks];
    child = null;
    const image = d.powerCut('nodered.img');
    const onDevice = ids(PowerCutDisk.read(image, 'events.jsonl'));
    if (process.env.FAULT_VERBOSE) console.log(`acknowledged ${acked.length}, on the device ${onDevice.size}`);
    expect(acked.length).toBeGreaterThanOrEqual(killAt);
    expect(acked.length).toBeLessThan(10_000); // killed mid-run
    expect(acked.filter((id) => !onDevice.has(id))).toEqual([]);
  }, 120_000);

  test('control: a writer without fsync passes kill -9 alone but loses acknowledged events at the power cut', async () => {
    const d = disk!;
    const file = path.join(d.mountPoint, 'nofsync.jsonl');
    const script = path.join(d.mountPoint, 'nofsync-writer.js');
    writeFileSync(
      script,
      `const { Journal } = require(${JSON.stringify(path.join(root, 'dist/nodes/lib/journal/writer.js'))});
       const j = new Journal({ file: ${JSON.stringify(file)}, fsync: false });
       (async () => { for (let i = 0; ; i++) { await j.append({ event: 'ring', door: 'gate', callId: 'n' + i }); process.stdout.write('ACK n' + i + '\\n'); if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1)); } })();`,
    );
    const proc = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    let buf = '';
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith('ACK ')) acked.push(l.slice(4));
    });
    const exited = new Promise((r) => proc.once('exit', r));
    const drained = new Promise((r) => proc.stdout!.once('close', r));
    await waitFor(() => acked.length >= 3000, '3000 acknowledged events', 30_000, 5);
    proc.kill('SIGKILL');
    await exited;
    await drained;
    const image = d.powerCut('nofsync.img');
    const live = ids(readFileSync(file));
    const onDevice = ids(PowerCutDisk.read(image, 'nofsync.jsonl'));
    if (process.env.FAULT_VERBOSE) console.log(`control: acknowledged ${acked.length}, in the live file ${live.size}, on the device ${onDevice.size}`);
    // kill -9 alone: everything acknowledged is in the file (the page cache outlived the process)
    expect(acked.filter((id) => !live.has(id))).toEqual([]);
    // the power cut: what was never fsync'ed is gone, so this method tells fsync from write
    expect(acked.filter((id) => !onDevice.has(id)).length).toBeGreaterThan(0);
  }, 120_000);
});
