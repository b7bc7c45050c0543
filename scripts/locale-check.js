#!/usr/bin/env node
'use strict';
// Are the translations complete? en-US is the source: every other language under locales/
// must have every file, every key and every help page of en-US, with the same
// placeholders, the plural forms its language needs, the help pages' markup, and a text
// that is not simply the English one. A translation whose en-US source changed since it
// was made is reported as stale (translated-from-en-US.json records what it was made from).
//
//   node scripts/locale-check.js            every problem, by file and key (exit 1 if any)
//   node scripts/locale-check.js de         one language
//   node scripts/locale-check.js --stamp de [file[:key] ...]
//       record the en-US texts the de translations are made from: every key that is new
//       or whose translation changed; a key or file named is recorded even if its
//       translation did not change (its en-US source changed in a way that needs none).
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { localesDir, languages } = require('./locales');

const SOURCE = 'en-US';
const STAMPS = 'translated-from-en-US.json';

/**
 * Texts that are the same in a language as in English by nature (product names,
 * protocol terms, node type names, words the language borrowed). Anything else equal to
 * its en-US text is reported as untranslated.
 */
const SAME_AS_EN = {
  de: ['Name', 'Home Assistant', 'HA', 'MQTT', 'QoS', 'URL', 'ffmpeg', 'Broker', 'Server', 'Transport', 'Domain', 'Topic', 'Payload', 'Body',
    'Port', 'sip in', 'sip call', 'dtmf', 'PIN ok', 'PIN ok (__user__)', 's', 'ms'],
  ru: ['Home Assistant', 'HA', 'MQTT', 'QoS', 'URL', 'ffmpeg', 'sip in', 'sip call', 'dtmf'],
};
/** Keys whose text is syntax the nodes parse (keywords included), the same in every language. */
const SYNTAX_KEYS = new Set(['intercom-time-window.placeholder.exceptions']);

const rel = (...p) => path.join(...p).split(path.sep).join('/');
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const hash = (s) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 8);

/** The catalog files of a language: per node and common/, as paths relative to locales/<lang>. */
function catalogFiles(lang, dir) {
  const base = path.join(dir, lang);
  if (!fs.existsSync(base)) return [];
  const own = fs.readdirSync(base).filter((f) => /^intercom-.*\.json$/.test(f));
  const cdir = path.join(base, 'common');
  const common = fs.existsSync(cdir) ? fs.readdirSync(cdir).filter((f) => f.endsWith('.json')).map((f) => `common/${f}`) : [];
  return [...own, ...common].sort();
}

function helpFiles(lang, dir) {
  const base = path.join(dir, lang);
  return fs.existsSync(base) ? fs.readdirSync(base).filter((f) => f.endsWith('.html')).sort() : [];
}

/** Leaves of a catalog as dotted key -> value (strings; anything else is kept to be reported). */
function leaves(obj, prefix = '', out = new Map()) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (Object.keys(v).length === 0) out.set(key, v);
      else leaves(v, key, out);
    } else out.set(key, v);
  }
  return out;
}

const PLURAL = /^(.*)_(zero|one|two|few|many|other)$/;

/** Splits leaves into plain keys and plural groups (base -> form -> text). */
function groups(map) {
  const plain = new Map();
  const plural = new Map();
  for (const [k, v] of map) {
    const m = PLURAL.exec(k);
    if (m) {
      if (!plural.has(m[1])) plural.set(m[1], new Map());
      plural.get(m[1]).set(m[2], v);
    } else plain.set(k, v);
  }
  return { plain, plural };
}

/** Placeholders a text uses: i18next's __name__ and the nodes' own {name} templates. */
function placeholders(text) {
  const set = new Set();
  for (const m of String(text).matchAll(/__([A-Za-z0-9_]+?)__/g)) set.add(`__${m[1]}__`);
  for (const m of String(text).matchAll(/\{([a-z][A-Za-z0-9]*)\}/g)) set.add(`{${m[1]}}`);
  return set;
}
const same = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));
const show = (s) => [...s].sort().join(' ') || '(none)';

/** A text that says something in English: letters left once placeholders and code are gone. */
function hasWords(text) {
  return /[A-Za-z]{3}/.test(String(text).replace(/__[A-Za-z0-9_]+?__|\{[a-z][A-Za-z0-9]*\}|[a-z]+:\/\/\S*|msg\.[\w.]+/g, ''));
}

function pluralForms(lang) {
  return new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
}

