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
const jestArgs = [require.resolve('jest/bin/jest', { paths: [root] })];
for (const t of selected) jestArgs.push('--selectProjects', t);
const fs = require('node:fs');
const results = path.join(root, 'test-results', 'jest-results.json');
fs.mkdirSync(path.dirname(results), { recursive: true });
fs.rmSync(results, { force: true });
jestArgs.push('--json', '--outputFile=' + results);
const r = spawnSync(process.execPath, [...jestArgs, ...rest], { stdio: 'inherit', cwd: root });
// One plain closing line that any CI reader understands.
try {
  const j = JSON.parse(fs.readFileSync(results, 'utf8'));
  const skipped = j.numPendingTests + j.numTodoTests;
  const brokenSuites = j.numRuntimeErrorTestSuites || 0;
  console.log(`tests: ${j.numPassedTests} passed, ${j.numFailedTests + brokenSuites} failed, ${skipped} skipped`);
} catch {
  console.log('tests: 0 passed, 1 failed');
}
process.exit(r.status ?? 1);
