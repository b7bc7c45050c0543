/**
 * Disk full under intercom-journal, on a real (small, loop-mounted ext4) file system:
 * events are refused with a clear error and a red status that counts them, nothing the
 * node passed on is lost, nothing it refused is in the file (a retry would add it twice),
 * the file stays clean JSON Lines, and once space is freed the status says so and the next
 * event is written, both within 2 s.
 */
import * as path from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { getNode, helper } from '../helpers/node-red';
import { describeWithLoopFs, LoopFs } from '../helpers/loopfs';
import { delay, waitFor } from '../helpers/wait';
import journalNode = require('../../nodes/intercom-journal');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

jest.setTimeout(60_000);

describeWithLoopFs('journal on a disk that fills up', () => {
  let dir: string;
  let fs4: LoopFs;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'journal-full-'));
    fs4 = LoopFs.create(path.join(dir, 'small.img'), 4 << 20);
    await new Promise<void>((r) => helper.startServer(() => r()));
  });
  afterEach(() => helper.unload());
  afterAll(async () => {
    await new Promise((r) => helper.stopServer(r));
    fs4?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('refused with a clear error and status while full; written again < 2 s after space is freed', async () => {
    const file = path.join(fs4.mountPoint, 'events.jsonl');
    await helper.load(
      [journalNode, catchNode],
      [
        { id: 't', type: 'tab' },
        { id: 'j', z: 't', type: 'intercom-journal', file, wires: [['out']] },
        { id: 'c', z: 't', type: 'catch', scope: ['j'], wires: [['errs']] },
        { id: 'out', z: 't', type: 'helper' },
        { id: 'errs', z: 't', type: 'helper' },
      ],
    );
    const j = getNode('j');
    const acked: string[] = [];
    const errors: Array<{ id: string; text: string }> = [];
    getNode('out').on('input', (m: any) => acked.push(m.call.id));
    getNode('errs').on('input', (m: any) => errors.push({ id: m.call.id, text: m.error.message }));
    const statuses: Array<{ at: number; fill: string; text: string }> = [];
    const status = j.status.bind(j);
    j.status = (s: any) => {
      statuses.push({ at: Date.now(), fill: s.fill, text: s.text });
      return status(s);
    };
    let n = 0;
    const send = () => j.receive({ topic: 'ring', door: 'gate', call: { id: `c${n++}`, from: { user: '74951234567' }, source: '127.0.0.1:5060' } });

    for (let i = 0; i < 50; i++) send();
    await waitFor(() => acked.length === 50, '50 events written');

    const giveBack = fs4.fill();
    // the file's last block may still have room for a line or two: write until refused
    for (let i = 0; i < 50 && !errors.length; i++) {
      send();
      await waitFor(() => acked.length + errors.length === n, 'an answer');
    }
    expect(errors.length).toBe(1);
    const ackedWhenFull = acked.length;
    for (let i = 0; i < 20; i++) {
      send();
      await delay(5);
    }
    await waitFor(() => errors.length === 21, '21 refusals', 10_000);
    expect(acked.length).toBe(ackedWhenFull);
    expect(errors[0].text).toMatch(/disk holding events\.jsonl is full/);
    expect(statuses[statuses.length - 1]).toMatchObject({ fill: 'red', text: 'disk full: 21 events not written' });

    // the file: clean lines, every acknowledged event, none of the refused ones
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    const inFile = new Set(lines.map((l) => (JSON.parse(l) as { callId: string }).callId));
    expect(acked.filter((id) => !inFile.has(id))).toEqual([]);
    expect(errors.filter((e) => inFile.has(e.id))).toEqual([]);

    // space comes back; a panel rings every 100 ms meanwhile
    const freedAt = Date.now();
    giveBack();
    const before = acked.length;
    const ringing = setInterval(send, 100);
    try {
      await waitFor(() => acked.length > before, 'an event written after the space came back', 5000, 10);
    } finally {
      clearInterval(ringing);
    }
    const firstOk = Date.now() - freedAt;
    const clear = statuses.find((s) => s.at >= freedAt && s.fill !== 'red');
    expect(firstOk).toBeLessThan(2000);
    expect(clear).toBeDefined();
    expect(clear!.at - freedAt).toBeLessThan(2000);
    await waitFor(() => statuses[statuses.length - 1].fill === 'green', 'green status');
    if (process.env.FAULT_VERBOSE) console.log(`disk full: first event written ${firstOk} ms after the space was freed, status cleared after ${clear!.at - freedAt} ms (${clear!.text})`);
  });

  test('with the disk full from the start, the status clears by itself when space is freed', async () => {
    const file = path.join(fs4.mountPoint, 'second.jsonl');
    const giveBack = fs4.fill('filler2');
    await helper.load([journalNode], [{ id: 'j', type: 'intercom-journal', file, wires: [[]] }]);
    const j = getNode('j');
    const statuses: Array<{ at: number; fill: string; text: string }> = [];
    const status = j.status.bind(j);
    j.status = (s: any) => {
      statuses.push({ at: Date.now(), fill: s.fill, text: s.text });
      return status(s);
    };
    j.receive({ topic: 'ring', call: { id: 'x' } });
    await waitFor(() => statuses.some((s) => s.fill === 'red'), 'red status');
    const freedAt = Date.now();
    giveBack();
    const clear = await waitFor(() => statuses.find((s) => s.at >= freedAt && s.fill !== 'red'), 'status clears with no event', 3000, 10);
    expect(clear!.text).toBe('space free again');
    expect(clear!.at - freedAt).toBeLessThan(2000);
  });
});
