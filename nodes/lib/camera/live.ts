/**
 * The door camera live, as JPEG frames, for whoever watches (a door page's Look, the
 * picture while the bell rings): one source per camera however many watch, started by the
 * first watcher and stopped a moment after the last leaves. An RTSP camera is read by one
 * long-running ffmpeg that writes JPEG frames at a few per second (TCP interleaving, no
 * long probing, as a snapshot is grabbed); an HTTP JPEG camera is polled through the
 * snapshot cache, so a watcher and a snapshot node share grabs. ffmpeg that exits while
 * someone watches (camera rebooting) is started again after a pause; it never outlives
 * the last watcher or close().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { errorText, type IntercomError } from '../core/errors';
import { SnapshotError } from './ffmpeg';

export type LiveSource =
  | { kind: 'rtsp'; ffmpeg: string; url: string; width?: number }
  | { kind: 'poll'; grab(maxAgeMs: number): Promise<{ jpeg: Buffer }> };

export interface LiveViewOptions {
  source: LiveSource;
  /** frames per second (default 5) */
  fps?: number;
  /** a frame over this many bytes ends the stream (default 4 MB) */
  maxFrameBytes?: number;
  /** keep the source running this long after the last watcher left (default 2 s) */
  lingerMs?: number;
  /** pause before ffmpeg is started again after it exited (default 2 s) */
  restartMs?: number;
  /** frames may come this far apart before watchers are told the camera is silent (default 10 s) */
  stallMs?: number;
}

export type FrameFn = (jpeg: Buffer) => void;
export type LiveErrorFn = (err: IntercomError) => void;

/** ffmpeg reading an RTSP (or any) stream and writing JPEGs back to back on stdout. */
export function liveFfmpegArgs(url: string, fps: number, width?: number): string[] {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  if (/^rtsps?:/i.test(url)) args.push('-rtsp_transport', 'tcp');
  args.push('-fflags', 'nobuffer', '-analyzeduration', '0', '-probesize', '32', '-i', url, '-an');
  args.push('-vf', width ? `fps=${fps},scale=${width}:-2` : `fps=${fps}`);
  args.push('-c:v', 'mjpeg', '-q:v', '6', '-f', 'image2pipe', 'pipe:1');
  return args;
}

/**
 * Cuts a byte stream of back-to-back JPEGs into frames. In a baseline JPEG as ffmpeg's
 * encoder writes it, 0xFF in the entropy-coded data is always stuffed (FF 00) or a restart
 * marker, so FF D9 is the end of the image (ITU T.81 B.1.1.2, F.1.2.3).
 */
export class JpegSplitter {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly maxBytes: number) {}

  /** The whole frames in this chunk (and before it); throws when one grows past the limit. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    let from = 0;
    for (;;) {
      const start = this.buf.indexOf(SOI, from);
      if (start < 0) {
        this.buf = Buffer.alloc(0);
        break;
      }
      const end = this.buf.indexOf(EOI, start + 2);
      if (end < 0) {
        this.buf = this.buf.subarray(start);
        if (this.buf.length > this.maxBytes) throw new SnapshotError('camera.frameTooLarge', { max: this.maxBytes }, 'too-large');
        break;
      }
      out.push(Buffer.from(this.buf.subarray(start, end + 2)));
      from = end + 2;
    }
    return out;
  }
}
/** A pause that does not keep the process alive (a closed view's loop just ends later). */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);

interface Watcher {
  frame: FrameFn;
  error?: LiveErrorFn;
}

export class LiveView {
  private readonly watchers = new Set<Watcher>();
  private child?: ChildProcess;
  private exited?: Promise<void>;
  /** the poll loop running now, by generation: a stopped loop never emits again */
  private polling = 0;
  private generation = 0;
  private linger?: ReturnType<typeof setTimeout>;
  private restart?: ReturnType<typeof setTimeout>;
  private stall?: ReturnType<typeof setTimeout>;
  private closed = false;
  readonly stats = { frames: 0, starts: 0 };

  constructor(private readonly opts: LiveViewOptions) {}

  private get fps(): number {
    return this.opts.fps ?? 5;
  }

  /** Frames from now on, until the returned function is called. */
  watch(frame: FrameFn, error?: LiveErrorFn): () => void {
    const w: Watcher = { frame, error };
    if (this.closed) {
      error?.(new SnapshotError('camera.closed', {}, 'closed'));
      return () => undefined;
    }
    this.watchers.add(w);
    clearTimeout(this.linger);
    this.linger = undefined;
    this.run();
    return () => {
      if (!this.watchers.delete(w) || this.watchers.size) return;
      this.linger = setTimeout(() => void this.stop(), this.opts.lingerMs ?? 2000);
    };
  }

