'use strict';
// The message catalogs as Node-RED reads them: one per node and language, the node's own
// locales/<lang>/<type>.json with the shared texts of locales/<lang>/common/*.json (one
// file per area of the core, all under "intercom") merged in. Node-RED registers one
// catalog per node file, so the shared texts travel with each.
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

function deepMerge(into, from, where) {
  for (const [k, v] of Object.entries(from)) {
    if (v && typeof v === 'object' && into[k] && typeof into[k] === 'object') deepMerge(into[k], v, `${where}.${k}`);
    else if (k in into) throw new Error(`locale key ${where}.${k} is defined twice`);
    else into[k] = v;
  }
  return into;
}

/** The shared texts of one language: every locales/<lang>/common/*.json merged. */
function common(lang, dir = localesDir) {
  const cdir = path.join(dir, lang, 'common');
  const out = {};
  if (!fs.existsSync(cdir)) return out;
  for (const f of fs.readdirSync(cdir).filter((x) => x.endsWith('.json')).sort()) deepMerge(out, readJson(path.join(cdir, f)), `${lang}/common/${f}:`);
  return out;
}

function catalog(lang, type, dir = localesDir) {
  const own = readJson(path.join(dir, lang, `${type}.json`)) ?? {};
  return { ...common(lang, dir), ...own };
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

module.exports = { localesDir, languages, types, common, catalog, writeCatalogs };
