/** A GStreamer RTSP test server on loopback (snapshot-rtsp-server.py), and ffmpeg children to count. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { freeTcpPort } from '../helpers/ports';

const PY = '/usr/bin/python3';
const script = path.join(__dirname, 'snapshot-rtsp-server.py');

export function gstAvailable(): boolean {
  try {
    execFileSync(PY, ['-c', "import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer"], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface RtspServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startRtsp(codec: 'h264' | 'mjpeg', opts: { width?: number; height?: number; port?: number } = {}): Promise<RtspServer> {
  const port = opts.port ?? (await freeTcpPort());
  const child: ChildProcess = spawn(PY, [script, String(port), codec, String(opts.width ?? 320), String(opts.height ?? 240)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('RTSP server did not start')), 10000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`RTSP server exited ${code}`));
    });
  });
  return {
    url: `rtsp://127.0.0.1:${port}/door`,
    port,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
  };
}

export function ffmpegChildrenOf(pid: number): number {
  try {
    return execFileSync('pgrep', ['-P', String(pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}
