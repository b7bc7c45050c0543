/**
 * The file system steps that make a journal line durable beyond its own fsync: a file whose
 * name was never made durable can vanish with its fsync'ed data, so a new or renamed file's
 * directory is fsync'ed too.
 */
import { promises as fsp } from 'node:fs';

export async function exists(file: string): Promise<boolean> {
  try {
    await fsp.access(file);
    return true;
  } catch {
    return false;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
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
