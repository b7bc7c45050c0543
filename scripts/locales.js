'use strict';
// The message catalogs as Node-RED reads them: one per node and language, the node's own
// locales/<lang>/<type>.json with the shared texts of locales/<lang>/common.json merged in
// (Node-RED registers one catalog per node file, so shared texts travel with each).
const fs = require('node:fs');
const path = require('node:path');

const localesDir = path.resolve(__dirname, '..', 'locales');

function readJson(file) {
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
}

function languages(dir = localesDir) {
  return fs.readdirSync(dir).filter((d) => fs.statSync(path.join(dir, d)).isDirectory()).sort();
}

/** Node types with a catalog in this language. */
function types(lang, dir = localesDir) {
  return fs.readdirSync(path.join(dir, lang)).filter((f) => /^intercom-.*\.json$/.test(f)).map((f) => f.slice(0, -5)).sort();
}

function catalog(lang, type, dir = localesDir) {
  const own = readJson(path.join(dir, lang, `${type}.json`)) ?? {};
  const common = readJson(path.join(dir, lang, 'common.json')) ?? {};
  return { ...common, ...own };
}

/** Write what Node-RED loads: merged catalogs and the help pages, per language. */
function writeCatalogs(outDir, dir = localesDir) {
  for (const lang of languages(dir)) {
    const out = path.join(outDir, lang);
    fs.mkdirSync(out, { recursive: true });
    for (const f of fs.readdirSync(path.join(dir, lang))) {
      if (f.endsWith('.html')) fs.copyFileSync(path.join(dir, lang, f), path.join(out, f));
    }
    for (const type of types(lang, dir)) fs.writeFileSync(path.join(out, `${type}.json`), JSON.stringify(catalog(lang, type, dir), null, 2) + '\n');
  }
}

module.exports = { localesDir, languages, types, catalog, writeCatalogs };
