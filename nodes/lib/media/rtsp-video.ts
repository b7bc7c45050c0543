/**
 * The door's RTSP camera as a call's video, for a panel that sends none (or a profile the
 * viewer cannot take): ffmpeg pulls the stream over RTSP/TCP and re-sends its H.264 as RTP
 * to a loopback port of ours with `-c:v copy` — remuxed, never transcoded — cut to
 * 1200-byte packets so they still fit the MTU after SRTP. The packets come out as 'video'
 * events, which a bridge sends to the viewer like a panel's own video.
 */
import * as dgram from 'node:dgram';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from '../core/log';
import { silentLogger } from '../core/log';
import type { VideoPacket } from './port';
import { parseRtp } from './rtp';

export interface RtspVideoOptions {
  url: string;
  /** ffmpeg's path (the door's setting), default `ffmpeg` on PATH */
  ffmpeg?: string;
  /** restart ffmpeg after it exits while the call is up (camera rebooting), ms */
  restartMs?: number;
  logger?: Logger;
}

/** Anything that gives a call its video: a panel's leg, or a camera. */
export interface VideoSource extends EventEmitter<{ video: [pkt: VideoPacket]; closed: [] }> {
  requestKeyframe?(): void;
  close(): Promise<void>;
}

/** ffmpeg's arguments: RTSP over TCP in, RTP out, the H.264 copied as it is. */
export function rtspToRtpArgs(url: string, port: number): string[] {
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    ...(/^rtsps?:/i.test(url) ? ['-rtsp_transport', 'tcp'] : []),
    '-fflags', 'nobuffer', '-analyzeduration', '0', '-probesize', '500000',
    '-i', url,
    '-an', '-c:v', 'copy', '-f', 'rtp', '-payload_type', '96', '-pkt_size', '1200',
    `rtp://127.0.0.1:${port}`,
  ];
}

export class RtspVideoSource extends EventEmitter<{ video: [pkt: VideoPacket]; closed: [] }> implements VideoSource {
  readonly stats = { packets: 0, restarts: 0 };
  private socket?: dgram.Socket;
  private child?: ChildProcess;
  private closed = false;
  private restart?: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(private readonly opts: RtspVideoOptions) {
    super();
    this.log = opts.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', () => undefined);
    s.on('message', (buf, rinfo) => {
      // only ffmpeg on this host sends here; anything else is not our camera
      if (rinfo.address !== '127.0.0.1') return;
      const pkt = parseRtp(buf);
      if (!pkt) return;
      this.stats.packets++;
      this.emit('video', { payloadType: pkt.payloadType, marker: pkt.marker, sequence: pkt.sequence, timestamp: pkt.timestamp, payload: pkt.payload });
    });
    this.socket = s;
    this.spawn();
  }

  private spawn(): void {
    if (this.closed || !this.socket) return;
    const port = this.socket.address().port;
    // The URL (with any camera password in it) goes to ffmpeg only, never to a log line.
    const child = spawn(this.opts.ffmpeg || 'ffmpeg', rtspToRtpArgs(this.opts.url, port), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-300)));
    child.on('error', (e) => this.log.warn('media.rtspVideoFailed', { detail: e.message }));
    child.on('exit', (code) => {
      if (this.child === child) this.child = undefined;
      if (this.closed) return;
      this.log.warn('media.rtspVideoEnded', { code: code ?? -1, detail: err.replace(/rtsps?:\/\/[^\s@]*@/gi, 'rtsp://***@').trim().slice(0, 200) });
      this.stats.restarts++;
      this.restart = setTimeout(() => this.spawn(), this.opts.restartMs ?? 2000);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restart);
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      let t: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (t = setTimeout(r, 1500)))]);
      clearTimeout(t);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    this.emit('closed');
  }
}
