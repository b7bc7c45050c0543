/**
 * The camera live for whoever watches: JPEG frames cut from ffmpeg's byte stream, one
 * source shared by every watcher and stopped after the last one leaves, a camera that
 * fails told to the watchers (and tried again), nothing left running after close.
 */
import { JpegSplitter, LiveView, liveFfmpegArgs } from '../../nodes/lib/camera/live';
import { delay, waitFor } from '../helpers/wait';

const jpeg = (n: number, size = 20): Buffer => Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(size, n), Buffer.from([0xff, 0x00, 0xff, 0xd0]), Buffer.from([0xff, 0xd9])]);

describe('JPEG frames from a byte stream', () => {
  test('frames split across chunks and glued together come out whole, in order', () => {
    const s = new JpegSplitter(1000);
    const stream = Buffer.concat([jpeg(1), jpeg(2), jpeg(3)]);
    const out = [...s.push(stream.subarray(0, 7)), ...s.push(stream.subarray(7, 30)), ...s.push(stream.subarray(30))];
    expect(out).toEqual([jpeg(1), jpeg(2), jpeg(3)]);
  });

  test('stuffed FF 00 and restart markers inside a frame do not end it', () => {
    expect(new JpegSplitter(1000).push(jpeg(7))).toEqual([jpeg(7)]);
  });

  test('bytes before a start of image are dropped; a frame past the limit is an error', () => {
    expect(new JpegSplitter(1000).push(Buffer.concat([Buffer.from('junk'), jpeg(4)]))).toEqual([jpeg(4)]);
    const s = new JpegSplitter(50);
    expect(() => s.push(Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(80, 1)]))).toThrow(/camera\.frameTooLarge/);
  });

  test('ffmpeg reads RTSP over TCP, without long probing, and writes JPEGs at the rate asked', () => {
    const a = liveFfmpegArgs('rtsp://u:p@cam/1', 5, 640);
    expect(a.join(' ')).toContain('-rtsp_transport tcp');
    expect(a.join(' ')).toContain('-vf fps=5,scale=640:-2');
    expect(a.slice(-7)).toEqual(['-c:v', 'mjpeg', '-q:v', '6', '-f', 'image2pipe', 'pipe:1']);
    expect(a).toContain('-an');
  });
});

describe('a polled camera (HTTP JPEG) watched live', () => {
  test('one poll loop for every watcher; it stops after the last leaves', async () => {
    let grabs = 0;
    const view = new LiveView({ source: { kind: 'poll', grab: async () => ({ jpeg: jpeg(++grabs % 250) }) }, fps: 20, lingerMs: 50 });
    const a: Buffer[] = [];
    const b: Buffer[] = [];
    const stopA = view.watch((f) => a.push(f));
    const stopB = view.watch((f) => b.push(f));
    await waitFor(() => a.length >= 3 && b.length >= 3, 'frames for both', 3000);
    expect(view.stats.starts).toBe(1);
    stopA();
    expect(view.running).toBe(true);
    stopB();
    await delay(200);
    expect(view.running).toBe(false);
    const n = grabs;
    await delay(200);
    expect(grabs).toBe(n);
    await view.close();
  });

  test('a camera that fails is told to the watchers and asked again', async () => {
    let fail = true;
    const view = new LiveView({ source: { kind: 'poll', grab: async () => (fail ? Promise.reject(new Error('boom')) : { jpeg: jpeg(1) }) }, fps: 20, restartMs: 30 });
    const errors: string[] = [];
    const frames: Buffer[] = [];
    const stop = view.watch((f) => frames.push(f), (e) => errors.push(e.code));
    await waitFor(() => errors.length > 0, 'an error', 2000);
    expect(errors[0]).toBe('camera.liveFailed');
    fail = false;
    await waitFor(() => frames.length > 0, 'frames once it works', 2000);
    stop();
    await view.close();
    expect(view.running).toBe(false);
  });

  test('after close a watcher is told at once and nothing runs', async () => {
    const view = new LiveView({ source: { kind: 'poll', grab: async () => ({ jpeg: jpeg(1) }) } });
    await view.close();
    const errors: string[] = [];
    view.watch(() => undefined, (e) => errors.push(e.code));
    expect(errors).toEqual(['camera.closed']);
    expect(view.running).toBe(false);
  });

  test('a watcher that throws does not stop the others', async () => {
    const view = new LiveView({ source: { kind: 'poll', grab: async () => ({ jpeg: jpeg(1) }) }, fps: 20 });
    const good: Buffer[] = [];
    view.watch(() => {
      throw new Error('bad watcher');
    });
    view.watch((f) => good.push(f));
    await waitFor(() => good.length >= 2, 'frames for the good watcher', 2000);
    await view.close();
  });
});
