/**
 * A crash mid-write leaves a torn last line (no trailing newline). It was never
 * acknowledged, since the ack follows the fsync, so it is cut off before the next append:
 * otherwise the next line would glue onto it.
 */
import { promises as fsp } from 'node:fs';

/** Cuts a torn last line; returns how many bytes went. */
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
