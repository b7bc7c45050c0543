#!/usr/bin/env node
'use strict';
/**
 * `npm run bench [name ...]`: runs the benchmarks under bench/ (all, or those whose file
 * name starts with a given name), collects their figures (bench/_report.js), and writes
 *   - bench/REPORT.json: every benchmark's last run (figures, output, when, the machine's
 *     load), so running one benchmark updates its part and keeps the others';
 *   - bench/REPORT.md: the report, every figure beside its peer or floor from the same run,
 *     the spread over rounds, and the machine it ran on;
 *   - README.md: the Performance table between its markers, generated from the report.
 * `npm run bench -- --report` only regenerates the two documents from REPORT.json.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const benchDir = path.join(root, 'bench');
const jsonFile = path.join(benchDir, 'REPORT.json');
const mdFile = path.join(benchDir, 'REPORT.md');
const readme = path.join(root, 'README.md');
const { spread, ratios, fmt } = require(path.join(benchDir, '_report.js'));

const args = process.argv.slice(2);
const reportOnly = args.includes('--report');
const wanted = args.filter((a) => !a.startsWith('--'));

function sh(cmd, argv) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 });
  } catch (err) {
    return `${err.stdout || ''}${err.stderr || ''}`;
  }
}
const firstLine = (s) => (s.split('\n').find((l) => l.trim()) || '').trim();

function machine() {
  const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || os.cpus()[0]?.model || '?';
  const osName = ((fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '').match(/PRETTY_NAME="([^"]*)"/) || [])[1] || os.type();
  const ha = (() => {
    try {
      const site = fs.readdirSync(path.join(root, '.ha', 'lib')).map((d) => path.join(root, '.ha', 'lib', d, 'site-packages'));
      const dist = site.flatMap((s) => (fs.existsSync(s) ? fs.readdirSync(s) : [])).find((n) => /^homeassistant-[\d.]+\.dist-info$/.test(n));
      return dist ? dist.replace(/^homeassistant-|\.dist-info$/g, '') : undefined;
    } catch {
      return undefined;
    }
  })();
  const v = (re, s) => (re.exec(s) || [])[1];
  return {
    cpu: `${cpu}, ${os.cpus().length} cores`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    os: `${osName}, Linux ${os.release()}`,
    node: process.version,
    peers: {
      sipp: v(/SIPp (v[\d.]+)/, sh('sipp', ['-v'])),
      baresip: v(/baresip (v[\d.]+)/, sh('baresip', ['-h'])),
      kamailio: v(/kamailio ([\d.]+)/, sh('kamailio', ['-v'])),
      mosquitto: v(/mosquitto version ([\d.]+)/, sh('mosquitto', ['-h'])),
      ffmpeg: v(/ffmpeg version (\S+)/, sh('ffmpeg', ['-version'])),
      lighttpd: v(/lighttpd\/([\d.]+)/, sh('lighttpd', ['-v'])),
      'home-assistant': ha,
    },
  };
}

function commit() {
  const head = firstLine(sh('git', ['-C', root, 'rev-parse', '--short', 'HEAD']));
  const dirty = sh('git', ['-C', root, 'status', '--porcelain', '--', 'nodes', 'bench']).trim() ? ' (with uncommitted changes)' : '';
  return head + dirty;
}

function runOne(file) {
  const out = path.join(os.tmpdir(), `bench-${process.pid}-${path.basename(file, '.js')}.jsonl`);
  fs.rmSync(out, { force: true });
  const started = new Date();
  const load = [os.loadavg()[0]];
  let text = '';
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: root, env: { ...process.env, BENCH_OUT: out }, stdio: ['ignore', 'pipe', 'pipe'] });
    const sample = setInterval(() => load.push(os.loadavg()[0]), 10000);
    const take = (stream, to) => (d) => {
      text += d;
      to.write(d);
    };
    child.stdout.on('data', take(child.stdout, process.stdout));
    child.stderr.on('data', take(child.stderr, process.stderr));
    child.on('exit', (code) => {
      clearInterval(sample);
      load.push(os.loadavg()[0]);
      const figures = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
      fs.rmSync(out, { force: true });
      resolve({
        at: started.toISOString(),
        seconds: Math.round((Date.now() - started.getTime()) / 1000),
        exit: code,
        commit: commit(),
        load: { min: Math.min(...load), max: Math.max(...load) },
        figures,
        // eslint-disable-next-line no-control-regex -- terminal colour codes out of the report
        output: text.replace(/\x1b\[[0-9;]*m/g, '').trim(),
      });
    });
  });
}

// ---- the documents ----------------------------------------------------------------------

function cell(values, unit) {
  const s = spread(values);
  if (!s.n) return 'n/a';
  const u = unit && unit !== '' ? ` ${unit}` : '';
  return s.n > 1 ? `${fmt(s.median)}${u} (${fmt(s.min)}–${fmt(s.max)})` : `${fmt(s.median)}${u}`;
}

function ratioCell(f, a) {
  const r = spread(ratios(f.ours, a.values));
  if (!r.n) return 'n/a';
  const x = (v) => v.toFixed(2);
  return r.n > 1 ? `${x(r.median)} (${x(r.min)}–${x(r.max)})` : x(r.median);
}

const better = (f) => (f.better === 'lower' ? 'lower is better' : 'higher is better');

function benchSection(name, b) {
  const lines = [`## ${name}`, ''];
  lines.push(`Run ${b.at.replace('T', ' ').slice(0, 16)} UTC at ${b.commit}, ${b.seconds} s, load average ${b.load.min.toFixed(1)}–${b.load.max.toFixed(1)} on the 2 cores during the run${b.exit ? `, **exit status ${b.exit}: a figure missed its goal or a call failed (see the output)**` : ''}.`, '');
  if (b.figures.length) {
    lines.push('| figure | ours | judged against (same run) | ratio ours/them |', '|---|---|---|---|');
    for (const f of b.figures) {
      const against = f.against.length ? f.against : [{ name: '—', values: [] }];
      against.forEach((a, i) => {
        const title = i === 0 ? `${f.title}${f.unit ? '' : ''} (${better(f)})${f.note ? ' — ' + f.note : ''}` : '〃';
        lines.push(`| ${title} | ${i === 0 ? cell(f.ours, f.unit) : '〃'} | ${a.values.length ? `${a.name}: ${cell(a.values, f.unit)}` : a.name} | ${a.values.length ? ratioCell(f, a) : ''} |`);
      });
    }
    lines.push('');
  } else {
    lines.push('This benchmark reported no structured figures; its output follows.', '');
  }
  lines.push('<details><summary>output</summary>', '', '```', b.output.split('\n').slice(-80).join('\n'), '```', '', '</details>', '');
  return lines.join('\n');
}

function summaryRows(report) {
  const rows = [];
  for (const [name, b] of Object.entries(report.benches)) {
    for (const f of b.figures.filter((x) => x.summary)) {
      const a = f.against[0];
      const peers = f.against.map((x) => `${x.name} ${cell(x.values, f.unit)}`).join('; ');
      const ratio = f.against.map((x) => ratioCell(f, x)).join('; ');
      rows.push(`| \`${name}\`: ${f.title} | ${cell(f.ours, f.unit)} | ${a ? peers : '—'} | ${a ? ratio : ''} |`);
    }
  }
  return rows;
}

function writeDocs(report) {
  const m = report.machine;
  const peers = Object.entries(m.peers).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ');
  const md = [
    '# Benchmark report',
    '',
    '<!-- generated by `npm run bench` (scripts/bench.js) from bench/REPORT.json; do not edit -->',
    '',
    'Every figure is measured in rounds that alternate ours and its peer (or floor) in the same run, so a busy',
    'moment on the shared machine falls on both; a cell is the median over the rounds with the range',
    '(min–max) in brackets, and the ratio is taken round by round. Latencies give p50/p99 over the samples',
    'of a run. Loopback only. `npm run bench <name>` reruns one benchmark and updates its section.',
    '',
    `Machine: ${m.cpu}, ${m.memory}, ${m.os}; Node.js ${m.node}. Peers: ${peers}.`,
    'The machine is shared with other work (the load average is given per benchmark), so absolute figures',
    'move between runs; the ratios move less.',
    '',
    '## Summary',
    '',
    '| benchmark | ours | peer or floor in the same run | ratio |',
    '|---|---|---|---|',
    ...summaryRows(report),
    '',
    ...Object.entries(report.benches).map(([name, b]) => benchSection(name, b)),
  ].join('\n');
  fs.writeFileSync(mdFile, md);

  if (fs.existsSync(readme)) {
    const text = fs.readFileSync(readme, 'utf8');
    const start = '<!-- performance:start -->';
    const end = '<!-- performance:end -->';
    const table = [
      start,
      `Generated by \`npm run bench\` from [bench/REPORT.md](bench/REPORT.md), which has every figure with its peer and spread.`,
      'Median over rounds that alternate ours and the peer in one run (range in brackets); loopback, 2 shared cores.',
      '',
      '| benchmark | ours | peer or floor in the same run | ratio |',
      '|---|---|---|---|',
      ...summaryRows(report),
      end,
    ].join('\n');
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    if (i >= 0 && j > i) fs.writeFileSync(readme, text.slice(0, i) + table + text.slice(j + end.length));
    else console.error('README.md has no <!-- performance:start --> / <!-- performance:end --> markers: table not written');
  }
}

(async () => {
  const report = fs.existsSync(jsonFile) ? JSON.parse(fs.readFileSync(jsonFile, 'utf8')) : { benches: {} };
  report.machine = machine();
  if (!reportOnly) {
    execFileSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit', env: { ...process.env, QUIET_BUILD: '1' } });
    const files = fs
      .readdirSync(benchDir)
      .filter((f) => f.endsWith('.js') && !f.startsWith('_'))
      .filter((f) => !wanted.length || wanted.some((w) => f.startsWith(w)))
      .sort();
    if (!files.length) {
      console.error(`no benchmark matches ${wanted.join(', ')}`);
      process.exit(2);
    }
    let failed = 0;
    for (const f of files) {
      const name = path.basename(f, '.js');
      console.log(`\n=== ${name} ===`);
      const r = await runOne(path.join(benchDir, f));
      if (r.exit !== 0) failed++;
      report.benches[name] = r;
      // sections in file order, whatever order they were run in
      report.benches = Object.fromEntries(Object.entries(report.benches).sort(([x], [y]) => x.localeCompare(y)));
      fs.writeFileSync(jsonFile, JSON.stringify(report, null, 1) + '\n');
      writeDocs(report);
    }
    console.log(`\nwrote ${path.relative(root, mdFile)} and the README's Performance table`);
    process.exit(failed ? 1 : 0);
  }
  writeDocs(report);
  console.log(`wrote ${path.relative(root, mdFile)} and the README's Performance table`);
})();
