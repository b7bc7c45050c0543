/**
 * The whitelist's active rule list and its sources, on a real directory: the editor text,
 * a watched rule file (the watcher is a hand-driven one, so no test waits for polling),
 * and a list set by msg that is saved and survives a restart.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_PLAN } from '../../nodes/lib/access/number';
import { ListError } from '../../nodes/lib/access/problems';
import { RuleSource, type FileWatcher, type RuleReport, type RuleSourceOptions } from '../../nodes/lib/access/rule-source';
import { RuleSet } from '../../nodes/lib/access/rules';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rule-source-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A watcher the test fires itself. */
function handWatcher(): FileWatcher & { fire(): void; watching: string[] } {
  const listeners = new Set<() => void>();
  const w = ((file: string, onChange: () => void) => {
    w.watching.push(file);
    listeners.add(onChange);
    return () => {
      listeners.delete(onChange);
      w.watching.splice(w.watching.indexOf(file), 1);
    };
  }) as FileWatcher & { fire(): void; watching: string[] };
  w.watching = [];
  w.fire = () => listeners.forEach((l) => l());
  return w;
}

function source(o: Partial<RuleSourceOptions> = {}) {
  const reports: RuleReport[] = [];
  const watch = handWatcher();
  const s = new RuleSource({
    editorText: '',
    rulesFile: '',
    userDir: dir,
    nodeId: 'w1',
    plan: DEFAULT_PLAN,
    build: (rules) => new RuleSet(rules, DEFAULT_PLAN, 'UTC', []),
    report: (r) => reports.push(r),
    watch,
    now: () => Date.UTC(2026, 0, 2, 3, 4, 5),
    ...o,
  });
  return { s, reports, watch };
}
const allows = (s: RuleSource, caller: string): boolean | undefined => s.rules?.decide({ caller, now: 0 }).allowed;
const next = (reports: RuleReport[], n: number) => new Promise<void>((resolve) => {
  const t = setInterval(() => {
    if (reports.length >= n) {
      clearInterval(t);
      resolve();
    }
  }, 2);
});

