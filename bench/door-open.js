'use strict';
// Door open latency: msg in -> request arriving at the device, p50/p99, next to a plain
// node:http request to the same kind of server as the floor. Three paths, interleaved in
// one run: the floor, the core opener (nodes/lib/door), and the whole Node-RED node
// (intercom-door-open + intercom-door in a real runtime via node-red-node-test-helper).
// Device: a digest (MD5, qop=auth) endpoint like Hikvision's, on 127.0.0.1.
const http = require('node:http');
const crypto = require('node:crypto');
const path = require('node:path');

const N = Number(process.env.N || 300);
const dist = path.join(__dirname, '..', 'dist', 'nodes');
const { DoorOpener } = require(path.join(dist, 'lib/door/opener.js'));
const { figure } = require('./_report');
const ROUNDS = Number(process.env.ROUNDS || 3);

const user = 'admin';
const password = 'pw';
const realm = 'door';
const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');
const nonces = new Set();
let arrived = null; // resolve of the request being timed

const server = http.createServer((req, res) => {
  const t = process.hrtime.bigint();
  const auth = req.headers.authorization || '';
  const p = Object.fromEntries([...auth.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1], m[2]]));
  const ok =
    req.url === '/plain' ||
    (nonces.has(p.nonce) &&
      p.response === md5(`${md5(`${user}:${realm}:${password}`)}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${md5(`${req.method}:${p.uri}`)}`));
  req.resume();
  req.on('end', () => {
    if (!ok) {
      const nonce = crypto.randomBytes(8).toString('hex');
      nonces.add(nonce);
      res.writeHead(401, { 'www-authenticate': `Digest realm="${realm}", qop="auth", nonce="${nonce}", algorithm=MD5` });
      return res.end();
    }
    if (arrived) arrived(t);
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end('<ResponseStatus><statusCode>1</statusCode></ResponseStatus>');
  });
});

// Time from start() to the request's arrival at the device; then wait until start()'s
// own work is done (response read, node output sent) before the next sample.
async function timed(start) {
  let done;
  const at = new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    arrived = (t) => {
      arrived = null;
      resolve(Number(t - t0) / 1e6);
    };
    done = start();
  });
  const ms = await at;
  await done;
  return ms;
}

function plain(port) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/plain', method: 'PUT', agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end('<RemoteControlDoor><cmd>open</cmd></RemoteControlDoor>');
  });
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main() {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const base = `http://127.0.0.1:${port}`;
  const opener = new DoorOpener({ doorId: 'b', doorName: 'B', action: { kind: 'preset', preset: 'hikvision', baseUrl: base }, credentials: { user, password }, minIntervalMs: 0 });

  // The whole node in a Node-RED runtime.
  const helper = require('node-red-node-test-helper');
  helper.init(require.resolve('node-red'));
  await new Promise((r) => helper.startServer(r));
  const flow = [
    { id: 'd', type: 'intercom-door', name: 'Bench', openKind: 'preset', preset: 'hikvision', host: base, minInterval: 0 },
    { id: 'o', type: 'intercom-door-open', door: 'd', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];
  await helper.load([require(path.join(dist, 'intercom-door.js')), require(path.join(dist, 'intercom-door-open.js'))], flow, { d: { user, password } });
  const node = helper.getNode('o');
  const out = helper.getNode('out');
  let outputs = 0;
  let onOutput = null;
  out.on('input', () => {
    outputs++;
    if (onOutput) onOutput();
  });
  const viaNode = () =>
    new Promise((resolve) => {
      onOutput = resolve;
      node.receive({ payload: 'open' });
    });

  // warm up (JIT, first digest challenge)
  for (let i = 0; i < 20; i++) {
    await timed(() => plain(port));
    await timed(() => opener.open());
    await timed(viaNode);
  }
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const floor = [];
    const core = [];
    const full = [];
    for (let i = 0; i < N; i++) {
      floor.push(await timed(() => plain(port)));
      core.push(await timed(() => opener.open()));
      full.push(await timed(viaNode));
    }
    rounds.push({ floor, core, full });
  }
  const row = (name, xs) => console.log(`${name.padEnd(34)} p50 ${pct(xs, 50).toFixed(3)} ms  p99 ${pct(xs, 99).toFixed(3)} ms`);
  console.log(`door open latency, msg in -> request at the device, ${ROUNDS} rounds of n=${N} each, digest MD5 device on loopback`);
  rounds.forEach((x, r) => {
    console.log(`round ${r + 1}`);
    row('plain node:http request (floor)', x.floor);
    row('core DoorOpener (digest)', x.core);
    row('intercom-door-open node (digest)', x.full);
  });
  const per = (k, p) => rounds.map((x) => pct(x[k], p));
  for (const p of [50, 99]) {
    figure({
      id: `latency-p${p}`,
      title: `door open: msg in → request at a digest device, p${p} (n=${N} per round)`,
      unit: 'ms',
      better: 'lower',
      ours: per('full', p),
      against: [{ name: 'floor: plain node:http request', kind: 'floor', values: per('floor', p) }],
      note: `core DoorOpener alone: ${per('core', p).map((x) => x.toFixed(2)).join(' / ')} ms`,
      summary: p === 50,
    });
  }
  if (outputs < N * ROUNDS) console.log(`warning: only ${outputs} node outputs seen`);
  await opener.close();
  await helper.unload();
  await new Promise((r) => helper.stopServer(r));
  server.closeAllConnections();
  server.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
