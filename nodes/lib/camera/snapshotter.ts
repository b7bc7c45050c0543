/**
 * A door camera's picture on demand: HTTP JPEG (Basic/Digest through the door HTTP
 * client) or RTSP through ffmpeg. A grab in flight is shared, and a finished grab stays
 * fresh for `cacheMs`, so the notification, the journal and Home Assistant asking for the
 * same ring cost one grab; `prefetch()` starts it the moment the call rings.
 */
import type { ChildProcess } from 'node:child_process';
import type { IntercomError } from '../core/errors';
import type { Credentials } from '../auth/digest';
import { HttpClient, HttpError } from '../http/client';
import { findOnPath, grabWithFfmpeg, SnapshotError } from './ffmpeg';
import { isJpeg, jpegInfo } from './jpeg';

export type SnapshotSource = { kind: 'http'; url: string } | { kind: 'rtsp'; url: string; ffmpeg?: string };

export interface SnapshotterOptions {
  source: SnapshotSource;
  credentials?: Credentials;
  insecureTls?: boolean;
  timeoutMs?: number;
  maxBytes?: number;
  cacheMs?: number;
  width?: number;
  now?: () => number;
}

export interface Snapshot {
  jpeg: Buffer;
  width?: number;
  height?: number;
  /** when the grab finished */
  takenAt: number;
  /** how long the grab took */
  grabMs: number;
  /** served from the cache or a grab in flight */
  shared: boolean;
}

export class Snapshotter {
  private readonly http: HttpClient;
  private readonly children = new Set<ChildProcess>();
  private inflight: Promise<Snapshot> | null = null;
  private cached: Snapshot | null = null;
  private closed = false;
  private readonly now: () => number;
  readonly ffmpeg: string | undefined;

  constructor(private readonly opts: SnapshotterOptions) {
    this.now = opts.now ?? Date.now;
    this.http = new HttpClient({ insecureTls: opts.insecureTls, timeoutMs: opts.timeoutMs ?? 5000, maxBodyBytes: this.maxBytes });
    if (opts.source.kind === 'rtsp') this.ffmpeg = findOnPath(opts.source.ffmpeg || 'ffmpeg');
    if (!/^(https?|rtsps?):\/\//i.test(opts.source.url)) throw new SnapshotError('camera.badUrl', {}, 'no-source');
  }

  private get maxBytes(): number {
    return this.opts.maxBytes ?? 4 * 1024 * 1024;
  }

  /** Is the source usable at all (ffmpeg present for RTSP)? Why not, when it is not. */
  problem(): IntercomError | undefined {
    if (this.opts.source.kind === 'rtsp' && !this.ffmpeg) return new SnapshotError('camera.noFfmpeg', { path: this.opts.source.ffmpeg || 'PATH' }, 'no-ffmpeg');
    return undefined;
  }

  /** Start a grab now (a call rings) unless a fresh one is cached or running. */
  prefetch(): void {
    this.get().catch(() => undefined);
  }

  /** The freshest picture: cached (< cacheMs), the one in flight, or a new grab. */
  get(opts: { maxAgeMs?: number } = {}): Promise<Snapshot> {
    if (this.closed) return Promise.reject(new SnapshotError('camera.closed', {}, 'closed'));
    const maxAge = opts.maxAgeMs ?? this.opts.cacheMs ?? 3000;
    if (this.cached && this.now() - this.cached.takenAt <= maxAge) return Promise.resolve({ ...this.cached, shared: true });
    if (this.inflight) return this.inflight.then((s) => ({ ...s, shared: true }));
    const t0 = this.now();
    const p = this.grab()
      .then((jpeg) => {
        const info = jpegInfo(jpeg);
        const snap: Snapshot = { jpeg, width: info?.width, height: info?.height, takenAt: this.now(), grabMs: this.now() - t0, shared: false };
        if (!this.closed) this.cached = snap;
        return snap;
      })
      .finally(() => {
        this.inflight = null;
      });
    this.inflight = p;
    return p;
  }

  private async grab(): Promise<Buffer> {
    const src = this.opts.source;
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    let jpeg: Buffer;
    if (src.kind === 'http') {
      let res;
      try {
        res = await this.http.request({ method: 'GET', url: src.url, auth: 'auto', credentials: this.opts.credentials, timeoutMs, headers: { accept: 'image/jpeg' } });
      } catch (err) {
        if (err instanceof HttpError) throw new SnapshotError(err.code, err.params, err.kind === 'too-large' ? 'too-large' : err.kind === 'timeout' ? 'timeout' : 'http');
        throw err;
      }
      if (res.status !== 200) throw new SnapshotError(res.status === 401 ? 'camera.httpAuth' : 'camera.httpStatus', { status: res.status }, 'http');
      jpeg = res.body;
    } else {
      if (!this.ffmpeg) throw this.problem() as SnapshotError;
      jpeg = await grabWithFfmpeg({
        ffmpeg: this.ffmpeg,
        url: withCredentials(src.url, this.opts.credentials),
        timeoutMs,
        maxBytes: this.maxBytes,
        width: this.opts.width,
        track: (child) => {
          this.children.add(child);
          return () => this.children.delete(child);
        },
      });
    }
    if (!isJpeg(jpeg)) throw new SnapshotError('camera.notJpeg', { bytes: jpeg.length }, 'not-jpeg');
    return jpeg;
  }

  /** Children running now (tests check none is left). */
  get running(): number {
    return this.children.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cached = null;
    this.http.close();
    const waits = [...this.children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('close', () => resolve());
          c.kill('SIGKILL');
        }),
    );
    await Promise.all(waits);
  }
}

/** rtsp://host/path + credentials → rtsp://user:pass@host/path (unless the URL has its own). */
export function withCredentials(url: string, c: Credentials | undefined): string {
  if (!c?.user || /^[a-z]+:\/\/[^/]*@/i.test(url)) return url;
  return url.replace(/^([a-z]+:\/\/)/i, `$1${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@`);
}

