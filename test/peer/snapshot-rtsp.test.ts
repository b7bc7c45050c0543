/**
 * RTSP snapshots through ffmpeg from a real GStreamer RTSP server on loopback: a valid
 * JPEG of the stream's size, shared between consumers of one ring, and a clean failure
 * (no ffmpeg left running) when the server is gone.
 */
import { Snapshotter } from '../../nodes/lib/camera/snapshotter';
import { describeWithPeers } from '../helpers/peers';
import { rejection, says } from '../helpers/says';
import { ffmpegChildrenOf, gstAvailable, startRtsp } from './rtsp-server';

const peers = gstAvailable() ? ['ffmpeg'] : ['ffmpeg', 'gst-rtsp-server (python3-gi)'];
describeWithPeers(peers, 'RTSP snapshot through ffmpeg', () => {
  jest.setTimeout(30000);

  test.each(['h264', 'mjpeg'] as const)('%s stream: a valid JPEG of the stream size', async (codec) => {
    const rtsp = await startRtsp(codec, { width: 640, height: 480 });
    const cam = new Snapshotter({ source: { kind: 'rtsp', url: rtsp.url }, timeoutMs: 8000 });
    try {
      const snap = await cam.get();
      expect(snap).toMatchObject({ width: 640, height: 480, shared: false });
      expect(snap.jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      expect(snap.jpeg.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    } finally {
      await cam.close();
      await rtsp.stop();
    }
  });

  test('prefetch on ring: two consumers share one grab, and a later ask within the cache is instant', async () => {
    const rtsp = await startRtsp('mjpeg', { width: 320, height: 240 });
    const cam = new Snapshotter({ source: { kind: 'rtsp', url: rtsp.url }, timeoutMs: 8000, cacheMs: 5000 });
    try {
      cam.prefetch();
      expect(cam.running).toBe(1);
      const [a, b] = await Promise.all([cam.get(), cam.get()]);
      expect(a.jpeg).toBe(b.jpeg);
      expect(a.shared && b.shared).toBe(true);
      const t0 = Date.now();
      const c = await cam.get();
      expect(c.jpeg).toBe(a.jpeg);
      expect(Date.now() - t0).toBeLessThan(50);
      expect(cam.running).toBe(0);
    } finally {
      await cam.close();
      await rtsp.stop();
    }
  });

  test('server gone: an error within the timeout and no ffmpeg left behind', async () => {
    const rtsp = await startRtsp('h264', { width: 640, height: 480 });
    await rtsp.stop();
    const cam = new Snapshotter({ source: { kind: 'rtsp', url: rtsp.url }, timeoutMs: 3000 });
    const t0 = Date.now();
    expect(says(await rejection(cam.get()))).toMatch(/not reachable \(.*Connection refused|no frame/);
    expect(Date.now() - t0).toBeLessThan(3500);
    expect(cam.running).toBe(0);
    expect(ffmpegChildrenOf(process.pid)).toBe(0);
    await cam.close();
  });

  test('a server that accepts and never answers: killed at the deadline, no zombie', async () => {
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const srv = net.createServer((s) => sockets.push(s)); // accept, say nothing
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as import('node:net').AddressInfo).port;
    const cam = new Snapshotter({ source: { kind: 'rtsp', url: `rtsp://127.0.0.1:${port}/door` }, timeoutMs: 800 });
    const t0 = Date.now();
    expect(says(await rejection(cam.get()))).toMatch(/no frame from rtsp:\/\/127\.0\.0\.1:\d+\/door within 800 ms/);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(ffmpegChildrenOf(process.pid)).toBe(0);
    await cam.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => srv.close(r));
  });

  test('close during a grab kills ffmpeg and waits for it', async () => {
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const srv = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as import('node:net').AddressInfo).port;
    const cam = new Snapshotter({ source: { kind: 'rtsp', url: `rtsp://127.0.0.1:${port}/door` }, timeoutMs: 10000 });
    const p = cam.get().catch((e: Error) => e);
    expect(cam.running).toBe(1);
    await cam.close();
    expect(cam.running).toBe(0);
    expect(ffmpegChildrenOf(process.pid)).toBe(0);
    expect(await p).toBeInstanceOf(Error);
    for (const s of sockets) s.destroy();
    await new Promise((r) => srv.close(r));
  });
});

test('missing ffmpeg: a clear problem before any grab', async () => {
  const cam = new Snapshotter({ source: { kind: 'rtsp', url: 'rtsp://127.0.0.1:1/door', ffmpeg: '/nonexistent/ffmpeg' } });
  expect(says(cam.problem())).toMatch(/ffmpeg not found/);
  expect(says(await rejection(cam.get()))).toMatch(/ffmpeg not found/);
  await cam.close();
});
