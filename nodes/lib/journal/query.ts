/**
 * Reading a journal back: every event, or those matching a query (time range, door,
 * caller in any spelling, result, event) across the rotated files too, oldest first. A
 * torn last line (a crash mid-write) is skipped, not fatal.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import { IntercomError } from '../core/errors';
import type { JournalEvent } from './event';
import { rotatedFiles } from './rotation';

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
  if (!Number.isFinite(t)) throw new IntercomError('journal.notATime', { what });
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

/**
 * A query as a flow asks it: the filters in msg.payload (an object), and the answer's
 * format in msg.format or payload.format ("json", the default, or "csv").
 */
export function queryRequest(payload: unknown, format: unknown): { query: JournalQuery; csv: boolean } {
  const p = payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
  const pick = (k: string): string | undefined => (typeof p[k] === 'string' || typeof p[k] === 'number' ? String(p[k]) : undefined);
  const num = (k: string): number | undefined => (typeof p[k] === 'number' ? (p[k] as number) : undefined);
  const f = String(format ?? p.format ?? 'json').toLowerCase();
  if (f !== 'json' && f !== 'csv') throw new IntercomError('journal.format', { format: f.slice(0, 20) });
  return {
    query: {
      from: num('from') ?? pick('from'),
      to: num('to') ?? pick('to'),
      door: pick('door'),
      caller: pick('caller'),
      result: pick('result'),
      event: pick('event'),
      limit: num('limit'),
    },
    csv: f === 'csv',
  };
}
