/**
 * A small JSON document that outlives a redeploy and a restart: lockout counters of the
 * SIP digest guard and of PIN checks. Read once, synchronously, when its owner starts;
 * written to a temporary file (mode 0600), fsync'ed and renamed over the old one, so after
 * a crash the file holds the old or the new state, never half. Writes come at most once per
 * `debounceMs` (a flood of failures is one write a second), or at once when urgent (a
 * lockout), and one at a time in order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errorText, IntercomError } from '../core/errors';

export interface StateFileOptions {
  /** coalesce writes for this long (default 1000 ms) */
  debounceMs?: number;
  /** a write failed (disk full, no permission): the state lives on in memory */
  onError?: (err: IntercomError) => void;
}

export class StateFile<T> {
  private pending?: () => T;
  private timer?: ReturnType<typeof setTimeout>;
  private writing: Promise<void> = Promise.resolve();
  private readonly debounceMs: number;

  constructor(readonly file: string, private readonly opts: StateFileOptions = {}) {
    this.debounceMs = opts.debounceMs ?? 1000;
  }

  /** The saved state, or undefined when there is none or it cannot be read (reported). */
  load(): T | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.opts.onError?.(new IntercomError('auth.stateUnreadable', { file: this.file, detail: errorText(err).slice(0, 120) }));
      return undefined;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      this.opts.onError?.(new IntercomError('auth.stateUnreadable', { file: this.file, detail: errorText(err).slice(0, 120) }));
      return undefined;
    }
  }

  /** Save what `state()` gives, soon (or now when `urgent`). */
  save(state: () => T, urgent = false): void {
    this.pending = state;
    if (urgent) {
      this.write();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => this.write(), this.debounceMs);
    this.timer.unref();
  }

  /** Write what is pending and wait for every write (the owner closes). */
  async flush(): Promise<void> {
    if (this.pending) this.write();
    await this.writing;
  }

  private write(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const state = this.pending;
    this.pending = undefined;
    if (!state) return;
    const text = JSON.stringify(state());
    this.writing = this.writing.then(() => this.writeNow(text)).catch((err: unknown) => this.opts.onError?.(new IntercomError('auth.stateUnwritable', { file: this.file, detail: errorText(err).slice(0, 120) })));
  }

  private async writeNow(text: string): Promise<void> {
    const fsp = fs.promises;
    await fsp.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const h = await fsp.open(tmp, 'w', 0o600);
    try {
      await h.writeFile(text, 'utf8');
      await h.sync();
    } finally {
      await h.close();
    }
    await fsp.rename(tmp, this.file);
  }
}
