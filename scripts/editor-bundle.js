'use strict';
// The editor's script (resources/intercom-editor.js): the dialogs' rules from nodes/lib, as
// tsc compiled them to dist/nodes/lib, in a small CommonJS wrapper, with the browser glue
// of editor/intercom-editor.js on top. Node-RED serves a package's resources/ folder at
// resources/<module>/<file>; every dialog that checks fields loads it (idempotent).
// A module that needs anything outside nodes/lib (a Node.js built-in, a package) cannot
// run in the browser: the build fails and names the chain that pulled it in.
const fs = require('node:fs');
const path = require('node:path');

const ENTRY = 'forms/forms.js';

function collect(libDir) {
  const modules = new Map();
  const visit = (id, chain) => {
    if (modules.has(id)) return;
    const file = path.join(libDir, id);
    if (!fs.existsSync(file)) throw new Error(`editor script: ${id} not found (from ${chain.join(' → ')})`);
    const code = fs.readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/m, '');
    modules.set(id, code);
    for (const m of code.matchAll(/\brequire\("([^"]+)"\)/g)) {
      const spec = m[1];
      if (!spec.startsWith('.')) throw new Error(`editor script: ${[...chain, id].join(' → ')} requires "${spec}", which a browser does not have: keep rules the dialogs use free of Node.js`);
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(id), spec)) + '.js';
      if (target.startsWith('..')) throw new Error(`editor script: ${id} reaches outside nodes/lib (${spec})`);
      visit(target, [...chain, id]);
    }
  };
  visit(ENTRY, []);
  return modules;
}

function bundle(root, distLib) {
  const modules = collect(distLib);
  const glue = fs.readFileSync(path.join(root, 'editor', 'intercom-editor.js'), 'utf8');
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  const defs = [...modules].map(([id, code]) => `${JSON.stringify(id)}: function (exports, require, module) {\n${code}\n}`).join(',\n');
  return `/* node-red-contrib-sip-intercom ${version}: the editor's field rules, built from nodes/lib by scripts/build.js. */
(function () {
  'use strict';
  if (window.IntercomEditor) return;
  var defs = {
${defs}
  };
  var cache = {};
  function load(id) {
    if (cache[id]) return cache[id].exports;
    var module = (cache[id] = { exports: {} });
    var dir = id.split('/').slice(0, -1);
    defs[id].call(module.exports, module.exports, function (spec) {
      var parts = dir.slice();
      spec.split('/').forEach(function (p) {
        if (p === '..') parts.pop();
        else if (p !== '.') parts.push(p);
      });
      return load(parts.join('/') + '.js');
    }, module);
    return module.exports;
  }
  var lib = load(${JSON.stringify(ENTRY)});
${glue}
})();
`;
}

function writeBundle(root, distLib, outFile) {
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, bundle(root, distLib));
}

module.exports = { collect, bundle, writeBundle };
