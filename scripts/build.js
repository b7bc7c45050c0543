#!/usr/bin/env node
'use strict';
// Compiles nodes/ to dist/nodes/ (CommonJS) and puts each node's .html, the icons and
// the locales beside the compiled .js, where Node-RED looks for them; bundles the dialogs'
// field rules into resources/intercom-editor.js, which Node-RED serves to the editor.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist', 'nodes');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
  cwd: root,
  stdio: 'inherit',
});
for (const f of fs.readdirSync(path.join(root, 'nodes'))) {
  if (f.endsWith('.html')) fs.copyFileSync(path.join(root, 'nodes', f), path.join(dist, f));
}
fs.cpSync(path.join(root, 'icons'), path.join(dist, 'icons'), { recursive: true });
require('./locales').writeCatalogs(path.join(dist, 'locales'));
// The dialogs' field rules for the browser (Node-RED serves resources/ at resources/<module>/).
require('./editor-bundle').writeBundle(root, path.join(dist, 'lib'), path.join(root, 'resources', 'intercom-editor.js'));
// Shipped assets used at run time (prompts and the like).
const assets = path.join(root, 'nodes', 'assets');
if (fs.existsSync(assets)) fs.cpSync(assets, path.join(dist, 'assets'), { recursive: true });
fs.writeFileSync(path.join(root, 'dist', '.stamp'), new Date().toISOString());
if (!process.env.QUIET_BUILD) console.log('built dist/nodes');