describe('rule sources', () => {
  test('the editor text when there is no file', async () => {
    const { s, reports, watch } = source({ editorText: '+74951234567' });
    await s.ready;
    expect(reports).toEqual([{ kind: 'installed', count: 1, origin: { kind: 'editor' } }]);
    expect(allows(s, '84951234567')).toBe(true);
    expect(watch.watching).toEqual([]);
    await s.close();
  });

  test('a bad editor list: refused, no list, every call denied by the node', async () => {
    const { s, reports } = source({ editorText: '+7495\n/(/' });
    await s.ready;
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'refused', what: 'editorRejected', kept: null });
    expect((reports[0] as { error: ListError }).error.problems[0].at).toEqual({ line: 2 });
    expect(s.rules).toBeNull();
  });

  test('a watched file, relative to the user directory: a bad file keeps the old list and names the line', async () => {
    const file = path.join(dir, 'rules.txt');
    writeFileSync(file, '495-XXX-XX-XX\n');
    const { s, reports, watch } = source({ rulesFile: 'rules.txt', editorText: '+70000000000' });
    await s.ready;
    expect(watch.watching).toEqual([file]);
    expect(reports.at(-1)).toEqual({ kind: 'installed', count: 1, origin: { kind: 'file', name: 'rules.txt' } });

    writeFileSync(file, '495-XXX-XX-XX\n# a comment\nnot a number at all\n');
    watch.fire();
    await next(reports, 2);
    expect(reports[1]).toMatchObject({ kind: 'refused', what: 'fileRejected', kept: 1 });
    expect((reports[1] as { error: ListError }).error.problems.map((p) => p.at)).toEqual([{ line: 3 }]);
    expect(allows(s, '84951234567')).toBe(true);

    writeFileSync(file, '495-XXX-XX-XX\n+7812*\n');
    watch.fire();
    await next(reports, 3);
    expect(reports[2]).toEqual({ kind: 'installed', count: 2, origin: { kind: 'file', name: 'rules.txt' } });
    expect(allows(s, '88121234567')).toBe(true);
    await s.close();
    expect(watch.watching).toEqual([]);
  });

  test('a file that cannot be read: refused as unreadable; the editor text is not used instead', async () => {
    const { s, reports } = source({ rulesFile: path.join(dir, 'missing.txt'), editorText: '+74951234567' });
    await s.ready;
    expect(reports).toEqual([expect.objectContaining({ kind: 'refused', what: 'fileUnreadable', kept: null })]);
    expect((reports[0] as { error: NodeJS.ErrnoException }).error.code).toBe('ENOENT');
    await s.close();
  });

  test('a list set by msg is saved, survives a restart, and wins over reload until a reset', async () => {
    const first = source({ editorText: '+74951111111' });
    await first.s.ready;
    expect(await first.s.set([{ match: '+7 812 XXX XX XX' }])).toEqual({ kind: 'installed', count: 1, origin: { kind: 'msg' } });
    const store = path.join(dir, 'intercom-access', 'whitelist-w1.json');
    const saved = JSON.parse(readFileSync(store, 'utf8'));
    expect(saved).toMatchObject({ savedAt: '2026-01-02T03:04:05.000Z', rules: [{ match: '+7 812 XXX XX XX' }] });
    expect(allows(first.s, '88121234567')).toBe(true);
    expect(allows(first.s, '84951111111')).toBe(false);
    // a bad replacement is refused; the msg list stays
    const bad = await first.s.set({ rules: [{ match: '' }] });
    expect(bad).toMatchObject({ kind: 'refused', what: 'msgRejected', kept: 1 });
    expect((bad as { error: ListError }).error.problems).toEqual([expect.objectContaining({ at: { rule: 1 } })]);
    expect(await first.s.reload()).toEqual({ kind: 'msgListActive' });
    await first.s.close();

    const again = source({ editorText: '+74951111111' });
    await again.s.ready;
    expect(again.reports).toEqual([{ kind: 'installed', count: 1, origin: { kind: 'msg' } }]);
    expect(allows(again.s, '88121234567')).toBe(true);
    expect(await again.s.reset()).toEqual({ kind: 'installed', count: 1, origin: { kind: 'editor' } });
    expect(existsSync(store)).toBe(false);
    expect(allows(again.s, '84951111111')).toBe(true);
    await again.s.close();
  });

  test('a file change does not replace a list set by msg', async () => {
    const file = path.join(dir, 'rules.txt');
    writeFileSync(file, '+74951111111\n');
    const { s, reports, watch } = source({ rulesFile: file });
    await s.ready;
    await s.set(['+78121111111'].map((match) => ({ match })));
    writeFileSync(file, '+74952222222\n');
    watch.fire();
    await new Promise((r) => setTimeout(r, 20));
    expect(reports).toHaveLength(1);
    expect(allows(s, '88121111111')).toBe(true);
    await s.close();
  });

  test('edited deployed rules make a saved msg list stale: it is dropped', async () => {
    const a = source({ editorText: '+74951111111' });
    await a.s.ready;
    await a.s.set([{ match: '+78121111111' }]);
    await a.s.close();
    const b = source({ editorText: '+74952222222' });
    await b.s.ready;
    expect(b.reports).toEqual([{ kind: 'savedStale' }, { kind: 'installed', count: 1, origin: { kind: 'editor' } }]);
    expect(existsSync(path.join(dir, 'intercom-access', 'whitelist-w1.json'))).toBe(false);
    await b.s.close();
  });

  test('a damaged saved list is reported and the deployed rules are used', async () => {
    const store = path.join(dir, 'intercom-access', 'whitelist-w1.json');
    const a = source({ editorText: '+74951111111' });
    await a.s.ready;
    await a.s.set([{ match: '+78121111111' }]);
    await a.s.close();
    writeFileSync(store, '{"baseHash": ');
    const b = source({ editorText: '+74951111111' });
    await b.s.ready;
    expect(b.reports[0]).toMatchObject({ kind: 'savedUnreadable' });
    expect(b.reports[1]).toEqual({ kind: 'installed', count: 1, origin: { kind: 'editor' } });
    await b.s.close();
  });

  test('a list that cannot be saved is not installed', async () => {
    writeFileSync(path.join(dir, 'intercom-access'), 'a file where the directory should be');
    const { s } = source({ editorText: '+74951111111' });
    await s.ready;
    expect(await s.set([{ match: '+78121111111' }])).toMatchObject({ kind: 'refused', what: 'msgNotSaved', kept: 1 });
    expect(allows(s, '88121111111')).toBe(false);
    await s.close();
  });

  test('node ids with odd characters still name one file in the store directory', async () => {
    const { s } = source({ nodeId: '../x/y' });
    await s.ready;
    await s.set([{ match: '+78121111111' }]);
    expect(existsSync(path.join(dir, 'intercom-access', 'whitelist-.._x_y.json'))).toBe(true);
    await s.close();
  });
});
