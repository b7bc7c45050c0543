/**
 * The three door nodes in a real Node-RED runtime (node-red-node-test-helper), talking to
 * loopback servers: what a flow author sees on the output and in the status.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { getNode, helper, nextMessage } from '../helpers/node-red';
import { startServer, startVendor, type VendorServer } from '../peer/door-vendors';
import { which } from '../helpers/peers';
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import snapshotNode = require('../../nodes/intercom-snapshot');

// A 16x8 JPEG made by ffmpeg (lavfi color source).
const JPEG = Buffer.from('/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgUFBcUFxsbGxsbGyAeICEhISAgICAhISEkJCQqKiokJCQhISQkKCgqKi4vLisrKisvLzIyMjw8OTlGRkhWVmf/xABMAAEBAAAAAAAAAAAAAAAAAAAABwEBAQAAAAAAAAAAAAAAAAAABQcQAQAAAAAAAAAAAAAAAAAAAAARAQAAAAAAAAAAAAAAAAAAAAD/wAARCAAIABADASIAAhEAAxEA/9oADAMBAAIRAxEAPwCOAL+Lf//Z', 'base64');
const nodes = [doorNode, doorOpenNode, snapshotNode];
const creds = { user: 'admin', password: 'door-pw' };

describe('intercom-door-open / intercom-snapshot nodes', () => {
  let servers: VendorServer[] = [];
  let dir: string;
  beforeEach((done) => {
    dir = mkdtempSync(path.join(tmpdir(), 'door-node-'));
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
    rmSync(dir, { recursive: true, force: true });
  });

  test('opens a Shelly relay with credentials from the credential store and reports ok', async () => {
    const shelly = await startVendor('shelly-gen1', creds);
    servers.push(shelly);
    const flow = [
      { id: 'd1', type: 'intercom-door', name: 'Garden gate', openKind: 'preset', preset: 'shelly-gen1', host: shelly.url, relay: 1, pulse: 3, minInterval: 0 },
      { id: 'o1', type: 'intercom-door-open', door: 'd1', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(nodes, flow, { d1: creds });
    const got = nextMessage(getNode('out'));
    getNode('o1').receive({ topic: 'open', payload: 'go', call: { id: 42 } });
    const msg = await got;
    expect(msg.payload).toBe('ok');
    expect(msg.door).toMatchObject({ id: 'garden_gate', name: 'Garden gate', attempts: 1, status: 200, outcome: 'ok' });
    expect(typeof msg.door.latencyMs).toBe('number');
    expect(shelly.opens.map((h) => h.url)).toEqual(['/relay/0?turn=on&timer=3']);
  });

  test('a wrong password is a failed result on the output, with the reason', async () => {
    const hik = await startVendor('hikvision', creds);
    servers.push(hik);
    const flow = [
      { id: 'd1', type: 'intercom-door', name: 'Front', doorId: 'front', openKind: 'preset', preset: 'hikvision', host: hik.url, retries: 3 },
      { id: 'o1', type: 'intercom-door-open', door: 'd1', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(nodes, flow, { d1: { user: 'admin', password: 'guess' } });
    const got = nextMessage(getNode('out'));
    getNode('o1').receive({ payload: 1 });
    const msg = await got;
    expect(msg.payload).toBe('failed');
    expect(msg.door).toMatchObject({ id: 'front', status: 401, attempts: 1, outcome: 'failed' });
    expect(msg.door.error).toMatch(/authentication refused/);
    expect(hik.hits.length).toBeLessThanOrEqual(2);
  });

  test('a DTMF door without the SIP side: failed, unavailable, and it says why', async () => {
    const flow = [
      { id: 'd1', type: 'intercom-door', name: 'Panel door', openKind: 'dtmf', digits: '9' },
      { id: 'o1', type: 'intercom-door-open', door: 'd1', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(nodes, flow);
    const got = nextMessage(getNode('out'));
    getNode('o1').receive({ call: { id: 'c1' } });
    const msg = await got;
    expect(msg.payload).toBe('failed');
    expect(msg.door.outcome).toBe('unavailable');
    expect(msg.door.error).toMatch(/no DTMF sender available/);
  });

  test('confirm by event: a confirm message completes the open in flight', async () => {
    const srv = await startServer((_q, _b, res) => res.end('OK'));
    servers.push(srv);
    const flow = [
      { id: 'd1', type: 'intercom-door', name: 'Gate', openKind: 'http', method: 'POST', url: srv.url + '/open', body: '{"who":"{{msg.call.from.user}}"}', headers: '{"content-type":"application/json"}', confirm: 'event', confirmTimeout: 2000 },
      { id: 'o1', type: 'intercom-door-open', door: 'd1', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(nodes, flow);
    const got = nextMessage(getNode('out'));
    getNode('o1').receive({ call: { id: 'c1', from: { user: '2"01' } } });
    setTimeout(() => getNode('o1').receive({ topic: 'confirm' }), 100);
    const msg = await got;
    expect(msg.payload).toBe('ok');
    expect(JSON.parse(srv.hits[0].body)).toEqual({ who: '2"01' });
  });

  test('a bad door configuration fails closed with a readable reason', async () => {
    const flow = [
      { id: 'd1', type: 'intercom-door', name: 'Broken', openKind: 'preset', preset: 'no-such-vendor', host: 'http://127.0.0.1:1' },
      { id: 'o1', type: 'intercom-door-open', door: 'd1', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(nodes, flow);
    const got = nextMessage(getNode('out'));
    getNode('o1').receive({});
    const msg = await got;
    expect(msg.payload).toBe('failed');
    expect(msg.door.error).toBe('door not usable: Device must be one of 2n, bas-ip, hikvision, dahua, akuvox, doorbird, grandstream-gds, beward, shelly-gen1, shelly-gen2, got "no-such-vendor"');
  });

  test.each([
    [{ host: 'ftp://192.168.1.50' }, 'Device URL must be a URL (http://, https://...), not "ftp://192.168.1.50"'],
    [{ host: 'http://192.168.1.50/cgi-bin/x' }, 'Device URL must be only scheme://host[:port], without a path: "http://192.168.1.50/cgi-bin/x"'],
    [{ openKind: 'http', url: 'htp:/bad url' }, 'URL must be a URL (http://, https://...), not "htp:/bad url"'],
    [{ openKind: 'http', url: 'http://10.0.0.1/', headers: '["x"]' }, 'Headers must be a JSON object such as {"X-Key": "value"}'],
    [{ openKind: 'mqtt', mqttVia: 'url', broker: 'localhost:1883', topic: 'gate/set' }, 'Broker URL must be a URL (mqtt://, mqtts://, ws://, wss://, tcp://...), not "localhost:1883"'],
    [{ openKind: 'ha', haService: 'open the lock' }, 'Service must be a Home Assistant service such as lock.open, not "open the lock"'],
    [{ relay: 99 }, 'Relay must be a whole number from 1 to 16, got "99"'],
    [{ timeout: '50' }, 'Timeout must be a number from 200 to 60000, got "50"'],
    [{ confirm: 'poll', confirmUrl: 'http://x/state' }, 'Open when must be set'],
  ])('a bad setting is red at deploy with the whole message, on the door and on the nodes using it (%j)', async (bad, problem) => {
    const flow = [
      { id: 'd1', type: 'intercom-door', name: 'Gate', openKind: 'preset', preset: 'shelly-gen1', host: 'http://127.0.0.1:1', ...bad },
      { id: 'o1', type: 'intercom-door-open', door: 'd1', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(nodes, flow);
    const errors = (getNode('d1').error as unknown as { args: unknown[][] }).args.map((a) => String(a[0]));
    expect(errors).toEqual([`door "Gate" not usable: ${problem}`]);
    const status = (getNode('o1').status as unknown as { args: Array<Array<Record<string, string>>> }).args.at(-1)?.[0];
    expect(status).toEqual({ fill: 'red', shape: 'ring', text: `door not usable: ${problem}` });
    const got = nextMessage(getNode('out'));
    getNode('o1').receive({});
    expect((await got).door).toMatchObject({ outcome: 'failed', attempts: 0, error: `door not usable: ${problem}` });
  });

  test('a door-open node without a door reports an error, no output', async () => {
    await helper.load(nodes, [{ id: 'o1', type: 'intercom-door-open', wires: [[]] }]);
    const n = getNode('o1');
    const err = new Promise<string>((resolve) => n.on('call:error', (c: { args: unknown[] }) => resolve(String(c.args[0]))));
    n.receive({});
    expect(await err).toMatch(/no intercom-door configured/);
  });

  test('ring prefetches; two snapshot nodes of one ring share one grab; file and data URL on request', async () => {
    const cam = await startServer((req, _b, res) => {
      if (req.headers.authorization !== 'Basic ' + Buffer.from('admin:door-pw').toString('base64')) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="cam"' });
        return void res.end();
      }
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      setTimeout(() => res.end(JPEG), 50);
    });
    servers.push(cam);
    const flow = [
      { id: 'd1', type: 'intercom-door', name: 'Front', openKind: 'mqtt', broker: 'mqtt://127.0.0.1:1', topic: 'x', camera: 'http', snapshotUrl: cam.url + '/snap.jpg', snapshotCache: 5000 },
      { id: 's1', type: 'intercom-snapshot', door: 'd1', dir, dataUrl: true, wires: [['out1']] },
      { id: 's2', type: 'intercom-snapshot', door: 'd1', maxAge: '', wires: [['out2']] },
      { id: 'out1', type: 'helper' },
      { id: 'out2', type: 'helper' },
    ];
    await helper.load(nodes, flow, { d1: creds });
    getNode('s1').receive({ topic: 'ring' });
    const a = nextMessage(getNode('out1'));
    getNode('s1').receive({ topic: 'notify' });
    const m1 = await a;
    // asked after the grab finished: served from the door's cache (empty max. age = door default)
    const b = nextMessage(getNode('out2'));
    getNode('s2').receive({ topic: 'journal' });
    const m2 = await b;
    expect(Buffer.isBuffer(m1.payload)).toBe(true);
    expect((m1.payload as Buffer).equals(JPEG)).toBe(true);
    expect(m1.snapshot).toMatchObject({ door: 'front', width: 16, height: 8, bytes: JPEG.length, shared: true });
    expect(m2.snapshot.shared).toBe(true);
    expect(m1.snapshot.dataUrl).toBe('data:image/jpeg;base64,' + JPEG.toString('base64'));
    expect(existsSync(m1.filename)).toBe(true);
    expect(readFileSync(m1.filename).equals(JPEG)).toBe(true);
    // one 401 challenge + one authorised grab, for three asks
    expect(cam.hits.filter((h) => h.headers.authorization)).toHaveLength(1);
  });

  test('ffmpeg missing: the snapshot node says so in its status and fails clearly', async () => {
    const flow = [
      { id: 'd1', type: 'intercom-door', name: 'Front', openKind: 'dtmf', digits: '9', camera: 'rtsp', rtspUrl: 'rtsp://127.0.0.1:1/x', ffmpegPath: '/nonexistent/ffmpeg' },
      { id: 's1', type: 'intercom-snapshot', door: 'd1', wires: [[]] },
    ];
    await helper.load(nodes, flow);
    const s = getNode('s1');
    // the status was set while the node started; the helper records every call
    const calls = (s.status as unknown as { args: Array<Array<Record<string, string>>> }).args;
    expect(calls[calls.length - 1][0]).toMatchObject({ fill: 'red' });
    expect(calls[calls.length - 1][0].text).toMatch(/ffmpeg not found/);
    const err = new Promise<string>((resolve) => s.on('call:error', (c: { args: unknown[] }) => resolve(String(c.args[0]))));
    s.receive({});
    expect(await err).toMatch(/snapshot of Front failed: ffmpeg not found \(\/nonexistent\/ffmpeg\)/);
  });

  (which('ffmpeg') ? test : test.skip)('redeploy during an RTSP grab kills ffmpeg before close completes', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => sockets.push(sock)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const flow = [
      { id: 'd1', type: 'intercom-door', name: 'Front', openKind: 'dtmf', digits: '9', camera: 'rtsp', rtspUrl: `rtsp://127.0.0.1:${port}/door`, snapshotTimeout: 30000 },
      { id: 's1', type: 'intercom-snapshot', door: 'd1', wires: [[]] },
    ];
    await helper.load(nodes, flow);
    getNode('s1').receive({ topic: 'ring' });
    const children = (): number => {
      try {
        return execFileSync('pgrep', ['-P', String(process.pid), 'ffmpeg'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
      } catch {
        return 0;
      }
    };
    expect(children()).toBe(1);
    await helper.unload();
    expect(children()).toBe(0);
    for (const sock of sockets) sock.destroy();
    await new Promise((r) => silent.close(r));
  });
});
