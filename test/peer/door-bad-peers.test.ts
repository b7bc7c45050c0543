/**
 * Hostile or broken devices: each gives a clear failed result, never a crash, never a
 * hang past the deadline, and never a retry of a command that may have reached the door.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HttpClient, HttpError } from '../../nodes/lib/http/client';
import { DoorOpener, type DoorAction } from '../../nodes/lib/door/opener';
import { Snapshotter } from '../../nodes/lib/camera/snapshotter';
import { which } from '../helpers/peers';
import { freeTcpPort } from '../helpers/ports';
import { startServer, startVendor, type VendorServer } from './door-vendors';
import { rejection, says } from '../helpers/says';

const creds = { user: 'admin', password: 'pw' };
const openers: DoorOpener[] = [];
const servers: Array<{ close(): Promise<void> | void }> = [];

function opener(action: DoorAction, extra: Partial<ConstructorParameters<typeof DoorOpener>[0]> = {}): DoorOpener {
  const o = new DoorOpener({ doorId: 'd', doorName: 'D', action, credentials: creds, timeoutMs: 1000, minIntervalMs: 0, backoffMs: 10, retries: 2, ...extra });
  openers.push(o);
  return o;
}

async function rawServer(onSocket: (s: net.Socket) => void): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    n++;
    sockets.add(s);
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  servers.push({
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  });
  return { port: (srv.address() as net.AddressInfo).port, connections: () => n };
}

afterEach(async () => {
  await Promise.all(openers.splice(0).map((o) => o.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

test('unreachable host (closed loopback port): clear failure, retried since nothing was delivered', async () => {
  const port = await freeTcpPort();
  const r = await opener({ kind: 'preset', preset: '2n', baseUrl: `http://127.0.0.1:${port}` }).open();
  expect(r).toMatchObject({ ok: false, attempts: 3 });
  expect(says(r.error)).toMatch(/unreachable \(ECONNREFUSED\)/);
});

test('slow-loris device: the total deadline ends it, and a trigger is not sent twice', async () => {
  const peer = await rawServer((s) => {
    // Read the request, then dribble a header byte every 100 ms for ever.
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\nX-Slow: ');
      const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write('a')), 100);
      s.on('close', () => clearInterval(t));
    });
  });
  const t0 = Date.now();
  const r = await opener({ kind: 'preset', preset: '2n', baseUrl: `http://127.0.0.1:${peer.port}` }, { timeoutMs: 600 }).open();
  const took = Date.now() - t0;
  expect(r.ok).toBe(false);
  expect(says(r.error)).toMatch(/within the deadline/);
  expect(r.attempts).toBe(1);
  expect(peer.connections()).toBe(1);
  expect(took).toBeLessThan(1500);
});

test('500s: an idempotent preset retries with backoff, a trigger does not', async () => {
  const shelly: VendorServer = await startVendor('shelly-gen1', creds);
  servers.push(shelly);
  shelly.failWith = 500;
  const r1 = await opener({ kind: 'preset', preset: 'shelly-gen1', baseUrl: shelly.url }).open();
  expect(r1).toMatchObject({ ok: false, status: 500, attempts: 3 });
  expect(shelly.hits).toHaveLength(3);

  const twoN: VendorServer = await startVendor('2n', creds);
  servers.push(twoN);
  twoN.failWith = 500;
  const r2 = await opener({ kind: 'preset', preset: '2n', baseUrl: twoN.url }).open();
  expect(r2).toMatchObject({ ok: false, status: 500, attempts: 1 });
  expect(says(r2.error)).toMatch(/device error \(HTTP 500\)/);
  expect(twoN.hits).toHaveLength(1);
});

test('a 500 followed by success: the idempotent open ends ok on the second attempt', async () => {
  const shelly = await startVendor('shelly-gen1', creds);
  servers.push(shelly);
  shelly.failWith = 503;
  const o = opener({ kind: 'preset', preset: 'shelly-gen1', baseUrl: shelly.url }, { backoffMs: 150 });
  const p = o.open();
  setTimeout(() => (shelly.failWith = undefined), 60);
  const r = await p;
  expect(r).toMatchObject({ ok: true, attempts: 2 });
});

test('a digest device that suddenly asks for Basic never gets the password in clear', async () => {
  const srv = await startServer((_req, _b, res) => {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="gimme"' });
    res.end();
  });
  servers.push(srv);
  const r = await opener({ kind: 'preset', preset: 'hikvision', baseUrl: srv.url }).open();
  expect(r).toMatchObject({ ok: false, status: 401, attempts: 1 });
  expect(srv.hits.every((h) => h.headers.authorization === undefined)).toBe(true);
});

test('garbage instead of HTTP: a clear failure', async () => {
  const peer = await rawServer((s) => s.once('data', () => s.end('SSH-2.0-OpenSSH_9.2\r\n')));
  const r = await opener({ kind: 'preset', preset: 'beward', baseUrl: `http://127.0.0.1:${peer.port}` }).open();
  expect(r.ok).toBe(false);
  expect(says(r.error)).toMatch(/not valid HTTP/);
  expect(r.attempts).toBe(1);
});

test('huge body: refused at the cap, quickly', async () => {
  const srv = await startServer((_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (sent < 200 && res.write(chunk)) sent++;
      if (sent < 200) res.once('drain', pump);
      else res.end();
    };
    pump();
  });
  servers.push(srv);
  const r = await opener({ kind: 'http', method: 'GET', url: `${srv.url}/open` }).open();
  expect(r.ok).toBe(false);
  expect(says(r.error)).toMatch(/exceeds the 65536 byte limit/);
  expect(r.attempts).toBe(1);
});

test('redirect to another host is not followed with credentials; same-origin redirect is', async () => {
  const other = await startServer((_req, _b, res) => res.end('OK'));
  servers.push(other);
  const door = await startServer((req, _b, res) => {
    if (req.url === '/moved') {
      res.writeHead(302, { location: '/open' });
      return void res.end();
    }
    if (req.url === '/open') return void res.end(req.headers.authorization ? 'OK' : 'no auth');
    res.writeHead(302, { location: `${other.url}/steal` });
    res.end();
  });
  servers.push(door);
  const r = await opener({ kind: 'http', method: 'GET', url: `${door.url}/away`, auth: 'basic', successMatch: '^OK$' }).open();
  expect(r.ok).toBe(false);
  expect(says(r.error)).toMatch(/redirect to another host .* refused/);
  expect(other.hits).toHaveLength(0);
  const r2 = await opener({ kind: 'http', method: 'GET', url: `${door.url}/moved`, auth: 'basic', successMatch: '^OK$' }).open();
  expect(r2).toMatchObject({ ok: true, status: 200 });
});

test('HTML error page instead of a JPEG: the camera refuses it', async () => {
  const srv = await startServer((_req, _b, res) => {
    res.writeHead(200, { 'content-type': 'image/jpeg' });
    res.end('<html>login required</html>');
  });
  servers.push(srv);
  const cam = new Snapshotter({ source: { kind: 'http', url: `${srv.url}/snap.jpg` }, timeoutMs: 1000 });
  expect(says(await rejection(cam.get()))).toMatch(/not a JPEG/);
  await cam.close();
});

test('a camera streaming MJPEG for ever: cut at the size cap', async () => {
  const srv = await startServer((_req, _b, res) => {
    res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace; boundary=x' });
    const t = setInterval(() => res.write(Buffer.alloc(32 * 1024, 0xff)), 5);
    res.on('close', () => clearInterval(t));
  });
  servers.push(srv);
  const cam = new Snapshotter({ source: { kind: 'http', url: `${srv.url}/video` }, timeoutMs: 3000, maxBytes: 256 * 1024 });
  expect(says(await rejection(cam.get()))).toMatch(/exceeds the 262144 byte limit/);
  await cam.close();
});

test('minimum interval: a second open right after is throttled; one in flight is joined', async () => {
  const shelly = await startVendor('shelly-gen1', creds);
  servers.push(shelly);
  const o = opener({ kind: 'preset', preset: 'shelly-gen1', baseUrl: shelly.url }, { minIntervalMs: 5000 });
  const [a, b] = await Promise.all([o.open(), o.open()]);
  expect(a).toBe(b);
  expect(a.ok).toBe(true);
  const c = await o.open();
  expect(c).toMatchObject({ ok: false, outcome: 'throttled' });
  expect(shelly.opens).toHaveLength(1);
});

test('confirmation by polling a state URL: ok once it reads open, unconfirmed when it never does', async () => {
  let state = 'closed';
  const srv = await startServer((req, _b, res) => {
    if (req.url === '/open') {
      setTimeout(() => (state = 'open'), 100);
      return void res.end('OK');
    }
    res.end(JSON.stringify({ door: state }));
  });
  servers.push(srv);
  const o = opener({ kind: 'http', method: 'GET', url: `${srv.url}/open` }, { confirm: { kind: 'poll', url: `${srv.url}/state`, match: '"door":"open"', intervalMs: 30, timeoutMs: 1000 } });
  const r = await o.open();
  expect(r).toMatchObject({ ok: true, outcome: 'ok' });
  expect(r.latencyMs).toBeGreaterThanOrEqual(90);
  state = 'stuck';
  const o2 = opener({ kind: 'http', method: 'GET', url: `${srv.url}/state` }, { confirm: { kind: 'poll', url: `${srv.url}/state`, match: '"door":"open"', intervalMs: 30, timeoutMs: 300 } });
  const r2 = await o2.open();
  expect(r2).toMatchObject({ ok: false, outcome: 'unconfirmed' });
  expect(says(r2.error)).toMatch(/not confirmed within 300 ms/);
});

test('confirmation by event', async () => {
  const srv = await startServer((_req, _b, res) => res.end('OK'));
  servers.push(srv);
  const o = opener({ kind: 'http', method: 'GET', url: `${srv.url}/open` }, { confirm: { kind: 'event', timeoutMs: 1000 } });
  const p = o.open();
  setTimeout(() => o.confirmEvent(), 50);
  expect(await p).toMatchObject({ ok: true });
  const r = await opener({ kind: 'http', method: 'GET', url: `${srv.url}/open` }, { confirm: { kind: 'event', timeoutMs: 100 } }).open();
  expect(r).toMatchObject({ ok: false, outcome: 'unconfirmed' });
});

const openssl = which('openssl');
(openssl ? describe : describe.skip)('TLS with a self-signed certificate', () => {
  let dir: string;
  let server: https.Server;
  let port: number;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'door-tls-'));
    execFileSync(openssl as string, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem')], { stdio: 'ignore' });
    server = https.createServer({ key: readFileSync(path.join(dir, 'k.pem')), cert: readFileSync(path.join(dir, 'c.pem')) }, (_req: http.IncomingMessage, res: http.ServerResponse) => res.end('OK'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  test('refused by default with a hint, accepted with the per-door opt-in', async () => {
    const strict = new HttpClient({ timeoutMs: 2000 });
    const err = await strict.request({ method: 'GET', url: `https://127.0.0.1:${port}/` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).kind).toBe('tls');
    expect(says(err as HttpError)).toMatch(/TLS certificate of 127\.0\.0\.1:\d+ not trusted \(.+\); enable "accept self-signed certificate"/);
    const lax = new HttpClient({ timeoutMs: 2000, insecureTls: true });
    expect((await lax.request({ method: 'GET', url: `https://127.0.0.1:${port}/` })).status).toBe(200);
  });
});