/** The stamps of a language as id -> {en, tr}; stored by file as key -> "<en hash> <tr hash>". */
function readStamps(lang, dir) {
  const f = path.join(dir, lang, STAMPS);
  const out = {};
  if (!fs.existsSync(f)) return out;
  for (const [file, keys] of Object.entries(readJson(f))) {
    if (typeof keys === 'string') {
      const [en, tr] = keys.split(' ');
      out[file] = { en, tr };
    } else {
      for (const [k, v] of Object.entries(keys)) {
        const [en, tr] = String(v).split(' ');
        out[`${file}:${k}`] = { en, tr };
      }
    }
  }
  return out;
}

function writeStamps(lang, stamps, dir) {
  const byFile = {};
  for (const id of Object.keys(stamps).sort()) {
    const v = `${stamps[id].en} ${stamps[id].tr}`;
    const i = id.indexOf(':');
    if (i < 0) byFile[id] = v;
    else (byFile[id.slice(0, i)] ??= {})[id.slice(i + 1)] = v;
  }
  fs.writeFileSync(path.join(dir, lang, STAMPS), JSON.stringify(byFile, null, 1) + '\n');
}

/**
 * Every text of a language as stamp entries, id -> text: "<file>:<key>" per catalog text (a
 * plural group as one entry, its forms together, since the forms differ by language) and
 * "<file>" per help page.
 */
function texts(lang, dir) {
  const out = new Map();
  for (const f of catalogFiles(lang, dir)) {
    let data;
    try {
      data = readJson(path.join(dir, lang, f));
    } catch {
      continue;
    }
    const { plain, plural } = groups(leaves(data));
    for (const [k, v] of plain) if (typeof v === 'string') out.set(`${f}:${k}`, v);
    for (const [k, forms] of plural) out.set(`${f}:${k}`, JSON.stringify([...forms].sort()));
  }
  for (const f of helpFiles(lang, dir)) out.set(f, helpText(fs.readFileSync(path.join(dir, lang, f), 'utf8')));
  return out;
}

// ---- help pages -------------------------------------------------------------------------

