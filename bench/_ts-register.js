'use strict';
// Lets a benchmark reuse a TypeScript test helper (the real-peer harnesses) instead of a
// second copy in JavaScript: .ts files are transpiled on require with the dev TypeScript.
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = function (module, filename) {
  const src = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(src, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(out.outputText, filename);
};
