'use strict';
// Calls answered + BYE per second under sipp's built-in UAC (INVITE, 200, ACK, BYE), for
// our SIP user agent (a SipAccount with real RTP media, in its own process) and for
// baresip (auto-answer), in rounds that alternate the two, with the ratio per round; then
// the same with `sipp -lost 10` (10 % simulated loss), where retransmissions (Timer A/E/G
// on both sides) must carry every call through. A figure only counts with every call
// carried: a round with a failed call fails the benchmark.
// Usage: npm run bench sip-calls   (SIP_BENCH_CALLS, SIP_BENCH_RATE, SIP_BENCH_LIMIT, ROUNDS)
const { figure } = require('./_report');
const { which, startOurUas, startBaresip, runSipp } = require('./_lib');

const CALLS = Number(process.env.SIP_BENCH_CALLS || 3000);
const RATE = Number(process.env.SIP_BENCH_RATE || 3000);
const LIMIT = Number(process.env.SIP_BENCH_LIMIT || 200);
const ROUNDS = Number(process.env.ROUNDS || 3);

async function ours(extra) {
  const uas = await startOurUas({ UAS_MAX_CALLS: String(LIMIT * 2) });
  try {
    return await runSipp(uas.port, { calls: CALLS, rate: RATE, limit: LIMIT, extra });
  } finally {
    await uas.close();
  }
}

async function baresip(extra) {
  const b = await startBaresip({ maxCalls: LIMIT * 5 });
  try {
    return await runSipp(b.port, { calls: CALLS, rate: RATE, limit: LIMIT, extra });
  } finally {
    await b.stop();
  }
}

const line = (name, r) => `    ${name.padEnd(22)} ${r.rate.toFixed(0).padStart(6)} calls/s  ok ${r.ok}/${CALLS}  failed ${r.failed}  sipp retransmissions ${r.retrans}  (${r.seconds.toFixed(1)} s)`;

(async () => {
  if (!which('sipp') || !which('baresip')) {
    console.log('sip-calls: needs sipp and baresip on PATH; skipped');
    return;
  }
  console.log(`sipp built-in UAC, ${CALLS} calls per round, rate ${RATE}/s, at most ${LIMIT} at once, loopback UDP, ${ROUNDS} rounds alternating ours and baresip`);
  for (const [label, extra, id] of [
    ['no loss', [], 'throughput'],
    ['sipp -lost 10', ['-lost', '10'], 'throughput-lost10'],
  ]) {
    const a = [];
    const b = [];
    for (let i = 0; i < ROUNDS; i++) {
      // alternate who goes first, so a trend in the machine's load does not favour one side
      const pair = i % 2 ? [await baresip(extra), await ours(extra)].reverse() : [await ours(extra), await baresip(extra)];
      console.log(`  ${label}, round ${i + 1}:`);
      console.log(line('ours (SipAccount p2p)', pair[0]));
      console.log(line('baresip auto-answer', pair[1]));
      if (pair[0].failed > 0 || pair[0].ok !== CALLS) process.exitCode = 1;
      a.push(pair[0].rate);
      b.push(pair[1].rate);
    }
    figure({
      id,
      title: `calls answered + BYE per second, sipp UAC, ${CALLS} calls${extra.length ? ', sipp -lost 10' : ''}, 0 failures`,
      unit: 'calls/s',
      better: 'higher',
      ours: a,
      against: [{ name: 'baresip 1.0 auto-answer', values: b }],
      summary: true,
    });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