  get watching(): number {
    return this.watchers.size;
  }

  /** A source process or poll loop is running now (tests check none is left). */
  get running(): boolean {
    return !!this.child || this.polling !== 0;
  }

  private emit(jpeg: Buffer): void {
    this.stats.frames++;
    this.armStall();
    for (const w of [...this.watchers]) {
      try {
        w.frame(jpeg);
      } catch {
        // a watcher's failure is its own; the others keep their frames
      }
    }
  }

  private fail(err: IntercomError): void {
    for (const w of [...this.watchers]) w.error?.(err);
  }

  private armStall(): void {
    clearTimeout(this.stall);
    this.stall = setTimeout(() => this.fail(new SnapshotError('camera.liveStalled', { ms: this.opts.stallMs ?? 10000 }, 'timeout')), this.opts.stallMs ?? 10000);
  }

  private run(): void {
    if (this.closed || this.running || this.restart || !this.watchers.size) return;
    this.stats.starts++;
    this.armStall();
    const src = this.opts.source;
    if (src.kind === 'poll') void this.poll(src);
    else this.spawn(src);
  }

  private async poll(src: Extract<LiveSource, { kind: 'poll' }>): Promise<void> {
    const gen = ++this.generation;
    this.polling = gen;
    const live = (): boolean => this.polling === gen && !this.closed && this.watchers.size > 0;
    const interval = 1000 / this.fps;
    try {
      while (live()) {
        const t0 = Date.now();
        try {
          const { jpeg } = await src.grab(interval / 2);
          if (live()) this.emit(jpeg);
        } catch (err) {
          if (live()) this.fail(err instanceof SnapshotError ? err : new SnapshotError('camera.liveFailed', { detail: errorText(err).slice(0, 120) }, 'http'));
          await sleep(this.opts.restartMs ?? 2000);
        }
        const wait = interval - (Date.now() - t0);
        if (wait > 0 && live()) await sleep(wait);
      }
    } finally {
      if (this.polling === gen) this.polling = 0;
    }
  }

  private spawn(src: Extract<LiveSource, { kind: 'rtsp' }>): void {
    let child: ChildProcess;
    try {
      child = spawn(src.ffmpeg, liveFfmpegArgs(src.url, this.fps, src.width), { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.fail(new SnapshotError('camera.ffmpegStart', { detail: errorText(err).slice(0, 120) }, 'no-ffmpeg'));
      return this.again();
    }
    this.child = child;
    const splitter = new JpegSplitter(this.opts.maxFrameBytes ?? 4 * 1024 * 1024);
    let stderr = '';
    let failure: IntercomError | undefined;
    child.stdout?.on('data', (c: Buffer) => {
      if (this.child !== child) return;
      try {
        for (const f of splitter.push(c)) this.emit(f);
      } catch (err) {
        failure = err as IntercomError;
        child.kill('SIGKILL');
      }
    });
    child.stderr?.on('data', (c: Buffer) => {
      if (stderr.length < 2000) stderr += c.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= err.code === 'ENOENT' ? new SnapshotError('camera.ffmpegMissing', { path: src.ffmpeg }, 'no-ffmpeg') : new SnapshotError('camera.ffmpegStart', { detail: err.message.slice(0, 120) }, 'no-ffmpeg');
    });
    // 'close' comes after the exit and after stdio ended: the child is reaped by then.
    this.exited = new Promise<void>((resolve) =>
      child.once('close', (code, signal) => {
        if (this.child === child) {
          this.child = undefined;
          // ffmpeg may echo the URL, user info included: never let a password reach a watcher.
          const detail = stderr.replace(/([a-z]+:\/\/)[^@/\s]*@/gi, '$1').trim().split('\n').pop()?.slice(0, 200) || String(code ?? signal);
          this.fail(failure ?? new SnapshotError('camera.ffmpegExit', { code: String(code ?? signal), detail }, 'ffmpeg-failed'));
          this.again();
        }
        resolve();
      }),
    );
  }

  private again(): void {
    if (this.closed || !this.watchers.size) return;
    this.restart = setTimeout(() => {
      this.restart = undefined;
      this.run();
    }, this.opts.restartMs ?? 2000);
  }

  /** Stop the source now (the last watcher left a while ago, or close). */
  private async stop(): Promise<void> {
    clearTimeout(this.linger);
    clearTimeout(this.restart);
    clearTimeout(this.stall);
    this.linger = this.restart = this.stall = undefined;
    this.polling = 0;
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.exited;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.watchers]) w.error?.(new SnapshotError('camera.closed', {}, 'closed'));
    this.watchers.clear();
    await this.stop();
  }
}
