/**
 * The door camera live for a page's Look, from a real GStreamer RTSP server through one
 * ffmpeg: JPEG frames of the stream's size a few times a second, one ffmpeg however many
 * watch, none left once the last watcher is gone, and a camera that goes away told to
 * the watchers with no ffmpeg left behind after close.
 */
import { LiveView } from '../../nodes/lib/camera/live';
import { jpegInfo } from '../../nodes/lib/camera/jpeg';
import { describeWithPeers, which } from '../helpers/peers';
import { waitFor } from '../helpers/wait';
import { ffmpegChildrenOf, gstAvailable, startRtsp } from './rtsp-server';

const peers = gstAvailable() ? ['ffmpeg'] : ['ffmpeg', 'gst-rtsp-server (python3-gi)'];
describeWithPeers(peers, 'the door camera live (RTSP through ffmpeg)', () => {
  jest.setTimeout(40000);

  test('frames of the stream size at the rate asked, one ffmpeg for two watchers, none after they leave', async () => {
    const rtsp = await startRtsp('h264', { width: 640, height: 480 });
    const view = new LiveView({ source: { kind: 'rtsp', ffmpeg: which('ffmpeg')!, url: rtsp.url }, fps: 5, lingerMs: 100 });
    try {
      const a: Buffer[] = [];
      const b: Buffer[] = [];
      const stopA = view.watch((f) => a.push(f));
      await waitFor(() => a.length >= 1, 'a first frame', 15000);
      const stopB = view.watch((f) => b.push(f));
      const t0 = Date.now();
      const n0 = a.length;
      await waitFor(() => b.length >= 10, 'ten frames for the second watcher', 15000);
      const fps = ((a.length - n0) * 1000) / (Date.now() - t0);
      expect(fps).toBeGreaterThan(2);
      expect(fps).toBeLessThan(9);
      expect(jpegInfo(b[b.length - 1])).toMatchObject({ width: 640, height: 480 });
      expect(ffmpegChildrenOf(process.pid)).toBe(1);
      expect(view.stats.starts).toBe(1);
      stopA();
      stopB();
      await waitFor(() => ffmpegChildrenOf(process.pid) === 0 && !view.running, 'ffmpeg gone after the last watcher', 5000);
    } finally {
      await view.close();
      await rtsp.stop();
    }
  });

  test('the camera goes away: watchers hear it, and close leaves no ffmpeg', async () => {
    const rtsp = await startRtsp('h264', { width: 320, height: 240 });
    const view = new LiveView({ source: { kind: 'rtsp', ffmpeg: which('ffmpeg')!, url: rtsp.url }, fps: 5, restartMs: 300, stallMs: 3000 });
    const errors: string[] = [];
    const frames: Buffer[] = [];
    view.watch((f) => frames.push(f), (e) => errors.push(e.code));
    try {
      await waitFor(() => frames.length >= 2, 'frames', 15000);
      await rtsp.stop();
      await waitFor(() => errors.length > 0, 'the watcher told', 15000);
      expect(errors[0]).toMatch(/^camera\.(ffmpegExit|liveStalled)$/);
      // it tries again while watched (restartMs 300)
      await waitFor(() => view.stats.starts > 1, 'a second start', 5000);
    } finally {
      await view.close();
    }
    expect(view.running).toBe(false);
    await waitFor(() => ffmpegChildrenOf(process.pid) === 0, 'no ffmpeg left', 5000);
  });
});
