'use strict';
/**
 * Concurrent G.711 calls on the 2 shared cores: N calls set up over SIP, each with a 20 ms
 * µ-law stream in both directions, for our SIP account (its own process: SIP, RTP, the
 * in-band DTMF detector and the watchdog, all as in Node-RED) and for baresip 1.0
 * (auto-answer, sending a tone from a file), in rounds that alternate the two.
 *
 * Measured over a steady window per round: the callee's CPU (all threads, /proc), and the
 * timing of the packets it sends, as they arrive here: the gap between consecutive packets
 * of a stream (p50 / p99 / max, 20 ms is perfect) and how often one late moment hit most
 * streams at once (a stall of the whole process rather than of one stream). For ours the
 * event-loop probe of the callee says whether its late moments were its own work (on CPU)
 * or the machine running something else (waiting in the run queue).
 *
 * Env: CALLS (default "100,200"), SECONDS (8), ROUNDS (3). Usage: npm run bench media-load
 */
const dgram = require('node:dgram');
const { figure, percentile } = require('./_report');
const { sleep, which, cpuSeconds, startOurUas, startBaresip, sipInvite, mediaTarget } = require('./_lib');

const COUNTS = String(process.env.CALLS || '100,200').split(',').map(Number);
const SECONDS = Number(process.env.SECONDS || 8);
const ROUNDS = Number(process.env.ROUNDS || 3);
const WARM_MS = 2000;

function rtpPacket(seq, ssrc, payload) {
  const b = Buffer.allocUnsafe(12 + payload.length);
  b[0] = 0x80;
  b[1] = 0;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 160) >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  payload.copy(b, 12);
  return b;
}

async function udp() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

/** Set up `n` calls to 127.0.0.1:port, stream to each, measure; returns the figures. */
async function run(port, pid, n, uas) {
  const sip = await udp();
  sip.setMaxListeners(0); // one listener per call being set up
  const legs = [];
  for (let i = 0; i < n; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, async () => {
        const sock = await udp();
        const call = await sipInvite(sip, port, sock.address().port, 10000);
        return { sock, target: mediaTarget(call.answer), bye: call.bye, last: 0n, count: 0 };
      }),
    );
    legs.push(...batch);
  }
  let measuring = false;
  const gaps = [];
  const late = []; // [arrival ms since start, stream index] of gaps over 60 ms
  const t0 = process.hrtime.bigint();
  legs.forEach((l, idx) => {
    l.sock.on('message', () => {
      const now = process.hrtime.bigint();
      if (measuring && l.last) {
        const g = Number(now - l.last) / 1e6;
        gaps.push(g);
        if (g > 60) late.push([Number(now - t0) / 1e6, idx]);
        l.count++;
      }
      l.last = now;
    });
  });
  // our own stream to every call, on one 20 ms clock
  const payload = Buffer.alloc(160, 0xff);
  let seq = 0;
  let stop = false;
  const start = Date.now();
  const tick = () => {
    if (stop) return;
    for (let i = 0; i < legs.length; i++) legs[i].sock.send(rtpPacket(seq, 1000 + i, payload), legs[i].target.port, legs[i].target.address);
    seq++;
    setTimeout(tick, Math.max(0, start + seq * 20 - Date.now()));
  };
  tick();
  await sleep(WARM_MS);
  if (uas) await uas.cmd('reset');
  const c0 = cpuSeconds(pid);
  const w0 = Date.now();
  measuring = true;
  await sleep(SECONDS * 1000);
  measuring = false;
  const wall = (Date.now() - w0) / 1000;
  const cpu = ((cpuSeconds(pid) - c0) / wall) * 100;
  const stats = uas ? await uas.cmd('stats') : undefined;
  stop = true;
  for (const l of legs) l.bye();
  await sleep(300);
  for (const l of legs) l.sock.close();
  sip.close();
  // a moment that delayed more than 90 % of the streams at once (100 ms buckets)
  const buckets = new Map();
  for (const [t, idx] of late) {
    const b = Math.floor(t / 100);
    if (!buckets.has(b)) buckets.set(b, new Set());
    buckets.get(b).add(idx);
  }
  const allStreams = [...buckets.values()].filter((s) => s.size >= 0.9 * n).length;
  const pps = legs.reduce((s, l) => s + l.count, 0) / wall / n;
  return {
    cpu,
    p50: percentile(gaps, 50),
    p99: percentile(gaps, 99),
    max: Math.max(...gaps),
    allStreams,
    pps,
    stalls: stats?.lag?.stalls ?? [],
  };
}

