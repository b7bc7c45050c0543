#!/usr/bin/env node
'use strict';
// `npm test [tier]`: builds (the package and node tiers load the compiled package), then
// runs jest over all tiers or the one named. Extra arguments go to jest.
const path = require('node:path');
const { spawnSync, execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const tiers = ['unit', 'node', 'peer', 'package'];
const args = process.argv.slice(2);
const selected = args.filter((a) => tiers.includes(a));
const rest = args.filter((a) => !tiers.includes(a));
execFileSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit', env: { ...process.env, QUIET_BUILD: '1' } });
const jest = require.resolve('jest/bin/jest', { paths: [root] });
const fs = require('node:fs');
const outDir = path.join(root, 'test-results');
fs.mkdirSync(outDir, { recursive: true });

// WebRTC tests (the gateway's and the door page's) need a network with nothing but loopback (ICE would pick the LAN address):
// as root they run in their own network namespace, `unshare -n` with lo up. Elsewhere they
// run with the rest and skip with a notice (fail in CI) when the network is not loopback-only.
const peerSelected = selected.length === 0 || selected.includes('peer');
const netns = peerSelected && process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'true']).status === 0;
const WEBRTC = '/test/peer/(webrtc|door-page)-';

function run(tierArgs, results, wrap) {
  fs.rmSync(results, { force: true });
  const args = [jest, ...tierArgs, '--json', '--outputFile=' + results, ...rest];
  const r = wrap
    ? spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...args], { stdio: 'inherit', cwd: root })
    : spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  let j;
  try {
    j = JSON.parse(fs.readFileSync(results, 'utf8'));
  } catch {
    j = undefined;
  }
  return { status: r.status ?? 1, j };
}

const chosen = selected.length ? selected : tiers;
const projects = (ts) => ts.flatMap((t) => ['--selectProjects', t]);
// The unit and node tiers (in-process, loopback only, no peer programs) run two files at a
// time; the peer and package tiers one at a time, since their real programs (baresip,
// Home Assistant, Chromium, Node-RED children) and their timing want the machine's cores.
// INTERCOM_TEST_WORKERS sets the first run's workers. (A file pattern may match nothing in
// one of the runs: that is no failure.)
const light = chosen.filter((t) => t === 'unit' || t === 'node');
const heavy = chosen.filter((t) => t === 'peer' || t === 'package');
const runs = [];
if (light.length) runs.push(run([...projects(light), `--maxWorkers=${process.env.INTERCOM_TEST_WORKERS || 2}`, '--passWithNoTests'], path.join(outDir, 'jest-results-unit-node.json'), false));
if (heavy.length) runs.push(run([...projects(heavy), ...(netns ? ['--testPathIgnorePatterns', '/node_modules/', WEBRTC] : []), '--passWithNoTests'], path.join(outDir, 'jest-results.json'), false));
if (netns) runs.push(run(['--selectProjects', 'peer', '--testPathPattern', WEBRTC, '--passWithNoTests'], path.join(outDir, 'jest-results-webrtc.json'), true));
// One plain closing line that any CI reader understands.
let passed = 0;
let failed = 0;
let skipped = 0;
for (const { j } of runs) {
  if (!j) {
    failed++;
    continue;
  }
  passed += j.numPassedTests;
  failed += j.numFailedTests + (j.numRuntimeErrorTestSuites || 0);
  skipped += j.numPendingTests + j.numTodoTests;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(runs.every((r) => r.status === 0) ? 0 : 1);
