/**
 * A small JSON document kept across restarts (the rule list a msg installed at run time).
 * Written to a temporary file, fsync'ed, renamed over the old one and the directory
 * fsync'ed: after a crash the file holds either the old or the new list, never half.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const h = await fsp.open(tmp, 'w', 0o600);
  try {
    await h.writeFile(JSON.stringify(value, null, 1), 'utf8');
    await h.sync();
  } finally {
    await h.close();
  }
  await fsp.rename(tmp, file);
  try {
    const d = await fsp.open(dir, 'r');
    await d.sync().finally(() => d.close());
  } catch {
    /* directory fsync is not supported everywhere */
  }
}

/** The parsed document, or undefined when there is none; a damaged file is an error. */
export async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text);
}

export async function removeFile(file: string): Promise<void> {
  await fsp.unlink(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
