'use strict';
/**
 * How a benchmark hands its figures to `npm run bench` (scripts/bench.js), which writes
 * bench/REPORT.md and the README's Performance table from them.
 *
 * A figure is one measured quantity, ours next to what it is judged against in the same
 * run: a peer doing the same job (baresip, kamailio, bare ffmpeg, ...) or a floor (the
 * bare primitive underneath, e.g. a write+fsync loop). Every figure is measured in rounds
 * that interleave ours and the peer's, so a busy moment on the shared machine lands on both;
 * the report shows the median and the spread (min–max over rounds), and the ratio is taken
 * round by round.
 *
 *   const { figure } = require('./_report');
 *   figure({
 *     id: 'max-rate', title: 'highest call rate with 0 failures', unit: 'calls/s',
 *     better: 'higher', ours: [r1, r2, r3],
 *     against: [{ name: 'baresip 1.0', values: [b1, b2, b3] }],
 *     summary: true,            // a row of the README's table
 *   });
 *
 * Run on its own (`node bench/x.js`), a benchmark only prints; under scripts/bench.js the
 * figures also go as JSON lines to the file named by BENCH_OUT.
 */
const fs = require('node:fs');

function sorted(xs) {
  return xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
}

/** Nearest-rank percentile of a list of numbers (0 < p <= 100). */
function percentile(xs, p) {
  const s = sorted(xs);
  if (!s.length) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** median, min, max and n of a list (per-round values). */
function spread(xs) {
  const s = sorted(xs);
  if (!s.length) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

/** Figures as a person reads them: 3 significant digits, thousands separated. */
function fmt(x) {
  if (!Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a === 0) return '0';
  return x.toPrecision(2);
}

function describe(values) {
  const s = spread(values);
  if (s.n <= 1) return fmt(s.median);
  return `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})`;
}

/** Ratio ours/peer per round (rounds paired by index), as a spread. */
function ratios(ours, theirs) {
  const out = [];
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) {
    if (Number.isFinite(ours[i]) && Number.isFinite(theirs[i]) && theirs[i] !== 0) out.push(ours[i] / theirs[i]);
  }
  return out;
}

/** Record one figure: printed now, and passed to scripts/bench.js when it runs us. */
function figure(f) {
  if (!f.id || !f.title || !Array.isArray(f.ours)) throw new Error('figure needs id, title and ours[]');
  const rec = {
    id: f.id,
    title: f.title,
    unit: f.unit || '',
    better: f.better || 'higher',
    ours: f.ours,
    against: (f.against || []).map((a) => ({ name: a.name, kind: a.kind || 'peer', values: a.values })),
    note: f.note || '',
    summary: !!f.summary,
  };
  const peers = rec.against.map((a) => {
    const r = spread(ratios(rec.ours, a.values));
    const ratio = r.n ? (r.n > 1 ? `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : r.median.toFixed(2)) : 'n/a';
    return `${a.name} ${describe(a.values)}; ratio ${ratio}`;
  });
  console.log(`  ${rec.title}: ours ${describe(rec.ours)} ${rec.unit}${peers.length ? ' | ' + peers.join(' | ') : ''}${rec.note ? ' — ' + rec.note : ''}`);
  if (process.env.BENCH_OUT) fs.appendFileSync(process.env.BENCH_OUT, JSON.stringify(rec) + '\n');
  return rec;
}

module.exports = { figure, percentile, spread, ratios, fmt, describe };
