/**
 * One JPEG frame from an RTSP (or any ffmpeg-readable) stream through an ffmpeg child.
 * The flags cut a cold H.264 grab from ~3 s (ffmpeg's default probing) to ~0.5 s (`npm run
 * bench snapshot`, docs/doors.md): TCP
 * interleaving (RFC 2326 §10.12, no UDP ports to open or lose), no stream probing, one
 * frame. The child never outlives the deadline: SIGKILL, then we wait for its exit so
 * no zombie is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';
import { errorText, IntercomError, type MessageParams } from '../core/errors';

export function findOnPath(program: string, envPath = process.env.PATH ?? ''): string | undefined {
  if (program.includes('/')) {
    try {
      accessSync(program, constants.X_OK);
      return program;
    } catch {
      return undefined;
    }
  }
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, program);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The fd on which a URL with a password reaches ffmpeg, never its argv (readable by any local `ps`). */
export const URL_FD = 3;

/** The protocols ffmpeg may open for a URL read through the concat list (its whitelist is strict). */
function protocolsFor(url: string): string {
  const scheme = (/^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1] ?? '').toLowerCase();
  const base = ['pipe', 'tcp', 'udp', 'rtp'];
  if (scheme === 'rtsp') return [...base, 'rtsp'].join(',');
  if (scheme === 'rtsps') return [...base, 'rtsp', 'rtsps', 'tls'].join(',');
  if (scheme === 'http' || scheme === 'https') return [...base, 'http', 'https', 'tls', 'crypto', 'httpproxy'].join(',');
  return [...base, scheme].join(',');
}

/** The URL carries user info (a password, or a user that is a secret too). */
export function hasUserInfo(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(url);
}

/**
 * The ffconcat list that names the stream, for ffmpeg to read from fd 3 (`-f concat -i
 * pipe:3`): the URL in single quotes (a quote inside it written '\''), and the options the
 * stream's demuxer would get on the command line as `option` lines (ffmpeg ≥ 5).
 */
export function concatList(url: string): string {
  // A line break would end the file line and start a directive of ours.
  if ([...url].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) throw new SnapshotError('camera.urlControlChars', {}, 'no-source');
  const lines = ['ffconcat version 1.0', `file '${url.replace(/'/g, "'\\''")}'`];
  if (/^rtsps?:/i.test(url)) lines.push('option rtsp_transport tcp');
  lines.push('option analyzeduration 0', 'option probesize 32');
  return lines.join('\n') + '\n';
}

export function ffmpegArgs(url: string, width?: number): string[] {
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  if (hasUserInfo(url)) {
    // The stream is named in a list ffmpeg reads from a pipe, so its password is in no argv.
    args.push('-f', 'concat', '-safe', '0', '-protocol_whitelist', protocolsFor(url), '-analyzeduration', '0', '-probesize', '32', '-i', `pipe:${URL_FD}`);
  } else {
    if (/^rtsps?:/i.test(url)) args.push('-rtsp_transport', 'tcp');
    args.push('-analyzeduration', '0', '-probesize', '32', '-i', url);
  }
  args.push('-frames:v', '1');
  if (width) args.push('-vf', `scale=${width}:-2`);
  args.push('-f', 'image2', '-c:v', 'mjpeg', '-q:v', '4', 'pipe:1');
  return args;
}

export type SnapshotFailure = 'no-ffmpeg' | 'timeout' | 'ffmpeg-failed' | 'unreachable' | 'auth' | 'too-large' | 'not-jpeg' | 'http' | 'no-source' | 'closed';

/** Why there is no picture: a code (intercom.errors.camera.* or http.*) and its kind. */
export class SnapshotError extends IntercomError {
  constructor(
    code: string,
    params: MessageParams,
    readonly kind: SnapshotFailure,
  ) {
    super(code, params);
  }
}

export interface FfmpegGrabOptions {
  ffmpeg: string;
  url: string;
  timeoutMs: number;
  maxBytes: number;
  width?: number;
  /** to kill children on close */
  track?: (child: ChildProcess) => () => void;
}

export function grabWithFfmpeg(o: FfmpegGrabOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let child: ChildProcess;
    const secret = hasUserInfo(o.url);
    try {
      const args = ffmpegArgs(o.url, o.width);
      const list = secret ? concatList(o.url) : undefined;
      child = spawn(o.ffmpeg, args, { stdio: list ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'] });
      if (list) {
        const pipe = child.stdio[URL_FD] as NodeJS.WritableStream & { on(e: 'error', f: () => void): void };
        // ffmpeg that failed before reading it closes the pipe: that is its exit to report, not ours.
        pipe.on('error', () => undefined);
        pipe.end(list);
      }
    } catch (err) {
      if (err instanceof SnapshotError) {
        reject(err);
        return;
      }
      reject(new SnapshotError('camera.ffmpegStart', { detail: errorText(err).slice(0, 120) }, 'no-ffmpeg'));
      return;
    }
    const untrack = o.track?.(child) ?? (() => undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failure: SnapshotError | undefined;
    const kill = (why: SnapshotError): void => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill(new SnapshotError('camera.noFrame', { url: redactStreamUrl(o.url), ms: o.timeoutMs }, 'timeout')), o.timeoutMs);
    child.stdout?.on('data', (c: Buffer) => {
      size += c.length;
      if (size > o.maxBytes) kill(new SnapshotError('camera.frameTooLarge', { max: o.maxBytes }, 'too-large'));
      else chunks.push(c);
    });
    child.stderr?.on('data', (c: Buffer) => {
      if (stderr.length < 2000) stderr += c.toString('utf8');
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= err.code === 'ENOENT' ? new SnapshotError('camera.ffmpegMissing', { path: o.ffmpeg }, 'no-ffmpeg') : new SnapshotError('camera.ffmpegStart', { detail: err.message.slice(0, 120) }, 'no-ffmpeg');
    });
    // 'close' comes after exit and after stdio ended: the child is reaped by then.
    child.on('close', (code) => {
      clearTimeout(timer);
      untrack();
      if (failure) reject(failure);
      else if (code !== 0) reject(exitError(code, secret ? stderr.split(`pipe:${URL_FD}`).join(redactStreamUrl(o.url)) : stderr, o.url));
      else resolve(Buffer.concat(chunks));
    });
  });
}

/**
 * What ffmpeg's failure means for the door: the camera is not there (refused, unreachable,
 * no route), it refused the credentials, or something else in ffmpeg's own words.
 */
function exitError(code: number | null, stderr: string, url: string): SnapshotError {
  const where = redactStreamUrl(url);
  if (/Connection refused|No route to host|Network is unreachable|Host is unreachable|Connection timed out/i.test(stderr)) {
    return new SnapshotError('camera.unreachable', { url: where, detail: lastLine(stderr) }, 'unreachable');
  }
  if (/401 Unauthorized|403 Forbidden/i.test(stderr)) return new SnapshotError('camera.rtspAuth', { url: where }, 'auth');
  return new SnapshotError('camera.ffmpegExit', { code: String(code), detail: lastLine(stderr) }, 'ffmpeg-failed');
}

function lastLine(s: string): string {
  // ffmpeg may echo the URL, user info included: never let a password reach a log.
  const lines = s.replace(/([a-z]+:\/\/)[^@/\s]*@/gi, '$1').trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 200) || 'no output';
}

/** rtsp://user:pass@host/... without the user info. */
export function redactStreamUrl(u: string): string {
  return u.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1');
}
