import { ffmpegArgs, findOnPath, redactStreamUrl } from '../../nodes/lib/camera/ffmpeg';
import { isJpeg, jpegInfo } from '../../nodes/lib/camera/jpeg';
import { withCredentials } from '../../nodes/lib/camera/snapshotter';

// 16x8 JPEG made by ffmpeg (lavfi color source)
const JPEG = Buffer.from('/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgUFBcUFxsbGxsbGyAeICEhISAgICAhISEkJCQqKiokJCQhISQkKCgqKi4vLisrKisvLzIyMjw8OTlGRkhWVmf/xABMAAEBAAAAAAAAAAAAAAAAAAAABwEBAQAAAAAAAAAAAAAAAAAABQcQAQAAAAAAAAAAAAAAAAAAAAARAQAAAAAAAAAAAAAAAAAAAAD/wAARCAAIABADASIAAhEAAxEA/9oADAMBAAIRAxEAPwCOAL+Lf//Z', 'base64');

describe('JPEG checks', () => {
  test('a whole JPEG passes and tells its size', () => {
    expect(isJpeg(JPEG)).toBe(true);
    expect(jpegInfo(JPEG)).toEqual({ width: 16, height: 8 });
  });
  test('truncated, HTML, empty and random bytes are refused without throwing', () => {
    expect(isJpeg(JPEG.subarray(0, JPEG.length - 10))).toBe(false);
    expect(isJpeg(Buffer.from('<html>401</html>'))).toBe(false);
    expect(isJpeg(Buffer.alloc(0))).toBe(false);
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(Array.from({ length: 64 }, (_, j) => (j < 2 ? [0xff, 0xd8][j] : (i * 31 + j * 7) & 0xff)));
      expect(() => jpegInfo(junk)).not.toThrow();
    }
  });
});

describe('ffmpeg invocation', () => {
  test('RTSP uses the fast flags: TCP, no probing, one frame (PEERS.md)', () => {
    const a = ffmpegArgs('rtsp://127.0.0.1:8554/door').join(' ');
    expect(a).toContain('-rtsp_transport tcp');
    expect(a).toContain('-analyzeduration 0 -probesize 32');
    expect(a).toContain('-frames:v 1');
    expect(a).toMatch(/pipe:1$/);
    expect(ffmpegArgs('http://x/y.mjpg').join(' ')).not.toContain('rtsp_transport');
  });
  test('credentials go into the URL for ffmpeg and never into messages', () => {
    expect(withCredentials('rtsp://10.0.0.5/ch1', { user: 'ad min', password: 'p@ss' })).toBe('rtsp://ad%20min:p%40ss@10.0.0.5/ch1');
    expect(withCredentials('rtsp://u:p@10.0.0.5/ch1', { user: 'x', password: 'y' })).toBe('rtsp://u:p@10.0.0.5/ch1');
    expect(redactStreamUrl('rtsp://ad%20min:p%40ss@10.0.0.5/ch1')).toBe('rtsp://10.0.0.5/ch1');
  });
  test('a program is found on PATH only when executable', () => {
    expect(findOnPath('sh')).toMatch(/\/sh$/);
    expect(findOnPath('no-such-program-xyz')).toBeUndefined();
    expect(findOnPath('/nonexistent/ffmpeg')).toBeUndefined();
  });
});
