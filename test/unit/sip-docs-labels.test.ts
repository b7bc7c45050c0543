/**
 * The README's troubleshooting names settings as the editor labels them (issue #13: it said
 * "Public address" where the dialog says "Contact address"). Every italic span there must be
 * a label of some node's dialog in en-US.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
const { catalog, types } = require('../../scripts/locales');

const root = path.resolve(__dirname, '../..');

function labels(): Set<string> {
  const out = new Set<string>();
  for (const type of types('en-US') as string[]) {
    const c = catalog('en-US', type) as Record<string, { label?: Record<string, unknown> }>;
    for (const v of Object.values(c)) for (const l of Object.values(v?.label ?? {})) if (typeof l === 'string') out.add(l);
  }
  return out;
}

describe('docs name settings as the editor does', () => {
  test('every italic setting in the README troubleshooting is a dialog label', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const block = /<!-- troubleshooting:start -->([\s\S]*?)<!-- troubleshooting:end -->/.exec(readme)?.[1] ?? '';
    const named = [...block.matchAll(/(?<!\*)\*([^*\n]+)\*(?!\*)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(3);
    const known = labels();
    expect(named.filter((n) => !known.has(n))).toEqual([]);
  });
});
