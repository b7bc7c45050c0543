/**
 * No runtime text outside the locale files. The core (nodes/lib) throws codes and logs
 * codes; the adapters (nodes/*.ts, nodes/shared) word nothing themselves and translate
 * through RED._ (nodes/shared/i18n.ts). This reads the sources and fails on a worded
 * message, or on a code or key that en-US does not have. (Keys built at run time are
 * checked by the node tier's RED._, test/helpers/i18n.ts.)
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
const { catalog, types } = require('../../scripts/locales');

const root = path.resolve(__dirname, '../..');
const nodesDir = path.join(root, 'nodes');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const all = files(nodesDir);
const lib = all.filter((f) => f.startsWith(path.join(nodesDir, 'lib') + path.sep));
const adapters = all.filter((f) => !lib.includes(f));

const en: Record<string, unknown> = {};
for (const type of types('en-US') as string[]) Object.assign(en, catalog('en-US', type));
function has(key: string): boolean {
  let v: unknown = en;
  for (const p of key.split('.')) {
    if (!v || typeof v !== 'object') return false;
    const o = v as Record<string, unknown>;
    // a plural is stored as key_one / key_other
    v = p in o ? o[p] : o[`${p}_other`];
  }
  return typeof v === 'string' || (!!v && typeof v === 'object');
}

interface Hit {
  where: string;
  text: string;
}
function scan(list: string[], re: RegExp): Array<Hit & { m: RegExpExecArray }> {
  const out: Array<Hit & { m: RegExpExecArray }> = [];
  for (const f of list) {
    const lines = readFileSync(f, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/^\s*(\*|\/\/|\/\*)/.test(line)) return; // comments
      const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
      let m: RegExpExecArray | null;
      while ((m = g.exec(line))) out.push({ where: `${path.relative(root, f)}:${i + 1}`, text: line.trim(), m });
    });
  }
  return out;
}
const CODE = /^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9-]*)+$/;
const where = (hits: Hit[]): string[] => hits.map((h) => `${h.where}  ${h.text}`);

describe('runtime texts come from the locale files', () => {
  test('no error is thrown with a worded message, anywhere under nodes/', () => {
    const worded = scan(all, /new (\w*Error)\(\s*(`|'([^']*)'|"([^"]*)")/).filter((h) => !(h.m[3] !== undefined && CODE.test(h.m[3])));
    expect(where(worded)).toEqual([]);
  });

  test('every error code the core throws has a text in en-US', () => {
    const missing = scan(all, /new \w*Error\(\s*'([^']*)'/).filter((h) => CODE.test(h.m[1]) && !has(`intercom.errors.${h.m[1]}`));
    expect(where(missing)).toEqual([]);
  });

  test('every log code of the core has a text in en-US, and none is worded', () => {
    const calls = scan(lib, /\b(?:log|logger)\.(?:warn|debug|info|error)\(\s*(`|'([^']*)'|"([^"]*)")/);
    const bad = calls.filter((h) => h.m[2] === undefined || !CODE.test(h.m[2]) && !/^[a-z][A-Za-z0-9]*$/.test(h.m[2]) || !has(`intercom.log.${h.m[2]}`));
    expect(where(bad)).toEqual([]);
  });

  test('adapters word no status, log line or error themselves', () => {
    const worded = [
      ...scan(adapters, /\b(?:this|node|n|u|user)\.(?:error|warn|log|debug|trace)\(\s*[`'"]/),
      ...scan(adapters, /\btext:\s*[`'"]/),
    ];
    expect(where(worded)).toEqual([]);
  });

  test("every literal key an adapter uses is in en-US under the node's own name or intercom.", () => {
    const bad: Hit[] = [];
    for (const f of adapters) {
      const base = path.basename(f, '.ts').replace(/\.(types|helpers)$/, '');
      const type = base.startsWith('intercom-') ? base : undefined;
      for (const h of scan([f], /\b(t|common|status)\(\s*(?:'[a-z]+',\s*'[a-z]+',\s*)?'([^']+)'/)) {
        const [, fn, key] = h.m;
        const full = fn === 'common' ? `intercom.${key}` : fn === 'status' ? `${type}.status.${key}` : `${type}.${key}`;
        if ((fn !== 'common' && !type) || !has(full)) bad.push({ where: h.where, text: `${full} (${h.text})` });
      }
      for (const h of scan([f], /RED\._\(\s*'([^']+)'/)) if (!has(h.m[1])) bad.push({ where: h.where, text: h.m[1] });
    }
    expect(where(bad)).toEqual([]);
  });

  test('the scan itself bites: worded messages in a probe file are found', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'i18n-probe-'));
    const probe = path.join(dir, 'intercom-probe.ts');
    writeFileSync(probe, ["throw new Error('door not usable');", "this.status({ fill: 'red', shape: 'ring', text: 'no door' });", "this.warn(`x ${y}`);", "throw new IntercomError('setting.number');"].join('\n'));
    expect(scan([probe], /new (\w*Error)\(\s*(`|'([^']*)'|"([^"]*)")/).filter((h) => !(h.m[3] !== undefined && CODE.test(h.m[3]))).length).toBe(1);
    expect(scan([probe], /\btext:\s*[`'"]/).length).toBe(1);
    expect(scan([probe], /\b(?:this|node|n|u|user)\.(?:error|warn|log|debug|trace)\(\s*[`'"]/).length).toBe(1);
    rmSync(dir, { recursive: true, force: true });
    expect(has('intercom.errors.setting.number')).toBe(true);
    expect(has('intercom.errors.setting.nope')).toBe(false);
  });
});
