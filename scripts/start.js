#!/usr/bin/env node
'use strict';
// `npm start`: build when the sources changed, then run Node-RED on
// http://127.0.0.1:1880 with a user dir inside the checkout (.node-red/, git-ignored)
// that loads this package from the working tree, so the palette shows its nodes at once.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const userDir = process.env.NODE_RED_USER_DIR || path.join(root, '.node-red');
const port = process.env.PORT || '1880';
const host = process.env.HOST || '127.0.0.1';

function newestMtime(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

const stamp = path.join(root, 'dist', '.stamp');
const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
const sources = Math.max(...['nodes', 'icons', 'locales', 'editor'].map((d) => newestMtime(path.join(root, d))));
if (sources > built) {
  console.log('building...');
  execFileSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit' });
}

fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
const link = path.join(userDir, 'node_modules', 'node-red-contrib-sip-intercom');
let linked = false;
try {
  linked = fs.realpathSync(link) === fs.realpathSync(root);
} catch {
  /* missing */
}
if (!linked) {
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(root, link, 'dir');
}
const pkgFile = path.join(userDir, 'package.json');
if (!fs.existsSync(pkgFile)) {
  fs.writeFileSync(
    pkgFile,
    JSON.stringify({ name: 'node-red-project', private: true, dependencies: { 'node-red-contrib-sip-intercom': 'file:' + root } }, null, 2),
  );
}
const settingsFile = path.join(userDir, 'settings.js');
if (!fs.existsSync(settingsFile)) {
  const secret = crypto.randomBytes(24).toString('hex');
  fs.writeFileSync(
    settingsFile,
    `// Development settings written by npm start; edit freely, it is not overwritten.
module.exports = {
  uiHost: process.env.HOST || '127.0.0.1',
  uiPort: process.env.PORT || 1880,
  flowFile: 'flows.json',
  credentialSecret: '${secret}',
  logging: { console: { level: process.env.LOG_LEVEL || 'info' } },
  editorTheme: { projects: { enabled: false }, tours: false },
  // No update-check prompt in a development instance.
  telemetry: { enabled: false },
};
`,
  );
}
// First start: open the getting-started example so the editor is not empty.
const flowFile = path.join(userDir, 'flows.json');
const starter = path.join(root, 'examples', 'Getting started', 'Journal every event.json');
if (!fs.existsSync(flowFile) && fs.existsSync(starter)) fs.copyFileSync(starter, flowFile);

const redJs = require.resolve('node-red/red.js', { paths: [root] });
console.log(`Node-RED with node-red-contrib-sip-intercom on http://${host}:${port}/ (user dir ${userDir})`);

// Node-RED runs in this process (no grandchild to leave behind), and this process ends
// with whoever started it: when `npm start` (or the shell between it and us) is killed,
// even with SIGKILL, we are re-parented, and a SIGTERM to ourselves lets Node-RED close
// its nodes and free its ports before it exits.
function parentOf(pid) {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parens.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), comm: fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() };
  } catch {
    return undefined; // not Linux, or gone
  }
}
// Our parent, and npm above it when a shell sits between (`npm start` runs `sh -c`).
const launchers = [process.ppid];
const up = parentOf(process.ppid);
if (up && /^(sh|bash|dash)$/.test(up.comm) && /^npm/.test(parentOf(up.ppid)?.comm ?? '')) launchers.push(up.ppid);
const parent = process.ppid;
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
let stopping = false;
setInterval(() => {
  if (stopping) return;
  if (process.ppid !== parent || !launchers.every(alive)) {
    stopping = true;
    console.log('npm start: the process that started Node-RED is gone; stopping');
    process.kill(process.pid, 'SIGTERM');
    // Node-RED normally exits on SIGTERM after closing its nodes; never linger.
    setTimeout(() => process.exit(0), 10000).unref();
  }
}, 500).unref();

process.env.HOST = host;
process.env.PORT = port;
process.argv = [process.execPath, redJs, '--userDir', userDir, '--port', port, ...process.argv.slice(2)];
require(redJs);
