/**
 * Our digest client checked by a server we did not write: lighttpd's mod_auth with an
 * htdigest user file, MD5 and SHA-256 (RFC 7616), on a free loopback port.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HttpClient } from '../../nodes/lib/http/client';
import { DoorOpener } from '../../nodes/lib/door/opener';
import { Snapshotter } from '../../nodes/lib/camera/snapshotter';
import { describeWithPeers, which } from '../helpers/peers';
import { freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { says } from '../helpers/says';

const user = 'door';
const password = 'pässword 42';

describeWithPeers(['lighttpd', 'ffmpeg'], 'digest against a real lighttpd', () => {
  let dir: string;
  let port: number;
  let child: ChildProcess;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'door-lighttpd-'));
    port = await freeTcpPort();
    base = `http://127.0.0.1:${port}`;
    for (const d of ['md5', 'sha', 'md5cam']) mkdirSync(path.join(dir, 'www', d), { recursive: true });
    writeFileSync(path.join(dir, 'www', 'md5', 'open.txt'), 'OK\n');
    writeFileSync(path.join(dir, 'www', 'sha', 'open.txt'), 'OK\n');
    // A real JPEG for the camera path, made by ffmpeg's test source.
    execFileSync(which('ffmpeg') as string, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240', '-frames:v', '1', path.join(dir, 'www', 'md5cam', 'snap.jpg')]);
    const line = (realm: string, alg: 'md5' | 'sha256') => `${user}:${realm}:${createHash(alg).update(`${user}:${realm}:${password}`).digest('hex')}`;
    writeFileSync(path.join(dir, 'users'), [line('door-md5', 'md5'), line('door-sha', 'sha256')].join('\n') + '\n');
    writeFileSync(
      path.join(dir, 'lighttpd.conf'),
      `server.document-root = "${dir}/www"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${dir}/error.log"
server.modules = ("mod_auth", "mod_authn_file")
mimetype.assign = (".txt" => "text/plain", ".jpg" => "image/jpeg")
auth.backend = "htdigest"
auth.backend.htdigest.userfile = "${dir}/users"
auth.require = (
  "/md5/" => ("method" => "digest", "realm" => "door-md5", "require" => "valid-user", "algorithm" => "MD5"),
  "/md5cam/" => ("method" => "digest", "realm" => "door-md5", "require" => "valid-user", "algorithm" => "MD5"),
  "/sha/" => ("method" => "digest", "realm" => "door-sha", "require" => "valid-user", "algorithm" => "SHA-256"),
)
`,
    );
    child = spawn(which('lighttpd') as string, ['-D', '-f', path.join(dir, 'lighttpd.conf')], { stdio: 'ignore' });
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      'lighttpd listening',
      10_000,
    );
    // ffmpeg making the JPEG and lighttpd starting took over jest's 5 s default on a busy CI machine
  }, 30_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ['MD5', '/md5/open.txt'],
    ['SHA-256', '/sha/open.txt'],
  ])('%s: lighttpd accepts our digest, and the nonce is reused on the next request', async (_alg, p) => {
    const http = new HttpClient({ timeoutMs: 3000 });
    const first = await http.request({ method: 'GET', url: base + p, auth: 'digest', credentials: { user, password } });
    expect(first.status).toBe(200);
    expect(first.body.toString()).toBe('OK\n');
    expect(first.requests).toBe(2);
    const second = await http.request({ method: 'GET', url: base + p, auth: 'auto', credentials: { user, password } });
    expect(second.status).toBe(200);
    expect(second.requests).toBeLessThanOrEqual(2);
    http.close();
  });

  test.each(['/md5/open.txt', '/sha/open.txt'])('wrong password at %s: 401 after two requests, not a storm', async (p) => {
    const http = new HttpClient({ timeoutMs: 3000 });
    const r = await http.request({ method: 'GET', url: base + p, auth: 'auto', credentials: { user, password: 'nope' } });
    expect(r.status).toBe(401);
    expect(r.requests).toBe(2);
    http.close();
  });

  test('a generic HTTP door action against lighttpd: ok, and failed with a clear reason for a wrong password', async () => {
    const mk = (pw: string) =>
      new DoorOpener({
        doorId: 'gate',
        doorName: 'Gate',
        action: { kind: 'http', method: 'GET', url: `${base}/sha/open.txt`, auth: 'digest', successMatch: '^OK' },
        credentials: { user, password: pw },
        minIntervalMs: 0,
        retries: 3,
        backoffMs: 10,
      });
    const ok = mk(password);
    expect(await ok.open()).toMatchObject({ ok: true, status: 200, attempts: 1 });
    await ok.close();
    const no = mk('wrong');
    const r = await no.open();
    expect(r).toMatchObject({ ok: false, status: 401, attempts: 1 });
    expect(says(r.error)).toMatch(/authentication refused/);
    await no.close();
  });

  test('an HTTP camera behind digest gives a validated JPEG of the right size', async () => {
    const cam = new Snapshotter({ source: { kind: 'http', url: `${base}/md5cam/snap.jpg` }, credentials: { user, password }, timeoutMs: 3000 });
    const snap = await cam.get();
    expect(snap).toMatchObject({ width: 320, height: 240, shared: false });
    expect(snap.jpeg[0]).toBe(0xff);
    expect(snap.jpeg[1]).toBe(0xd8);
    await cam.close();
  });
});
