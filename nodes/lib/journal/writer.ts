/**
 * The journal's writer: append-only JSON Lines where each append is written and fsync'ed
 * before its promise resolves, so an event the caller saw acknowledged survives a crash.
 * Appends are serialized through one writer, so lines never interleave, and events that
 * arrive while a write is in flight share the next fsync (group commit).
 *
 * Crash safety, step by step: a new file's directory entry is fsync'ed too (durable.ts); on
 * open, a torn tail left by a crash mid-write is cut off (repair.ts); rotation renames the
 * full file aside and fsyncs the directory before the first line of the new file is
 * acknowledged (rotation.ts).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { IntercomError } from '../core/errors';
import { exists, fsyncDir } from './durable';
import { redact, type JournalEvent } from './event';
import { queryJournal, type JournalQuery } from './query';
import { repairTail } from './repair';
import { firstEventTime, rotate as rotateFile } from './rotation';

export type { JournalEvent } from './event';
export type { JournalQuery } from './query';

export interface JournalOptions {
  file: string;
  /** fsync after every append (default true). */
  fsync?: boolean;
  now?: () => Date;
  /** rotate when the file would grow past this many bytes (0 = never) */
  maxBytes?: number;
  /** rotate when the file's first event is older than this (0 = never) */
  maxAgeMs?: number;
  /** rotated files to keep (oldest deleted first; 0 = keep all) */
  keep?: number;
}

/** Most events written under one fsync; bounds the latency of the first in a burst. */
const MAX_BATCH = 512;

/**
 * Why a write failed, as a code the node words: a full disk, a read-only or forbidden
 * place, or anything else with the system's own words. The original error is the cause.
 */
export function writeError(err: unknown, file: string): IntercomError {
  if (err instanceof IntercomError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const name = path.basename(file);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new IntercomError('journal.diskFull', { file: name }, { cause: err });
  if (code === 'EROFS') return new IntercomError('journal.readOnly', { file: name }, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') return new IntercomError('journal.notWritable', { file: name }, { cause: err });
  return new IntercomError('journal.writeError', { file: name, detail: String((err as Error | undefined)?.message ?? err).slice(0, 160) }, { cause: err });
}

export class Journal {
  private handle: fsp.FileHandle | null = null;
  private pending: Array<{ line: string; bytes: number; at: number; done: (err?: Error) => void }> = [];
  private draining: Promise<void> | null = null;
  private closed = false;
  private size = 0;
  /** bytes of the current file that are written (and fsync'ed) and acknowledged */
  private synced = 0;
  private firstEventAt: number | null = null;
  readonly file: string;
  private readonly fsync: boolean;
  private readonly now: () => Date;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly keep: number;

  constructor(opts: JournalOptions) {
    this.file = opts.file;
    this.fsync = opts.fsync !== false;
    this.now = opts.now ?? (() => new Date());
    this.maxBytes = opts.maxBytes ?? 0;
    this.maxAgeMs = opts.maxAgeMs ?? 0;
    this.keep = opts.keep ?? 0;
  }

  private async open(): Promise<fsp.FileHandle> {
    if (this.handle) return this.handle;
    const dir = path.dirname(this.file);
    await fsp.mkdir(dir, { recursive: true });
    const existed = await exists(this.file);
    // 'r+' would fail on a missing file; 'a' cannot truncate. Open 'a', repair by path.
    if (existed) await repairTail(this.file);
    const h = await fsp.open(this.file, 'a', 0o600);
    if (!existed) await fsyncDir(dir);
    const st = await h.stat();
    this.size = st.size;
    this.synced = st.size;
    this.firstEventAt = st.size > 0 ? await firstEventTime(this.file) : null;
    this.handle = h;
    return h;
  }

  private async rotate(): Promise<void> {
    if (this.handle) {
      const h = this.handle;
      this.handle = null;
      await h.close();
    }
    await rotateFile(this.file, this.now(), this.keep);
  }

  private needsRotation(bytes: number, t: number): boolean {
    if (this.size === 0) return false;
    if (this.maxBytes > 0 && this.size + bytes > this.maxBytes) return true;
    return this.maxAgeMs > 0 && this.firstEventAt !== null && t - this.firstEventAt >= this.maxAgeMs;
  }

  /**
   * Append one event; resolves once it is on disk. Events that arrive while a write is in
   * flight are written together with one fsync after it (group commit): each is still
   * acknowledged only after the fsync that covers it, so the crash guarantee is unchanged,
   * and a burst costs one fsync instead of one per event.
   */
  append(event: Omit<JournalEvent, 'time'> & { time?: string }): Promise<JournalEvent> {
    if (this.closed) return Promise.reject(new IntercomError('journal.closed'));
    const now = this.now();
    const entry = redact({ time: event.time ?? now.toISOString(), ...event }) as JournalEvent;
    const line = JSON.stringify(entry) + '\n';
    return new Promise<JournalEvent>((resolve, reject) => {
      this.pending.push({ line, bytes: Buffer.byteLength(line), at: now.getTime(), done: (err) => (err ? reject(err) : resolve(entry)) });
      this.kick();
    });
  }

  /** Start the writer unless it runs; when it stops, events that came in at the end restart it. */
  private kick(): void {
    if (this.draining || !this.pending.length) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, MAX_BATCH);
      let acked = 0;
      try {
        let from = 0;
        // Write batch[from..to) with one fsync, then acknowledge exactly those events.
        const flush = async (to: number): Promise<void> => {
          if (to <= from) return;
          const h = await this.open();
          const text = batch.slice(from, to).map((p) => p.line).join('');
          await h.appendFile(text, 'utf8');
          if (this.fsync) await h.sync();
          this.synced += Buffer.byteLength(text);
          for (let k = from; k < to; k++) batch[k].done();
          acked = to;
          from = to;
        };
        await this.open();
        for (let i = 0; i < batch.length; i++) {
          const p = batch[i];
          if (this.needsRotation(p.bytes, p.at)) {
            await flush(i);
            await this.rotate();
            await this.open();
          }
          this.size += p.bytes;
          this.firstEventAt ??= p.at;
        }
        await flush(batch.length);
      } catch (err) {
        // Events already fsync'ed stay acknowledged; the rest fail (the caller may retry).
        const failure = writeError(err, this.file);
        for (const p of batch.slice(acked)) p.done(failure);
        // A full disk may have taken part of the batch, even whole lines of it: cut the file
        // back to what was acknowledged, so an event reported failed is not in it either (a
        // retry would add it twice). Reopen next time; should the cut fail, the torn-tail
        // repair on open still removes a partial line.
        const h = this.handle;
        this.handle = null;
        if (h) {
          await h.truncate(this.synced).then(() => h.sync()).catch(() => undefined);
          await h.close().catch(() => undefined);
        }
        this.size = this.synced;
      }
    }
  }

  /**
   * Whether the journal's directory has room for more events now (free space beyond a small
   * margin), for a node that reported a full disk to see it clear without waiting for an event.
   */
  async hasRoom(minBytes = 64 * 1024): Promise<boolean> {
    try {
      const st = await fsp.statfs(path.dirname(this.file));
      return st.bavail * st.bsize >= minBytes;
    } catch {
      return false;
    }
  }

  /** Events matching the query, oldest first, across the rotated files too. */
  query(q: JournalQuery = {}): Promise<JournalEvent[]> {
    return queryJournal(this.file, q);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.draining) await this.draining;
    if (this.handle) {
      const h = this.handle;
      this.handle = null;
      await h.close();
    }
  }
}
