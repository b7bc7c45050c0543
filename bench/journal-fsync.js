'use strict';
// Journal events per second with an fsync per event, against the machine's raw rate:
// a bare write+fsync loop on the same file system, run side by side.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Journal } = require('../dist/nodes/lib/journal/writer');
const { figure } = require('./_report');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-journal-'));
// The disk is shared with whatever else runs: the variants take turns in short rounds and
// the median of each is reported, so a busy moment does not land on one variant only.
const MS = Number(process.env.BENCH_MS || 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const line = JSON.stringify({ time: new Date().toISOString(), event: 'ring', door: 'gate', caller: '74951234567', source: '10.0.0.7:5060', result: 'allowed', reason: 'listed' }) + '\n';

function bare() {
  const fd = fs.openSync(path.join(dir, 'bare.jsonl'), 'a');
  let n = 0;
  const end = Date.now() + MS;
  while (Date.now() < end) {
    fs.writeSync(fd, line);
    fs.fsyncSync(fd);
    n++;
  }
  fs.closeSync(fd);
  return n / (MS / 1000);
}

// `writers` flows appending at once (each waits for its own ack before the next event),
// as when several doors and calls journal together: group commit shares one fsync.
async function journal(fsync, writers = 1) {
  const j = new Journal({ file: path.join(dir, `journal-${fsync}-${writers}.jsonl`), fsync });
  let n = 0;
  const end = Date.now() + MS;
  const writer = async () => {
    while (Date.now() < end) {
      await j.append({ event: 'ring', door: 'gate', caller: '74951234567', source: '10.0.0.7:5060', result: 'allowed', reason: 'listed' });
      n++;
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  await j.close();
  return n / (MS / 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  try {
    const r = { raw: [], ours: [], burst: [], nosync: [] };
    for (let i = 0; i < ROUNDS; i++) {
      r.raw.push(bare());
      r.ours.push(await journal(true));
      r.burst.push(await journal(true, 16));
      r.nosync.push(await journal(false));
    }
    const [raw, ours, burst, nosync] = [r.raw, r.ours, r.burst, r.nosync].map(median);
    const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(10);
    console.log(`median of ${ROUNDS} interleaved rounds of ${MS} ms`);
    console.log(`bare write+fsync loop (base)          ${fmt(raw)} events/s`);
    console.log(`intercom journal, fsync per event     ${fmt(ours)} events/s`);
    console.log(`intercom journal, 16 writers at once  ${fmt(burst)} events/s (group commit)`);
    console.log(`intercom journal, fsync off (ref.)    ${fmt(nosync)} events/s`);
    console.log(`ratio journal/base: ${(ours / raw).toFixed(2)} one writer, ${(burst / raw).toFixed(2)} with 16 writers`);
    const floor = [{ name: 'floor: bare write+fsync loop, same file system', kind: 'floor', values: r.raw }];
    figure({ id: 'one-writer', title: 'journal events per second, fsync before each ack, one writer', unit: '/s', better: 'higher', ours: r.ours, against: floor, summary: true });
    figure({ id: 'sixteen-writers', title: 'journal events per second, 16 writers at once (group commit)', unit: '/s', better: 'higher', ours: r.burst, against: floor, summary: true });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})();
