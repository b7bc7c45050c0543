/**
 * The core's folders form a layered graph: no folder under nodes/lib imports a folder that
 * imports it back, directly or round a longer loop. Reads the sources' import lines.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

const lib = path.resolve(__dirname, '../../nodes/lib');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** folder → folders it imports (relative imports only, types included). */
export function folderGraph(root: string): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const f of files(root)) {
    const from = path.relative(root, path.dirname(f)).split(path.sep)[0] || '.';
    const deps = g.get(from) ?? new Set<string>();
    g.set(from, deps);
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
      const target = path.resolve(path.dirname(f), m[1] ?? m[2]);
      if (!target.startsWith(root + path.sep)) continue;
      const to = path.relative(root, target).split(path.sep)[0];
      if (to && to !== from && !to.endsWith('.ts')) deps.add(to);
    }
  }
  return g;
}

/** Every cycle as a path a → b → … → a (each reported once, from its smallest folder). */
export function cycles(g: Map<string, Set<string>>): string[] {
  const out = new Set<string>();
  const walk = (start: string, at: string, trail: string[]): void => {
    for (const next of g.get(at) ?? []) {
      if (next === start) {
        const loop = [...trail, start];
        if (trail.every((x) => x >= start)) out.add(loop.join(' → '));
      } else if (!trail.includes(next)) walk(start, next, [...trail, next]);
    }
  };
  for (const k of g.keys()) walk(k, k, [k]);
  return [...out].sort();
}

/** file → files it imports, for the same check one level down. */
function fileGraph(root: string): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const f of files(root)) {
    const deps = new Set<string>();
    g.set(path.relative(root, f), deps);
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      deps.add(path.relative(root, path.resolve(path.dirname(f), m[1])) + '.ts');
    }
  }
  return g;
}

describe('nodes/lib folders', () => {
  test('no file imports a file that imports it back', () => {
    expect(cycles(fileGraph(lib))).toEqual([]);
  });

  test('no folder imports a folder that imports it back', () => {
    expect(cycles(folderGraph(lib))).toEqual([]);
  });

  test('the check finds a cycle when there is one', () => {
    const g = new Map([
      ['sip', new Set(['media'])],
      ['media', new Set(['core', 'sip'])],
      ['core', new Set<string>()],
    ]);
    expect(cycles(g)).toEqual(['media → sip → media']);
  });
});
