/**
 * The active rule list of one whitelist and where it came from. Three sources, in order of
 * precedence: a list set by msg (kept on disk so a restart does not forget it, until the
 * deployed rules change or a reset), the rule file (watched: a changed file is read again
 * without a redeploy), the editor's text. A list that does not parse never replaces the
 * active one: the node keeps deciding with the last good list, or denies every call when
 * there never was one. What happens is reported as codes; the node words it.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, unwatchFile, watchFile, type Stats } from 'node:fs';
import * as path from 'node:path';
import type { NumberPlan } from './number';
import { parseRuleSource, RuleSet, type Rule } from './rules';
import { readJson, removeFile, writeJsonAtomic } from './store';

export type RuleOrigin = { kind: 'editor' } | { kind: 'file'; name: string } | { kind: 'msg' };

/** Which list was refused: the one thing the node's message changes with. */
export type Refusal = 'fileUnreadable' | 'fileRejected' | 'editorRejected' | 'msgRejected' | 'msgNotSaved';

export type RuleReport =
  | { kind: 'installed'; count: number; origin: RuleOrigin }
  /** `kept`: the size of the list that stays active, null when there is none (every call denied) */
  | { kind: 'refused'; what: Refusal; error: unknown; kept: number | null }
  /** the saved msg list could not be read; the deployed rules are used */
  | { kind: 'savedUnreadable'; error: unknown }
  /** the saved msg list was made for other deployed rules; they win */
  | { kind: 'savedStale' }
  /** reload asked while a msg list is active: nothing changes until a reset */
  | { kind: 'msgListActive' };

/** Calls onChange when the file changes; returns the function that stops watching. */
export type FileWatcher = (file: string, onChange: () => void) => () => void;

/**
 * Polls mtime and size every second: editors often replace a file (write a new one and
 * rename it over), which a plain fs.watch loses track of.
 */
export const pollingWatcher: FileWatcher = (file, onChange) => {
  const listener = (cur: Stats, prev: Stats): void => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) onChange();
  };
  watchFile(file, { interval: 1000, persistent: false }, listener);
  return () => unwatchFile(file, listener);
};

export interface RuleSourceOptions {
  /** the editor's rule text */
  editorText: string;
  /** the rule file as configured: absolute, or relative to userDir; empty for none */
  rulesFile: string;
  /** Node-RED's user directory: relative rule files and the saved msg list live there */
  userDir: string;
  /** the node's id, which names the saved msg list */
  nodeId: string;
  plan: NumberPlan;
  /** makes the decision structure of a parsed list (with the node's zone and trusted PBX) */
  build(rules: Rule[]): RuleSet;
  /** what happened without anyone asking: the start, a changed file */
  report(r: RuleReport): void;
  watch?: FileWatcher;
  now?: () => number;
}

export class RuleSource {
  private current: RuleSet | null = null;
  private from: RuleOrigin | null = null;
  private saving: Promise<void> = Promise.resolve();
  private readonly file: string | null;
  private readonly storeFile: string;
  private readonly baseHash: string;
  private readonly unwatch: (() => void) | null;
  /** settles once the first list is in place (or refused) */
  readonly ready: Promise<void>;

  constructor(private readonly o: RuleSourceOptions) {
    const f = o.rulesFile.trim();
    this.file = f ? (path.isAbsolute(f) ? f : path.join(o.userDir, f)) : null;
    this.storeFile = path.join(o.userDir, 'intercom-access', `whitelist-${o.nodeId.replace(/[^\w.-]/g, '_')}.json`);
    // What the deployed configuration says; a list set by msg for another one is stale.
    this.baseHash = createHash('sha256')
      .update(JSON.stringify([o.editorText, this.file ?? '', o.plan]))
      .digest('hex');
    this.ready = this.start();
    this.unwatch = this.file ? (o.watch ?? pollingWatcher)(this.file, () => this.fileChanged()) : null;
  }

  /** The list decisions use now; null when none ever parsed. */
  get rules(): RuleSet | null {
    return this.current;
  }

  get origin(): RuleOrigin | null {
    return this.from;
  }

  private install(rules: Rule[], origin: RuleOrigin): RuleReport {
    this.current = this.o.build(rules);
    this.from = origin;
    return { kind: 'installed', count: rules.length, origin };
  }

  private refuse(what: Refusal, error: unknown): RuleReport {
    return { kind: 'refused', what, error, kept: this.current ? this.current.size : null };
  }

  /** The deployed rules: the file when there is one, else the editor's text. */
  private async loadBase(): Promise<RuleReport> {
    if (!this.file) {
      try {
        return this.install(parseRuleSource(this.o.editorText, this.o.plan), { kind: 'editor' });
      } catch (err) {
        return this.refuse('editorRejected', err);
      }
    }
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      return this.refuse('fileUnreadable', err);
    }
    try {
      return this.install(parseRuleSource(text, this.o.plan), { kind: 'file', name: path.basename(this.file) });
    } catch (err) {
      return this.refuse('fileRejected', err);
    }
  }

  private async start(): Promise<void> {
    try {
      const saved = (await readJson(this.storeFile)) as { baseHash?: string; rules?: unknown } | undefined;
      if (saved && saved.baseHash === this.baseHash) {
        this.o.report(this.install(parseRuleSource(saved.rules, this.o.plan), { kind: 'msg' }));
        return;
      }
      if (saved) {
        this.o.report({ kind: 'savedStale' });
        await removeFile(this.storeFile);
      }
    } catch (err) {
      this.o.report({ kind: 'savedUnreadable', error: err });
    }
    this.o.report(await this.loadBase());
  }

  private fileChanged(): void {
    // A list set by msg stays until a reset, whatever the file does.
    if (this.from?.kind === 'msg') return;
    this.ready
      .then(() => this.loadBase())
      .then(
        (r) => this.o.report(r),
        (err: unknown) => this.o.report(this.refuse('fileRejected', err)),
      );
  }

  /** A list from a msg (topic "rules"): saved first, since an acknowledged list must survive a restart. */
  async set(payload: unknown): Promise<RuleReport> {
    await this.ready;
    let rules: Rule[];
    try {
      rules = parseRuleSource(payload, this.o.plan);
    } catch (err) {
      return this.refuse('msgRejected', err);
    }
    const savedAt = new Date((this.o.now ?? Date.now)()).toISOString();
    const write = this.saving.then(() => writeJsonAtomic(this.storeFile, { baseHash: this.baseHash, savedAt, rules: payload }));
    this.saving = write.catch(() => undefined);
    try {
      await write;
    } catch (err) {
      return this.refuse('msgNotSaved', err);
    }
    return this.install(rules, { kind: 'msg' });
  }

  /** Reads the deployed rules again (topic "reload"); a list set by msg stays. */
  async reload(): Promise<RuleReport> {
    await this.ready;
    if (this.from?.kind === 'msg') return { kind: 'msgListActive' };
    return this.loadBase();
  }

  /** Forgets the list set by msg and goes back to the deployed rules (topic "reset"). */
  async reset(): Promise<RuleReport> {
    await this.ready;
    await removeFile(this.storeFile);
    return this.loadBase();
  }

  async close(): Promise<void> {
    this.unwatch?.();
    await this.ready;
    await this.saving;
  }
}
