/**
 * RED._ for the node tier, from the real locale files: node-red-node-test-helper's own
 * RED._ returns the key, which would let a node show a key that no catalog has. This one
 * resolves keys the way Node-RED's i18next does (nested keys, __name__ values, plurals by
 * `count` and Intl.PluralRules) and records every key it cannot find, so the tier fails on
 * it. It speaks en-US unless a test picks the runtime's language with useLanguage(); a key
 * missing in that language is recorded as "<lang>:<key>", not filled in from en-US as
 * Node-RED would: that fallback is the mixed-language dialog a translation must not leave.
 */
const { catalog, types } = require('../../scripts/locales');

type Catalog = Record<string, unknown>;
const catalogs = new Map<string, Catalog>();

function merged(lang: string): Catalog {
  let c = catalogs.get(lang);
  if (!c) {
    c = {};
    for (const type of types(lang) as string[]) Object.assign(c, catalog(lang, type));
    catalogs.set(lang, c);
  }
  return c;
}

function lookup(root: Catalog, path: string[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Catalog)[p];
  }
  return v;
}

export const missingKeys = new Set<string>();

let language = 'en-US';
/** The runtime language for the following RED._ calls (as Node-RED's `lang` setting); returns the one before. */
export function useLanguage(lang: string): string {
  const before = language;
  language = lang;
  return before;
}

export function translate(key: string, params: Record<string, unknown> = {}, lang = language): string {
  const root = merged(lang);
  const path = key.split('.');
  let v = lookup(root, path);
  if (typeof params.count === 'number') {
    const form = new Intl.PluralRules(lang).select(params.count);
    const parent = lookup(root, path.slice(0, -1)) as Catalog | undefined;
    const last = path[path.length - 1];
    // i18next looks for the language's own form; without it Node-RED shows en-US's
    const own = parent?.[`${last}_${form}`];
    if (lang !== 'en-US' && typeof own !== 'string' && typeof parent?.[`${last}_other`] === 'string') {
      missingKeys.add(`${lang}:${key}_${form}`);
      return key;
    }
    const p = own ?? parent?.[`${last}_other`];
    if (typeof p === 'string') v = p;
  }
  if (typeof v !== 'string') {
    missingKeys.add(lang === 'en-US' ? key : `${lang}:${key}`);
    return key;
  }
  return v.replace(/__([A-Za-z0-9_]+)__/g, (m, name: string) => (params[name] === undefined ? m : String(params[name])));
}
