#!/usr/bin/env node
'use strict';
// `npm run bench [name]`: runs each benchmark under bench/ (or the one named); each
// prints its figures and a ratio against a peer measured in the same run.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync, execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
execFileSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit', env: { ...process.env, QUIET_BUILD: '1' } });
const want = process.argv[2];
const benches = fs
  .readdirSync(path.join(root, 'bench'))
  .filter((f) => f.endsWith('.js') && !f.startsWith('_'))
  .filter((f) => !want || f.startsWith(want));
let failed = 0;
for (const b of benches) {
  console.log(`\n=== ${b} ===`);
  const file = path.join(root, 'bench', b);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
