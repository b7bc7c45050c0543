/**
 * Append-only event journal in JSON Lines. Each append is written and fsync'ed before
 * its promise resolves, so an event the caller saw acknowledged survives a crash.
 * Appends are serialized through one writer: lines never interleave.
 *
 * Crash safety, step by step: a new file's directory entry is fsync'ed too (a file whose
 * name was never made durable can vanish with its fsync'ed data); on open, a torn tail
 * left by a crash mid-write (never acknowledged, since the ack follows the fsync) is cut
 * off so the next line does not glue onto it; rotation renames the full file aside and
 * fsyncs the directory before the first line of the new file is acknowledged.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import * as path from 'node:path';

export interface JournalEvent {
  time: string;
  event: string;
  door?: string;
  caller?: string;
  source?: string;
  result?: string;
  note?: string;
  [key: string]: unknown;
}

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

/** Keys whose values are never written, whatever the flow puts in them. */
const SECRET_KEY = /pass(word)?|pin|secret|token|auth|credential/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let h: fsp.FileHandle | null = null;
  try {
    h = await fsp.open(dir, 'r');
    await h.sync();
  } catch {
    /* some file systems refuse to fsync a directory; nothing more we can do there */
  } finally {
    await h?.close().catch(() => undefined);
  }
}

/** "events.jsonl" → "events.2026-11-30T23-10-00-000Z.jsonl": sorts by time, keeps the extension. */
function rotatedName(file: string, at: Date): string {
  const ext = path.extname(file);
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  return path.join(path.dirname(file), `${path.basename(file, ext)}.${stamp}${ext}`);
}

/** Most events written under one fsync; bounds the latency of the first in a burst. */
const MAX_BATCH = 512;

export class Journal {
  private handle: fsp.FileHandle | null = null;
  private pending: Array<{ line: string; bytes: number; at: number; done: (err?: Error) => void }> = [];
  private draining: Promise<void> | null = null;
  private closed = false;
  private size = 0;
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
    // Never rename over an older rotated file (two rotations within one millisecond).
    const at = this.now().getTime();
    let target = rotatedName(this.file, new Date(at));
    for (let k = 1; await exists(target); k++) target = rotatedName(this.file, new Date(at + k));
    await fsp.rename(this.file, target);
    await fsyncDir(path.dirname(this.file));
    if (this.keep > 0) {
      const old = await rotatedFiles(this.file);
      for (const f of old.slice(0, Math.max(0, old.length - this.keep))) await fsp.unlink(f).catch(() => undefined);
    }
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
    if (this.closed) return Promise.reject(new Error('journal is closed'));
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
          await h.appendFile(batch.slice(from, to).map((p) => p.line).join(''), 'utf8');
          if (this.fsync) await h.sync();
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
        for (const p of batch.slice(acked)) p.done(err as Error);
        // After a failed write the handle may sit behind a partial line: reopen (and repair) next time.
        const h = this.handle;
        this.handle = null;
        await h?.close().catch(() => undefined);
      }
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

/** Cuts a torn last line (no trailing newline) left by a crash mid-write. */
export async function repairTail(file: string): Promise<number> {
  const h = await fsp.open(file, 'r+');
  try {
    const { size } = await h.stat();
    if (size === 0) return 0;
    const chunk = 64 * 1024;
    let end = size;
    const last = Buffer.alloc(1);
    await h.read(last, 0, 1, size - 1);
    if (last[0] === 0x0a) return 0;
    // Walk back to the last newline; everything after it was never acknowledged.
    while (end > 0) {
      const start = Math.max(0, end - chunk);
      const buf = Buffer.alloc(end - start);
      await h.read(buf, 0, buf.length, start);
      const nl = buf.lastIndexOf(0x0a);
      if (nl >= 0) {
        end = start + nl + 1;
        break;
      }
      end = start;
    }
    await h.truncate(end);
    await h.sync();
    return size - end;
  } finally {
    await h.close();
  }
}

async function firstEventTime(file: string): Promise<number | null> {
  const h = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await h.read(buf, 0, buf.length, 0);
    const line = buf.subarray(0, bytesRead).toString('utf8').split('\n')[0];
    const t = Date.parse((JSON.parse(line) as JournalEvent).time);
    return Number.isFinite(t) ? t : null;
  } catch {
    return null;
  } finally {
    await h.close();
  }
}

