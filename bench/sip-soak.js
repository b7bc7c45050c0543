'use strict';
/**
 * Soak: 10,000 calls at 100 a second, each with a second of G.711 audio from sipp (a pcap
 * played to the callee's port) and ours/baresip's back, so ~100 calls are up at any time.
 * The callee is our SIP account in its own process (bench/_sip-uas.js), or baresip 1.0;
 * rounds alternate them.
 *
 * Memory is read where a leak would show and warm-up would not: the baseline after 1,000
 * warm-up calls once their transactions have expired (Timer J, 32 s) and a full garbage
 * collection; the end the same way after the 10,000. "RSS growth" is end minus baseline;
 * for ours it is also given before the forced collection (what `ps` shows after 36 s idle,
 * where V8 had not collected yet). Descriptors the same way. Every call must complete:
 * a failed call, or one of ours ended by no-ack / rtp-timeout, fails the benchmark.
 *
 * Env: SOAK_CALLS (10000), SOAK_RATE (100), ROUNDS (2). Usage: npm run bench sip-soak
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { figure } = require('./_report');
const { sleep, which, rssBytes, fdCount, startOurUas, startBaresip, runSipp } = require('./_lib');
const { writePcmuPcap } = require('./_pcap');

const CALLS = Number(process.env.SOAK_CALLS || 10000);
const RATE = Number(process.env.SOAK_RATE || 100);
const WARM = Number(process.env.SOAK_WARM || 1000);
const ROUNDS = Number(process.env.ROUNDS || 2);
const HOLD_MS = 1000;
const SETTLE_MS = 36000; // Timer J (64*T1 = 32 s) and a margin: every transaction gone

const MB = 1024 * 1024;

function scenario(dir) {
  const pcap = path.join(dir, 'audio.pcap');
  writePcmuPcap(pcap, HOLD_MS / 1000);
  const xml = path.join(dir, 'uac-rtp.xml');
  fs.writeFileSync(xml, fs.readFileSync(path.join(__dirname, 'sip', 'uac-rtp.xml'), 'utf8').replace(/@PCAP@/g, pcap));
  return xml;
}

const load = (port, xml, calls) => runSipp(port, { scenario: xml, calls, rate: RATE, limit: RATE * 5, extra: ['-d', String(HOLD_MS)], timeout: '900s' });

async function ours(xml) {
  const uas = await startOurUas({ UAS_MAX_CALLS: String(RATE * 5) });
  try {
    const warm = await load(uas.port, xml, WARM);
    await sleep(SETTLE_MS);
    const base = await uas.cmd('gc');
    await uas.cmd('reset');
    const run = await load(uas.port, xml, CALLS);
    const busy = await uas.cmd('stats');
    await sleep(SETTLE_MS);
    const idle = await uas.cmd('stats');
    const end = await uas.cmd('gc');
    const bad = (busy.ended['no-ack'] || 0) + (busy.ended['rtp-timeout'] || 0);
    return {
      ok: run.ok, failed: run.failed + warm.failed, bad, ended: busy.ended, lag: busy.lag,
      growth: (end.rss - base.rss) / MB, growthNoGc: (idle.rss - base.rss) / MB, peak: (busy.rss - base.rss) / MB,
      heapGrowth: (end.heapUsed - base.heapUsed) / MB, fds: [base.fds, end.fds], baseRss: base.rss / MB,
    };
  } finally {
    await uas.close();
  }
}

async function baresip(xml) {
  const b = await startBaresip({ maxCalls: RATE * 5, media: true });
  try {
    const warm = await load(b.port, xml, WARM);
    await sleep(SETTLE_MS);
    const base = { rss: rssBytes(b.pid), fds: fdCount(b.pid) };
    const run = await load(b.port, xml, CALLS);
    await sleep(SETTLE_MS);
    const end = { rss: rssBytes(b.pid), fds: fdCount(b.pid) };
    return { ok: run.ok, failed: run.failed + warm.failed, growth: (end.rss - base.rss) / MB, fds: [base.fds, end.fds], baseRss: base.rss / MB };
  } finally {
    await b.stop();
  }
}

(async () => {
  if (!which('sipp') || !which('baresip') || !which('sox')) {
    console.log('sip-soak: needs sipp, baresip and sox on PATH; skipped');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-soak-'));
  try {
    const xml = scenario(dir);
    console.log(`sip-soak: ${CALLS} calls at ${RATE}/s after ${WARM} warm-up calls, ${HOLD_MS} ms of G.711 each way per call, ${ROUNDS} rounds alternating ours and baresip`);
    const a = [];
    const b = [];
    for (let i = 0; i < ROUNDS; i++) {
      const first = i % 2 ? await baresip(xml) : await ours(xml);
      const second = i % 2 ? await ours(xml) : await baresip(xml);
      const [o, p] = i % 2 ? [second, first] : [first, second];
      console.log(`  round ${i + 1}:`);
      console.log(`    ours     ok ${o.ok}/${CALLS} failed ${o.failed}, ended ${JSON.stringify(o.ended)}; RSS ${o.baseRss.toFixed(1)} MB at the baseline, +${o.peak.toFixed(1)} MB at the end of the load, ${o.growthNoGc >= 0 ? '+' : ''}${o.growthNoGc.toFixed(1)} MB after ${SETTLE_MS / 1000} s idle, ${o.growth >= 0 ? '+' : ''}${o.growth.toFixed(1)} MB after a full GC (heap ${o.heapGrowth >= 0 ? '+' : ''}${o.heapGrowth.toFixed(2)} MB); fds ${o.fds[0]} → ${o.fds[1]}`);
      console.log(`             event-loop delay during the load: p99 ${o.lag.p99.toFixed(1)} ms, max ${o.lag.max.toFixed(0)} ms; worst: ${JSON.stringify(o.lag.stalls.slice(0, 3))}`);
      console.log(`    baresip  ok ${p.ok}/${CALLS} failed ${p.failed}; RSS ${p.baseRss.toFixed(1)} MB at the baseline, ${p.growth >= 0 ? '+' : ''}${p.growth.toFixed(1)} MB after ${SETTLE_MS / 1000} s idle; fds ${p.fds[0]} → ${p.fds[1]}`);
      if (o.failed || o.ok !== CALLS || o.bad || o.fds[1] !== o.fds[0] || o.growth >= 5) process.exitCode = 1;
      a.push(o);
      b.push(p);
    }
    figure({
      id: 'rss-growth',
      title: `RSS growth over ${CALLS.toLocaleString('en-US')} calls with audio (after idle + full GC; goal < 5 MB)`,
      unit: 'MB',
      better: 'lower',
      ours: a.map((r) => r.growth),
      against: [{ name: 'baresip 1.0 (after idle)', values: b.map((r) => r.growth) }],
      summary: true,
    });
    figure({ id: 'rss-growth-nogc', title: `RSS growth over ${CALLS.toLocaleString('en-US')} calls, after ${SETTLE_MS / 1000} s idle without a forced GC`, unit: 'MB', better: 'lower', ours: a.map((r) => r.growthNoGc), against: [{ name: 'baresip 1.0', values: b.map((r) => r.growth) }] });
    figure({ id: 'rss-peak', title: 'RSS above the baseline at the end of the load (~100 calls up, 3,200 transactions in Timer J)', unit: 'MB', better: 'lower', ours: a.map((r) => r.peak) });
    figure({ id: 'fd-growth', title: `file descriptors after ${CALLS.toLocaleString('en-US')} calls minus before`, unit: '', better: 'lower', ours: a.map((r) => r.fds[1] - r.fds[0]), against: [{ name: 'baresip 1.0', values: b.map((r) => r.fds[1] - r.fds[0]) }] });
    figure({ id: 'lag-max', title: 'longest event-loop delay during the soak (see the note on on-CPU vs waiting)', unit: 'ms', better: 'lower', ours: a.map((r) => r.lag.max) });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
