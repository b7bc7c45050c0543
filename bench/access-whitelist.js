'use strict';
// Whitelist decisions per second with 10,000 rules (exact numbers, X-patterns, prefixes,
// CIDR-conditioned rules and a few regular expressions), against two baselines run in the
// same process: a plain Set lookup of exact numbers (the floor: no patterns, no conditions)
// and the naive design, one RegExp per rule scanned in order.
const { RuleSet, parseRuleSource, trustedList } = require('../dist/nodes/lib/access/rules');
const { DEFAULT_PLAN, normalizeNumber } = require('../dist/nodes/lib/access/number');
const { figure } = require('./_report');

const RULES = 10_000;
// mulberry32: a seeded generator whose low digits are not periodic (unlike a bare LCG).
let seed = 42;
const rnd = (n) => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * n | 0;
};
const digits = (n) => Array.from({ length: n }, () => rnd(10)).join('');

const lines = [];
const exact = [];
for (let i = 0; i < RULES; i++) {
  const kind = i % 10;
  if (kind < 4) {
    const num = '+7 9' + digits(9);
    exact.push(num);
    lines.push(num);
  } else if (kind < 7) lines.push(`8 (9${digits(2)}) ${digits(2)}X-XX-${digits(2)}`);
  else if (kind < 9) lines.push(`+7 9${digits(5)}*`);
  else if (i % 100 === 99) lines.push(`/^79${digits(5)}\\d{4}$/`);
  else lines.push(`+7 9${digits(5)} XX-XX from=10.${rnd(256)}.0.0/16,192.168.${rnd(256)}.0/24`);
}
const text = lines.join('\n');
const t0 = process.hrtime.bigint();
const set = new RuleSet(parseRuleSource(text, DEFAULT_PLAN), DEFAULT_PLAN, 'UTC', trustedList(''));
const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;

// Callers: half listed numbers (various spellings), half random.
const callers = [];
for (let i = 0; i < 2000; i++) {
  if (i % 2) callers.push(exact[rnd(exact.length)].replace('+7 ', '8'));
  else callers.push('8 9' + digits(9));
}
const sources = callers.map(() => `10.${rnd(256)}.1.${rnd(256)}:5060`);

// CPU is shared with whatever else runs: variants take turns in short rounds, medians reported.
const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
function rate(fn, ms = 300) {
  let n = 0;
  const start = process.hrtime.bigint();
  const end = Date.now() + ms;
  // Whole passes over the callers, however slow; the rate uses the time really spent.
  while (Date.now() < end) {
    for (let i = 0; i < callers.length; i += 1) {
      fn(i);
      n++;
      if ((n & 63) === 0 && Date.now() >= end) break;
    }
  }
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}
const allowedShare = (fn) => callers.filter((_, i) => fn(i)).length / callers.length;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function race(variants) {
  const runs = variants.map(() => []);
  for (let r = 0; r < ROUNDS; r++) variants.forEach((v, k) => runs[k].push(rate(v.fn)));
  return variants.map((v, k) => {
    const m = median(runs[k]);
    console.log(`${v.label.padEnd(48)} ${Math.round(m).toLocaleString('en-US').padStart(12)} decisions/s  (allowed ${(allowedShare(v.fn) * 100).toFixed(0)}%)`);
    return { median: m, rounds: runs[k] };
  });
}

console.log(`rules: ${RULES} (${lines.filter((l) => l.includes('X')).length} patterns, ${lines.filter((l) => l.includes('from=')).length} with CIDRs, ` +
  `${lines.filter((l) => l.endsWith('*')).length} prefixes, ${lines.filter((l) => l.startsWith('/')).length} regexes); compiled in ${buildMs.toFixed(0)} ms`);
const decide = (i) => set.decide({ caller: callers[i], source: sources[i], now: 0 }).allowed;

const exactSet = new Set(exact.map((e) => normalizeNumber(e).number));
const setLookup = (i) => {
  const n = normalizeNumber(callers[i]);
  return n.ok && exactSet.has(n.number);
};

// The naive scan: every rule as a RegExp over the canonical number, tried in order.
const naive = lines.map((l) => {
  const m = l.replace(/ from=.*$/, '');
  if (m.startsWith('/')) return new RegExp(m.slice(1, -1));
  const d = m.replace(/[\s()\-+*]/g, '').replace(/^8/, '7');
  return new RegExp('^' + d.replace(/X/g, '\\d') + (m.endsWith('*') ? '' : '$'));
});
const scanAll = (i) => {
  const n = normalizeNumber(callers[i]);
  if (!n.ok) return false;
  for (const r of naive) if (r.test(n.number)) return true;
  return false;
};

const [ours, base, scan] = race([
  { label: 'intercom-whitelist RuleSet.decide (all kinds)', fn: decide },
  { label: 'baseline: normalize + Set lookup (exact only)', fn: setLookup },
  { label: 'baseline: RegExp array scan (no CIDRs)', fn: scanAll },
]);
console.log(`median of ${ROUNDS} interleaved rounds`);
console.log(`ratio vs Set lookup:   ${(ours.median / base.median).toFixed(2)}x (the floor for any list)`);
console.log(`ratio vs RegExp scan:  ${(ours.median / scan.median).toFixed(1)}x faster`);
figure({
  id: 'decisions',
  title: `whitelist decisions per second with ${RULES.toLocaleString('en-US')} rules (patterns, CIDRs, prefixes, regexes)`,
  unit: '/s',
  better: 'higher',
  ours: ours.rounds,
  against: [
    { name: 'floor: normalize + Set lookup, exact numbers only', kind: 'floor', values: base.rounds },
    { name: 'naive: one RegExp per rule, in order', values: scan.rounds },
  ],
  summary: true,
});