async function ours(n) {
  const uas = await startOurUas({ UAS_MAX_CALLS: String(n + 10) });
  try {
    return await run(uas.port, uas.pid, n, uas);
  } finally {
    await uas.close();
  }
}

async function baresip(n) {
  const b = await startBaresip({ maxCalls: n + 10, media: true });
  try {
    return await run(b.port, b.pid, n);
  } finally {
    await b.stop();
  }
}

const show = (who, r) =>
  `    ${who.padEnd(8)} CPU ${r.cpu.toFixed(1).padStart(5)} %  gap p50 ${r.p50.toFixed(1)} p99 ${r.p99.toFixed(1)} max ${r.max.toFixed(0)} ms  moments late on ≥90 % of streams ${r.allStreams}  ${r.pps.toFixed(1)} packets/s per call`;

(async () => {
  if (!which('baresip') || !which('sox')) {
    console.log('media-load: needs baresip and sox on PATH; skipped');
    return;
  }
  console.log(`media-load: ${COUNTS.join(' and ')} concurrent G.711 calls, 20 ms packets both ways, ${SECONDS} s windows, ${ROUNDS} rounds alternating ours and baresip`);
  for (const n of COUNTS) {
    const a = [];
    const b = [];
    for (let i = 0; i < ROUNDS; i++) {
      const first = i % 2 ? await baresip(n) : await ours(n);
      const second = i % 2 ? await ours(n) : await baresip(n);
      const [o, p] = i % 2 ? [second, first] : [first, second];
      console.log(`  ${n} calls, round ${i + 1}:`);
      console.log(show('ours', o));
      console.log(show('baresip', p));
      const own = o.stalls.filter((s) => s.onCpuMs >= s.waitMs);
      if (o.stalls.length) console.log(`    ours: ${o.stalls.length} event-loop delays over 30 ms in the window, ${own.length} mostly on its own CPU; worst ${JSON.stringify(o.stalls.slice(0, 3))}`);
      a.push(o);
      b.push(p);
    }
    const pick = (rs, k) => rs.map((r) => r[k]);
    const peer = (k) => [{ name: 'baresip 1.0', values: pick(b, k) }];
    figure({ id: `cpu-${n}`, title: `${n} concurrent G.711 calls: CPU of the callee (% of one core)`, unit: '%', better: 'lower', ours: pick(a, 'cpu'), against: peer('cpu'), summary: n === COUNTS[0] });
    figure({ id: `gap-p50-${n}`, title: `${n} calls: packet gap p50 (20 ms nominal)`, unit: 'ms', better: 'lower', ours: pick(a, 'p50'), against: peer('p50') });
    figure({ id: `gap-p99-${n}`, title: `${n} calls: packet gap p99`, unit: 'ms', better: 'lower', ours: pick(a, 'p99'), against: peer('p99'), summary: true });
    figure({ id: `gap-max-${n}`, title: `${n} calls: longest packet gap`, unit: 'ms', better: 'lower', ours: pick(a, 'max'), against: peer('max') });
    figure({ id: `all-late-${n}`, title: `${n} calls: moments one delay hit ≥ 90 % of the streams`, unit: '', better: 'lower', ours: pick(a, 'allStreams'), against: peer('allStreams') });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
