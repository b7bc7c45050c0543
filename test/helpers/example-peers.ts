/**
 * The real programs the examples name, on loopback and free ports, for the end-to-end
 * tests of examples/: mosquitto with its default settings, the GStreamer RTSP server,
 * and the helper bits those tests share (a picture, a journal read back, a node's
 * next input).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { helper } from './node-red';
import { which } from './peers';
import { freeTcpPort } from './ports';
import { waitFor } from './wait';

/** A small valid JPEG (8x16), what a camera stand-in serves. */
export const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgUFBcUFxsbGxsbGyAeICEhISAgICAhISEkJCQqKiokJCQhISQkKCgqKi4vLisrKisvLzIyMjw8OTlGRkhWVmf/xABMAAEBAAAAAAAAAAAAAAAAAAAABwEBAQAAAAAAAAAAAAAAAAAABQcQAQAAAAAAAAAAAAAAAAAAAAARAQAAAAAAAAAAAAAAAAAAAAD/wAARCAAIABADASIAAhEAAxEA/9oADAMBAAIRAxEAPwCOAL+Lf//Z',
  'base64',
);

export interface Peer {
  port: number;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(t);
}

/** mosquitto as it comes (only the listener is ours: loopback and a free port). */
export async function startMosquitto(): Promise<Peer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mosquitto-'));
  const port = await freeTcpPort();
  writeFileSync(path.join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\n`);
  const child = spawn(which('mosquitto') as string, ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    'mosquitto listening',
  );
  return {
    port,
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const RTSP_SCRIPT = path.resolve(__dirname, '..', 'peer', 'snapshot-rtsp-server.py');

/** GStreamer's RTSP server (test/peer/snapshot-rtsp-server.py), streaming a test picture. */
export async function startRtsp(codec: 'h264' | 'mjpeg' = 'mjpeg'): Promise<Peer & { url: string }> {
  const port = await freeTcpPort();
  const child = spawn('/usr/bin/python3', [RTSP_SCRIPT, String(port), codec, '320', '240'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('RTSP server did not start')), 10000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`RTSP server exited ${code}`)));
  });
  return { port, url: `rtsp://127.0.0.1:${port}/door`, stop: () => stopChild(child) };
}

/** The journal's events, once `until` holds for them. */
export async function journalEvents(file: string, until: (events: Array<Record<string, unknown>>) => boolean, what: string, timeoutMs = 5000): Promise<Array<Record<string, unknown>>> {
  const found = await waitFor(() => {
    try {
      const events = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      return until(events) ? events : undefined;
    } catch {
      return undefined;
    }
  }, what, timeoutMs);
  return found as Array<Record<string, unknown>>;
}

/** Every message a node of the loaded flow receives from now on (a debug node's input, say). */
export function inputsOf(id: string): Array<Record<string, any>> {
  const got: Array<Record<string, any>> = [];
  const n = helper.getNode(id) as { on(e: string, f: (m: Record<string, any>) => void): void } | null;
  if (!n) throw new Error(`node ${id} did not start`);
  n.on('input', (m) => got.push(m));
  return got;
}

/** Presses an inject node's button, as the editor's button does (POST /inject/:id → receive). */
export function press(id: string): void {
  const n = helper.getNode(id) as { receive(m: Record<string, unknown>): void } | null;
  if (!n) throw new Error(`inject ${id} did not start`);
  n.receive({});
}

/** node.error calls of intercom nodes (the helper's spy is shared; thisValues names who). */
export function intercomErrors(anyNodeId: string): string[] {
  const spy = (helper.getNode(anyNodeId) as any).error as { args?: unknown[][]; thisValues?: Array<{ type?: string; name?: string; id?: string }> };
  return (spy.args ?? [])
    .map((a, i) => ({ node: spy.thisValues?.[i], text: String(a[0]) }))
    .filter((e) => String(e.node?.type).startsWith('intercom-'))
    .map((e) => `${e.node?.type} ${e.node?.name || e.node?.id}: ${e.text}`);
}
