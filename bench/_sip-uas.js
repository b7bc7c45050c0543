'use strict';
// Child process for the load benchmarks: one SipAccount (P2P, real RTP media) that answers
// every call, alone in its process so its CPU, RSS and descriptors are its own. Prints
// {"port":N} once listening; then answers one JSON line per command on stdin:
// "stats" (memory, descriptors, handles, calls by how they ended, event-loop delay and
// whose it was, datagrams the kernel dropped at the SIP socket), "gc" (a full collection
// first, then stats), "reset" (clears the delay histogram and the counters), "close".
// Env: UAS_MAX_CALLS (inbound call cap), UAS_RTP_TIMEOUT_MS, UAS_DIST (another build).
const fs = require('node:fs');
const readline = require('node:readline');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const path = require('node:path');
// UAS_DIST: another build to measure (before/after comparisons), default this checkout's
const dist = process.env.UAS_DIST || path.join(__dirname, '..', 'dist');
const { SipAccount } = require(path.join(dist, 'nodes/lib/sip/account'));
const { createRtpMediaFactory } = require(path.join(dist, 'nodes/lib/media/call-media'));

/** Datagrams the kernel dropped at a full receive buffer, for our UDP port (/proc/net/udp). */
function udpDrops(port) {
  const hex = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  try {
    for (const l of fs.readFileSync('/proc/net/udp', 'utf8').split('\n')) {
      const f = l.trim().split(/\s+/);
      if (f[1] && f[1].endsWith(hex)) return Number(f[12]);
    }
  } catch {
    /* not Linux */
  }
  return -1;
}

const maxCalls = Number(process.env.UAS_MAX_CALLS || 1000);
const hist = monitorEventLoopDelay({ resolution: 5 });
hist.enable();
let ended = {};
let answered = 0;
let maxGap = 0;
// A late probe is either our own work blocking the loop (the thread was on a CPU) or the
// machine giving the CPU to someone else (the thread waited in the run queue): the
// scheduler's own counters (/proc/self/schedstat: ns on CPU, ns waiting) tell which.
let stalls = [];
const schedstat = () => {
  try {
    const [run, wait] = fs.readFileSync('/proc/self/schedstat', 'utf8').split(' ').map(Number);
    return { run, wait };
  } catch {
    return { run: 0, wait: 0 };
  }
};
let last = process.hrtime.bigint();
let lastSched = schedstat();
setInterval(() => {
  const now = process.hrtime.bigint();
  const sched = schedstat();
  const gap = Number(now - last) / 1e6 - 10;
  if (gap > maxGap) maxGap = gap;
  if (gap > 30) {
    stalls.push({ ms: Math.round(gap), onCpuMs: Math.round((sched.run - lastSched.run) / 1e6), waitMs: Math.round((sched.wait - lastSched.wait) / 1e6) });
    if (stalls.length > 50) stalls = stalls.sort((a, b) => b.ms - a.ms).slice(0, 20);
  }
  last = now;
  lastSched = sched;
}, 10).unref();

function stats() {
  const m = process.memoryUsage();
  let fds = 0;
  try {
    fds = fs.readdirSync('/proc/self/fd').length;
  } catch {
    fds = -1;
  }
  const kinds = {};
  for (const r of process.getActiveResourcesInfo()) kinds[r] = (kinds[r] || 0) + 1;
  return {
    rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers,
    fds, resources: kinds, activeCalls: acc.endpoint?.activeCalls.length, tx: acc.endpoint?.layer.counts, answered, ended,
    lag: { p50: hist.percentile(50) / 1e6, p99: hist.percentile(99) / 1e6, max: hist.max / 1e6, probeMax: maxGap, stalls: [...stalls].sort((a, b) => b.ms - a.ms).slice(0, 8) },
    cpu: process.cpuUsage(),
    sipDrops: acc.port ? udpDrops(acc.port) : -1,
  };
}

// One sipp plays every caller from one address:port, so the per-source limits a panel's
// account has (a few calls at once, about one new call a second) are lifted to the cap.
const acc = new SipAccount(
  { name: 'bench', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: Number(process.env.UAS_PORT || 0), user: 'door', maxInboundCalls: maxCalls, perSourceCalls: maxCalls, perSourceRate: 6_000_000 },
  {
    mediaFactory: createRtpMediaFactory({ rtpTimeoutMs: Number(process.env.UAS_RTP_TIMEOUT_MS || 30000) }),
    // UAS_T1_MS: a shorter T1 (RFC 3261 §17: 500 ms) so the suite's soak waits out Timer J
    // (64·T1) in seconds instead of 32 s; the benches keep the RFC's value.
    ...(process.env.UAS_T1_MS ? { timers: { T1: Number(process.env.UAS_T1_MS) } } : {}),
  },
);
acc.on('call', (c) => {
  c.once('ended', (e) => (ended[e.reason] = (ended[e.reason] || 0) + 1));
  c.answer().then(() => answered++, () => undefined);
});
acc.start().then(() => process.stdout.write(JSON.stringify({ port: acc.port, pid: process.pid }) + '\n'));

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'gc') {
    for (let i = 0; i < 3; i++) {
      globalThis.gc?.();
      await new Promise((r) => setImmediate(r));
    }
  }
  if (line === 'reset') {
    hist.reset();
    maxGap = 0;
    stalls = [];
    ended = {};
    answered = 0;
  }
  if (line.startsWith('snapshot ')) require('node:v8').writeHeapSnapshot(line.slice(9));
  if (line === 'close') {
    await acc.close();
    process.stdout.write(JSON.stringify(stats()) + '\n');
    process.exit(0);
  }
  process.stdout.write(JSON.stringify(stats()) + '\n');
});
