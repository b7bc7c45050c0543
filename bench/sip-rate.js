'use strict';
/**
 * The highest call rate each callee carries with 0 failures: sipp's built-in UAC (INVITE,
 * 200, ACK, BYE) at a fixed rate for a few seconds; the rate is doubled until a probe
 * fails, then bisected. Three callees, in turn within each round:
 *   - ours: a SipAccount (P2P) in its own process, with real RTP media per call;
 *   - baresip 1.0, auto-answer (it opens RTP too);
 *   - kamailio 5.6, answering 200 from a tm transaction (stateful, no media): what SIP
 *     handling alone costs in a C proxy with 8 worker processes on the same 2 cores.
 * A probe passes when every call completed, none failed, and the run took at most a
 * quarter longer than the offered rate needs (+1.5 s for sipp's start and stop).
 * Env: ROUNDS (3), PROBE_S (seconds per probe, 2), MAX_RATE (6400). Usage: npm run bench sip-rate
 */
const { figure } = require('./_report');
const { which, startOurUas, startBaresip, startKamailioUas, runSipp } = require('./_lib');

const ROUNDS = Number(process.env.ROUNDS || 3);
const PROBE_S = Number(process.env.PROBE_S || 2);
const MAX_RATE = Number(process.env.MAX_RATE || 6400);
const START = 100;

async function probe(port, rate) {
  const calls = Math.max(200, Math.round(rate * PROBE_S));
  const r = await runSipp(port, { calls, rate, limit: Math.max(200, rate), timeout: '60s' });
  // sipp keeps offering `rate`; a callee that falls behind finishes late (or retransmits
  // into failure). sipp itself needs ~0.5 s to start and stop around the calls.
  const pass = r.failed === 0 && r.ok === calls && r.seconds <= (calls / rate) * 1.25 + 1.5;
  return { ...r, calls, pass };
}

/** Highest passing rate for one callee (`start()` → { port, stop }), with the probes made. */
async function search(start) {
  const peer = await start();
  const probes = [];
  try {
    // warm-up: JIT and caches, so the first probe measures the steady state (baresip too)
    await runSipp(peer.port, { calls: 500, rate: 200, limit: 200, timeout: '60s' });
    let good = 0;
    let bad = 0;
    for (let rate = START; rate <= MAX_RATE; rate *= 2) {
      const p = await probe(peer.port, rate);
      probes.push([rate, p.pass]);
      if (!p.pass) {
        bad = rate;
        break;
      }
      good = rate;
    }
    if (bad) {
      for (let step = 0; step < 3 && bad - good > good * 0.05; step++) {
        const mid = Math.round((good + bad) / 2);
        const p = await probe(peer.port, mid);
        probes.push([mid, p.pass]);
        if (p.pass) good = mid;
        else bad = mid;
      }
    }
    return { rate: good, probes, capped: !bad };
  } finally {
    await peer.stop();
  }
}

const callees = {
  ours: async () => {
    const u = await startOurUas({ UAS_MAX_CALLS: String(MAX_RATE) });
    return { port: u.port, stop: () => u.close() };
  },
  baresip: async () => {
    const b = await startBaresip({ maxCalls: MAX_RATE });
    return { port: b.port, stop: () => b.stop() };
  },
  kamailio: async () => {
    const k = await startKamailioUas();
    return { port: k.port, stop: () => k.stop() };
  },
};

(async () => {
  const names = Object.keys(callees).filter((n) => n === 'ours' || which(n === 'kamailio' ? 'kamailio' : 'baresip'));
  if (!which('sipp')) {
    console.log('sip-rate: needs sipp on PATH; skipped');
    return;
  }
  console.log(`sip-rate: highest rate with 0 failures, sipp built-in UAC, ${PROBE_S} s probes from ${START}/s doubling then bisecting, ${ROUNDS} rounds, callees in turn: ${names.join(', ')}`);
  const found = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < ROUNDS; i++) {
    // rotate the order each round
    const order = names.slice(i % names.length).concat(names.slice(0, i % names.length));
    for (const n of order) {
      const r = await search(callees[n]);
      found[n].push(r.rate);
      console.log(`  round ${i + 1} ${n.padEnd(8)} ${String(r.rate).padStart(5)} calls/s${r.capped ? ' (the search cap)' : ''}   probes ${r.probes.map(([x, p]) => `${x}${p ? '✓' : '✗'}`).join(' ')}`);
    }
  }
  figure({
    id: 'max-rate',
    title: 'highest call rate with 0 failures (sipp UAC, INVITE/200/ACK/BYE; ours and baresip open RTP per call)',
    unit: 'calls/s',
    better: 'higher',
    ours: found.ours,
    against: [
      ...(found.baresip ? [{ name: 'baresip 1.0 auto-answer', values: found.baresip }] : []),
      ...(found.kamailio ? [{ name: 'kamailio 5.6 tm, no media', values: found.kamailio }] : []),
    ],
    summary: true,
  });
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
