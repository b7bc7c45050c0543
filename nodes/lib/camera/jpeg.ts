/**
 * Minimal JPEG checks (ITU-T T.81 Annex B): an image starts with SOI (FFD8), ends with
 * EOI (FFD9), and a SOFn segment carries its size. Enough to refuse an HTML error page or a
 * truncated grab before it reaches a phone notification.
 */
export interface JpegInfo {
  width: number;
  height: number;
}

export function isJpeg(buf: Buffer): boolean {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return false;
  // Some encoders pad after EOI; look at the last few bytes.
  const tail = buf.subarray(Math.max(2, buf.length - 32));
  for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return true;
  return false;
}

/** Width and height from the first SOFn marker, or undefined when there is none. */
export function jpegInfo(buf: Buffer): JpegInfo | undefined {
  if (!isJpeg(buf)) return undefined;
  let i = 2;
  while (i + 4 <= buf.length) {
    if (buf[i] !== 0xff) return undefined;
    const marker = buf[i + 1];
    if (marker === 0xff) {
      i++; // fill byte (B.1.1.2)
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const len = buf.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > buf.length) return undefined;
      return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    }
    if (marker === 0xda) return undefined; // scan data before any SOF
    i += 2 + len;
  }
  return undefined;
}
