'use strict';
// Ring-to-answer latency of real visitor calls while a second sipp floods the SIP port with
// ~5,000 junk packets a second (OPTIONS probes, REGISTER guesses, broken INVITEs — what
// internet scanners send), for our user agent and for baresip (auto-answer) in one run,
// with the event-loop lag Node-RED would see. Usage: npm run bench sip-flood
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const dgram = require('node:dgram');
const { SipAccount } = require('../dist/nodes/lib/sip/account');
const { createRtpMediaFactory } = require('../dist/nodes/lib/media/call-media');

const JUNK_PPS = Number(process.env.SIP_FLOOD_PPS || 5000);
const CALLS = Number(process.env.SIP_FLOOD_CALLS || 60);
const SCEN = path.join(__dirname, 'sip');

function freePort() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      const t = net.createServer();
      t.once('error', () => s.close(() => resolve(freePort())));
      t.listen(p, '127.0.0.1', () => t.close(() => s.close(() => resolve(p))));
    });
  });
}
const which = (p) => (process.env.PATH || '').split(':').some((d) => fs.existsSync(path.join(d, p)));

/** Visitor calls at 10/s from a separate process; returns ok/failed and INVITE→200 times. */
function visitors(port) {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path.join(SCEN, '_visitor.js'), String(port), String(CALLS), '100'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', () => {
      const r = JSON.parse(out);
      const sorted = r.rtdMs.sort((x, y) => x - y);
      resolve({ ok: r.ok, failed: r.failed, rtd: sorted[Math.floor(sorted.length / 2)] || NaN, rtd95: sorted[Math.floor(sorted.length * 0.95)] || NaN });
    });
  });
}

async function flood(port) {
  const local = await freePort();
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sipp-junk-'));
  // each scenario "call" sends three packets
  const child = spawn('sipp', ['-sf', path.join(SCEN, 'junk.xml'), '-i', '127.0.0.1', '-p', String(local), '-r', String(Math.round(JUNK_PPS / 3)), '-nostdin', '-m', '100000000', `127.0.0.1:${port}`], { cwd, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  return () => {
    child.kill('SIGKILL');
    fs.rmSync(cwd, { recursive: true, force: true });
  };
}

async function withLag(fn) {
  const lags = [];
  let last = process.hrtime.bigint();
  const probe = setInterval(() => {
    const now = process.hrtime.bigint();
    lags.push(Math.max(0, Number(now - last) / 1e6 - 10));
    last = now;
  }, 10);
  const r = await fn();
  clearInterval(probe);
  lags.sort((a, b) => a - b);
  return { ...r, lagP99: lags[Math.floor(lags.length * 0.99)] || 0, lagMax: lags[lags.length - 1] || 0 };
}

async function ours(flooded) {
  const port = await freePort();
  const acc = new SipAccount({ name: 'bench', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1' }, { mediaFactory: createRtpMediaFactory() });
  await acc.start();
  acc.on('call', (c) => c.answer().catch(() => undefined));
  const stop = flooded ? await flood(port) : () => undefined;
  const before = { ...acc.endpoint.transport.stats };
  const r = await withLag(() => visitors(port));
  const t = acc.endpoint.transport.stats;
  stop();
  await acc.close();
  return { ...r, junk: t.received - before.received, badRequest: t.badRequest - before.badRequest };
}

async function baresip(flooded) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baresip-flood-'));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'config'), [`sip_listen 127.0.0.1:${port}`, 'net_interface 127.0.0.1', 'module_path /usr/lib/baresip/modules', 'module g711.so', 'module account.so', 'audio_player aubridge,nil', 'audio_source aubridge,nil', 'call_max_calls 100', ''].join('\n'));
  fs.writeFileSync(path.join(dir, 'accounts'), '<sip:door@127.0.0.1>;regint=0;answermode=auto\n');
  const child = spawn('baresip', ['-f', dir], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 800));
  const stop = flooded ? await flood(port) : () => undefined;
  const r = await visitors(port);
  stop();
  child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
  return r;
}

(async () => {
  if (!which('sipp') || !which('baresip')) {
    console.log('sip-flood: needs sipp and baresip on PATH (see PEERS.md); skipped');
    return;
  }
  console.log(`${CALLS} visitor calls at 10/s (INVITE→200 timed by a separate visitor process), flood ${JUNK_PPS} junk packets/s, loopback UDP`);
  const q = await ours(false);
  const a = await ours(true);
  const b = await baresip(true);
  const f = (x) => x.toFixed(1);
  console.log(`ours, quiet     : ring-to-answer median ${f(q.rtd)} ms p95 ${f(q.rtd95)} ms, ok ${q.ok}/${CALLS}, failed ${q.failed}, event-loop lag p99 ${f(q.lagP99)} ms max ${f(q.lagMax)} ms`);
  console.log(`ours, flooded   : ring-to-answer median ${f(a.rtd)} ms p95 ${f(a.rtd95)} ms, ok ${a.ok}/${CALLS}, failed ${a.failed}, event-loop lag p99 ${f(a.lagP99)} ms max ${f(a.lagMax)} ms, ${a.junk} packets in, ${a.badRequest} answered 400`);
  console.log(`baresip, flooded: ring-to-answer median ${f(b.rtd)} ms p95 ${f(b.rtd95)} ms, ok ${b.ok}/${CALLS}, failed ${b.failed}`);
  if (a.failed > 0 || q.failed > 0) process.exitCode = 1;
  console.log(`ratio median ring-to-answer ours/baresip under flood: ${(a.rtd / Math.max(b.rtd, 0.001)).toFixed(2)} (lower is better)`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
