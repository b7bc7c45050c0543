/**
 * Append-only event journal in JSON Lines. Each append is written and fsync'ed before
 * its promise resolves, so an event the caller saw acknowledged survives a crash.
 * Appends are serialized through one queue: lines never interleave.
 */
import { promises as fsp } from 'node:fs';
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

export class Journal {
  private handle: fsp.FileHandle | null = null;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  readonly file: string;
  private readonly fsync: boolean;
  private readonly now: () => Date;

  constructor(opts: JournalOptions) {
    this.file = opts.file;
    this.fsync = opts.fsync !== false;
    this.now = opts.now ?? (() => new Date());
  }

  private async open(): Promise<fsp.FileHandle> {
    if (!this.handle) {
      await fsp.mkdir(path.dirname(this.file), { recursive: true });
      this.handle = await fsp.open(this.file, 'a', 0o600);
    }
    return this.handle;
  }

  /** Append one event; resolves once it is on disk. */
  append(event: Omit<JournalEvent, 'time'> & { time?: string }): Promise<JournalEvent> {
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    const entry = redact({ time: event.time ?? this.now().toISOString(), ...event }) as JournalEvent;
    const line = JSON.stringify(entry) + '\n';
    const job = this.queue.then(async () => {
      const h = await this.open();
      await h.appendFile(line, 'utf8');
      if (this.fsync) await h.sync();
    });
    this.queue = job.catch(() => undefined);
    return job.then(() => entry);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    if (this.handle) {
      const h = this.handle;
      this.handle = null;
      await h.close();
    }
  }
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
