/**
 * Rotation by size or age: the full file is renamed aside with its time in the name
 * ("events.jsonl" → "events.2026-11-30T23-10-00-000Z.jsonl", which sorts by time and keeps
 * the extension), its directory fsync'ed before the first line of the new file is
 * acknowledged, and the oldest rotated files beyond `keep` deleted.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { exists, fsyncDir } from './durable';
import type { JournalEvent } from './event';

function rotatedName(file: string, at: Date): string {
  const ext = path.extname(file);
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  return path.join(path.dirname(file), `${path.basename(file, ext)}.${stamp}${ext}`);
}

/** Renames `file` aside (its handle already closed) and keeps the newest `keep` (0 = all). */
export async function rotate(file: string, at: Date, keep: number): Promise<void> {
  // Never rename over an older rotated file (two rotations within one millisecond).
  let target = rotatedName(file, at);
  for (let k = 1; await exists(target); k++) target = rotatedName(file, new Date(at.getTime() + k));
  await fsp.rename(file, target);
  await fsyncDir(path.dirname(file));
  if (keep > 0) {
    const old = await rotatedFiles(file);
    for (const f of old.slice(0, Math.max(0, old.length - keep))) await fsp.unlink(f).catch(() => undefined);
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

/** When the file's first event happened (its age decides rotation), or null. */
export async function firstEventTime(file: string): Promise<number | null> {
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