const BLOCK = new Set(['script', 'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'dl', 'dt', 'dd', 'ul', 'ol', 'li', 'pre', 'div', 'table', 'thead', 'tbody', 'tr', 'td', 'th', 'blockquote', 'hr']);

/** Tags and texts of a help page (the help pages are simple, hand-written HTML). */
function tokens(html) {
  const out = [];
  const re = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^\s=>]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*(\/?)>|<!--[\s\S]*?-->/g;
  let last = 0;
  let m;
  while ((m = re.exec(html))) {
    if (m.index > last) out.push({ text: html.slice(last, m.index) });
    last = re.lastIndex;
    if (!m[2]) continue; // comment
    const attrs = {};
    for (const a of (m[3] || '').matchAll(/([^\s=>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g)) attrs[a[1]] = (a[2] || '').replace(/^["']|["']$/g, '');
    out.push({ tag: m[2].toLowerCase(), close: m[1] === '/', attrs });
  }
  if (last < html.length) out.push({ text: html.slice(last) });
  return out;
}

const norm = (s) => s.replace(/\s+/g, ' ').trim();
/** What a reader sees of a help page, whitespace-normalised. */
function helpText(html) {
  return norm(tokens(html).filter((t) => 'text' in t).map((t) => t.text).join(' '));
}

/**
 * What a translation of a help page must keep: the block structure with every attribute
 * (data-help-name, classes) in order, the inline markup as a multiset, and the literal
 * contents of <code>, <pre> and property types, which are names and syntax, not prose.
 */
function helpShape(html) {
  const blocks = [];
  const inline = [];
  const literal = [];
  let capture = null;
  let depth = 0;
  for (const t of tokens(html)) {
    if ('text' in t) {
      if (capture) capture.text += t.text;
      continue;
    }
    const attrs = Object.keys(t.attrs).sort().map((k) => `${k}="${t.attrs[k]}"`).join(' ');
    const sig = `<${t.close ? '/' : ''}${t.tag}${attrs ? ' ' + attrs : ''}>`;
    if (BLOCK.has(t.tag)) blocks.push(sig);
    else inline.push(sig);
    const literalTag = t.tag === 'code' || t.tag === 'pre' || (t.tag === 'span' && /\bproperty-type\b/.test(t.attrs.class || ''));
    if (!capture && literalTag && !t.close) {
      capture = { tag: t.tag, text: '' };
      depth = 1;
    } else if (capture && t.tag === capture.tag) {
      depth += t.close ? -1 : 1;
      if (depth === 0) {
        literal.push(`<${capture.tag}>${norm(capture.text)}`);
        capture = null;
      }
    } else if (capture && !t.close) capture.text += `<${t.tag}>`;
  }
  return { blocks, inline: inline.sort(), literal: literal.sort() };
}

/** Differences of two sorted lists, as readable items. */
function multisetDiff(want, got) {
  const count = (l) => l.reduce((m, x) => m.set(x, (m.get(x) || 0) + 1), new Map());
  const w = count(want);
  const g = count(got);
  const out = [];
  for (const [x, n] of w) if ((g.get(x) || 0) < n) out.push(`missing ${x}`);
  for (const [x, n] of g) if ((w.get(x) || 0) < n) out.push(`extra ${x}`);
  return out;
}

// ---- the check ------------------------------------------------------------------------

/**
 * Every problem of the translations, as { lang, file, key, problem }; file is relative to
 * locales/ (e.g. "ru/intercom-journal.json"), key is the dotted catalog key or "" for a
 * whole file.
 */
function check({ dir = localesDir, langs } = {}) {
  const problems = [];
  const targets = (langs || languages(dir)).filter((l) => l !== SOURCE);
  const enFiles = catalogFiles(SOURCE, dir);
  const enHelp = helpFiles(SOURCE, dir);
  for (const lang of targets) {
    const add = (file, key, problem) => problems.push({ lang, file: rel(lang, file), key, problem });
    const forms = pluralForms(lang);
    const sameOk = new Set(SAME_AS_EN[lang] || []);
    const stamps = readStamps(lang, dir);
    const current = texts(lang, dir);
    const enTexts = texts(SOURCE, dir);
    const stale = (id) => {
      const s = stamps[id];
      return !!s && enTexts.has(id) && current.has(id) && s.en !== hash(enTexts.get(id)) && s.tr === hash(current.get(id));
    };

    const files = catalogFiles(lang, dir);
    for (const f of files) if (!enFiles.includes(f)) add(f, '', `file not in ${SOURCE}`);
    for (const f of enFiles) {
      if (!files.includes(f)) {
        add(f, '', `missing (${SOURCE} has ${rel(SOURCE, f)})`);
        continue;
      }
      let en;
      let tr;
      try {
        en = readJson(path.join(dir, SOURCE, f));
        tr = readJson(path.join(dir, lang, f));
      } catch (e) {
        add(f, '', `not valid JSON: ${e.message}`);
        continue;
      }
      const E = groups(leaves(en));
      const T = groups(leaves(tr));
      for (const [k, v] of E.plain) {
        if (!T.plain.has(k)) {
          if (T.plural.has(k)) add(f, k, `is a plain text in ${SOURCE}, not a plural`);
          else add(f, k, 'missing');
          continue;
        }
        const t = T.plain.get(k);
        if (typeof v !== 'string') {
          if (typeof t === 'string' || (t && Object.keys(t).length)) add(f, k, `must be ${JSON.stringify(v)} as in ${SOURCE}`);
          continue;
        }
        if (typeof t !== 'string') add(f, k, 'must be a text');
        else if (!t.trim()) add(f, k, `empty (Node-RED would show the ${SOURCE} text)`);
        else if (!same(placeholders(v), placeholders(t))) add(f, k, `placeholders ${show(placeholders(t))}, ${SOURCE} has ${show(placeholders(v))}`);
        else if (t === v && hasWords(v) && !sameOk.has(v) && !SYNTAX_KEYS.has(k)) add(f, k, `same as ${SOURCE} ("${v}"): not translated?`);
        else if (stale(`${f}:${k}`)) add(f, k, `${SOURCE} text changed since it was translated: now "${v}"`);
      }
      for (const [k, v] of E.plural) {
        if (!T.plural.has(k)) {
          add(f, k, T.plain.has(k) ? `is a plural in ${SOURCE} (${[...v.keys()].map((x) => `${k}_${x}`).join(', ')})` : `missing (plural: ${forms.map((x) => `${k}_${x}`).join(', ')})`);
          continue;
        }
        const t = T.plural.get(k);
        const want = new Set([...v.values()].flatMap((x) => [...placeholders(x)]));
        for (const form of forms) {
          const text = t.get(form);
          if (typeof text !== 'string' || !text.trim()) {
            add(f, `${k}_${form}`, `missing: Intl.PluralRules('${lang}') needs the "${form}" form`);
            continue;
          }
          const has = placeholders(text);
          // "one" may leave out the count where it means exactly 1, as en-US's may
          const mayDropCount = form === 'one' && !placeholders(v.get('one') || '').has('__count__') && new Intl.PluralRules(lang).select(21) !== 'one';
          const need = new Set([...want].filter((p) => !(mayDropCount && p === '__count__')));
          if (!same(need, new Set([...has].filter((p) => !(mayDropCount && p === '__count__'))))) add(f, `${k}_${form}`, `placeholders ${show(has)}, ${SOURCE} has ${show(want)}`);
        }
        if (stale(`${f}:${k}`)) add(f, k, `${SOURCE} text changed since it was translated: now ${[...v].map(([x, s]) => `${x} "${s}"`).join(', ')}`);
        for (const form of t.keys()) if (!forms.includes(form)) add(f, `${k}_${form}`, `"${form}" is not a plural form of ${lang} (${forms.join(', ')})`);
      }
      for (const k of T.plain.keys()) if (!E.plain.has(k) && !E.plural.has(k)) add(f, k, `not in ${SOURCE}`);
      for (const k of T.plural.keys()) if (!E.plural.has(k) && !E.plain.has(k)) add(f, k, `plural not in ${SOURCE}`);
    }

    const help = helpFiles(lang, dir);
    for (const f of help) if (!enHelp.includes(f)) add(f, '', `help page not in ${SOURCE}`);
    for (const f of enHelp) {
      if (!help.includes(f)) {
        add(f, '', `help page missing (${SOURCE} has ${rel(SOURCE, f)})`);
        continue;
      }
      const enHtml = fs.readFileSync(path.join(dir, SOURCE, f), 'utf8');
      const trHtml = fs.readFileSync(path.join(dir, lang, f), 'utf8');
      const a = helpShape(enHtml);
      const b = helpShape(trHtml);
      if (a.blocks.join('') !== b.blocks.join('')) {
        const i = a.blocks.findIndex((x, n) => x !== b.blocks[n]);
        add(f, '', `markup differs from ${SOURCE} at block ${i + 1}: ${SOURCE} ${a.blocks[i] ?? '(end)'}, here ${b.blocks[i] ?? '(end)'}`);
      }
      for (const d of multisetDiff(a.inline, b.inline)) add(f, '', `inline markup: ${d}`);
      for (const d of multisetDiff(a.literal, b.literal)) add(f, '', `code/literal text: ${d}`);
      if (helpText(enHtml) === helpText(trHtml)) add(f, '', `same text as ${SOURCE}: not translated?`);
      else if (stale(f)) add(f, '', `${SOURCE} help page changed since it was translated`);
    }
  }
  return problems;
}

/** Records the en-US source of each translation (see the header). Returns the ids stamped. */
function stamp(lang, only = [], dir = localesDir) {
  const stamps = readStamps(lang, dir);
  const en = texts(SOURCE, dir);
  const tr = texts(lang, dir);
  const forced = (id) => only.some((o) => id === o || id.startsWith(`${o}:`));
  const done = [];
  for (const [id, t] of tr) {
    if (!en.has(id)) continue;
    const s = stamps[id];
    const entry = { en: hash(en.get(id)), tr: hash(t) };
    const staleNow = s && s.en !== entry.en && s.tr === entry.tr;
    if ((staleNow && !forced(id)) || (s && s.en === entry.en && s.tr === entry.tr)) continue;
    stamps[id] = entry;
    done.push(id);
  }
  for (const id of Object.keys(stamps)) if (!tr.has(id) || !en.has(id)) delete stamps[id];
  writeStamps(lang, stamps, dir);
  return done;
}

module.exports = { check, stamp, helpShape, helpText, placeholders, pluralForms, SOURCE, STAMPS, SAME_AS_EN };

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args[0] === '--stamp') {
    const [lang, ...only] = args.slice(1);
    if (!lang || lang === SOURCE || !languages().includes(lang)) {
      console.error(`usage: locale-check.js --stamp <lang> [file[:key] ...]; languages: ${languages().filter((l) => l !== SOURCE).join(', ')}`);
      process.exit(2);
    }
    const done = stamp(lang, only);
    console.log(`${lang}: ${done.length} translation(s) recorded as made from the current ${SOURCE} text`);
    const left = check({ langs: [lang] }).filter((p) => /changed since/.test(p.problem));
    for (const p of left) console.log(`still stale: ${p.file} ${p.key}`);
  } else {
    const problems = check({ langs: args.length ? args : undefined });
    for (const p of problems) console.log(`${p.file}${p.key ? ` ${p.key}` : ''}: ${p.problem}`);
    console.log(problems.length ? `${problems.length} problem(s)` : 'translations complete');
    process.exit(problems.length ? 1 : 0);
  }
}