/** Rotated siblings of a journal file, oldest first (the timestamp sorts). */
export async function rotatedFiles(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const ext = path.extname(file);
  const base = path.basename(file, ext);
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.\\d{4}-\\d{2}-\\d{2}T[\\d-]+Z${ext.replace('.', '\\.')}$`);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Read a journal back; a torn last line (crash mid-write) is skipped, not fatal. */
export async function readJournal(file: string): Promise<JournalEvent[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: JournalEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalEvent);
    } catch {
      /* torn line */
    }
  }
  return out;
}

export interface JournalQuery {
  /** ISO time or epoch ms, inclusive */
  from?: string | number;
  /** ISO time or epoch ms, exclusive */
  to?: string | number;
  door?: string;
  caller?: string;
  result?: string;
  event?: string;
  /** most recent N matches (default 1000, at most 100,000) */
  limit?: number;
}

function instant(v: string | number | undefined, what: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const t = typeof v === 'number' ? v : Date.parse(v);
  if (!Number.isFinite(t)) throw new Error(`query: "${what}" is not a time`);
  return t;
}

/**
 * Digits of a number, last ten: "+7 495 123-45-67" and "84951234567" find each other
 * whatever prefix the caller used (a national number is at most ten digits in most plans).
 */
const digitsOf = (s: string): string => s.replace(/\D/g, '');
const tail = (s: string): string => digitsOf(s).slice(-10);

export async function queryJournal(file: string, q: JournalQuery): Promise<JournalEvent[]> {
  const from = instant(q.from, 'from');
  const to = instant(q.to, 'to');
  const limit = Math.min(Math.max(1, Math.floor(Number(q.limit) || 1000)), 100_000);
  const caller = q.caller !== undefined ? String(q.caller) : undefined;
  const callerDigits = caller ? digitsOf(caller) : '';
  const matches = (e: JournalEvent): boolean => {
    const t = Date.parse(e.time);
    if (from !== undefined && !(t >= from)) return false;
    if (to !== undefined && !(t < to)) return false;
    if (q.door !== undefined && e.door !== q.door) return false;
    if (q.result !== undefined && e.result !== q.result) return false;
    if (q.event !== undefined && e.event !== q.event) return false;
    if (caller !== undefined) {
      if (typeof e.caller !== 'string') return false;
      const long = callerDigits.length >= 7 && digitsOf(e.caller).length >= 7;
      if (e.caller !== caller && !(long && tail(e.caller) === tail(caller))) return false;
    }
    return true;
  };
  const out: JournalEvent[] = [];
  for (const f of [...(await rotatedFiles(file)), file]) {
    // Line by line: memory stays bounded by the limit, not by the size of the journal.
    let input: ReturnType<typeof createReadStream>;
    try {
      input = createReadStream(f, { encoding: 'utf8' });
      await new Promise<void>((resolve, reject) => input.once('open', () => resolve()).once('error', reject));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // rotated away meanwhile
      throw err;
    }
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      let e: JournalEvent;
      try {
        e = JSON.parse(line) as JournalEvent;
      } catch {
        continue; // torn line
      }
      if (!e || typeof e !== 'object' || !matches(e)) continue;
      out.push(e);
      if (out.length >= 2 * limit) out.splice(0, out.length - limit); // amortized: keep the newest
    }
  }
  return out.length > limit ? out.slice(-limit) : out;
}

const CSV_COLUMNS = ['time', 'event', 'door', 'caller', 'source', 'result', 'reason', 'user', 'callId', 'note'];

/**
 * RFC 4180 CSV. A cell a spreadsheet would run as a formula (=, @, or +/- followed by
 * something that is not a number) gets a leading apostrophe (OWASP "CSV injection");
 * "+74951234567" stays as it is.
 */
export function toCsv(events: JournalEvent[], columns: string[] = CSV_COLUMNS): string {
  const cell = (v: unknown): string => {
    let s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (/^[=@\t\r]/.test(s) || /^[+-](?![\d\s().-]*$)/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [columns.join(',')];
  for (const e of events) lines.push(columns.map((c) => cell(e[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}
