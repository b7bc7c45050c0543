'use strict';
/**
 * Media benchmark, ours vs baresip in the same run:
 *  1. DTMF latency: RFC 4733 end packet sent on loopback → digit reported
 *     (ours: the 'dtmf' event of our call media; baresip: CALL_DTMF_END on ctrl_tcp).
 *  2. CPU per call: N concurrent calls, each with a 20 ms PCMU stream in and one out,
 *     process CPU (utime+stime from /proc) over a steady window, divided by N.
 * Env: CALLS (default 20), SECONDS (default 6), PRESSES (default 100), ROUNDS (3), INBAND (auto/off),
 * PROF=<dir> writes a CPU profile of our media process there.
 */
const dgram = require('node:dgram');
const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { createRtpMediaFactory } = require('../dist/nodes/lib/media/call-media');
const { parseSdp } = require('../dist/nodes/lib/media/sdp');
const { buildRtp } = require('../dist/nodes/lib/media/rtp');
const { buildTelephoneEvent } = require('../dist/nodes/lib/media/rfc4733');
const { figure } = require('./_report');

const CALLS = Number(process.env.CALLS || 20);
const SECONDS = Number(process.env.SECONDS || 6);
const PRESSES = Number(process.env.PRESSES || 100);
const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function have(p) {
  try {
    execFileSync('sh', ['-c', `command -v ${p}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(parts[11]) + Number(parts[12]); // utime + stime
}
async function udp() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  return s;
}
function offerFor(port) {
  return ['v=0', `o=bench 1 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
}
function remoteOf(sdp) {
  const d = parseSdp(sdp);
  const m = d.media.find((x) => x.type === 'audio');
  return { address: (m.connection || d.connection).address, port: m.port };
}

/** Sends a 20 ms PCMU stream from each socket to its target; counts what comes back. */
function startLoad(legs) {
  let seq = 0;
  const payload = Buffer.alloc(160, 0xff);
  for (const l of legs) {
    l.received = 0;
    l.sock.on('message', () => l.received++);
  }
  const t0 = Date.now();
  let n = 0;
  let stop = false;
  const tick = () => {
    if (stop) return;
    for (const l of legs) l.sock.send(buildRtp({ payloadType: 0, sequence: seq & 0xffff, timestamp: seq * 160, ssrc: l.ssrc }, payload), l.target.port, l.target.address);
    seq++;
    n++;
    setTimeout(tick, Math.max(0, t0 + n * 20 - Date.now()));
  };
  tick();
  return () => {
    stop = true;
  };
}

/** Time from the first end packet of a press to `wait()` resolving. */
async function latency(sock, target, wait) {
  const samples = [];
  let seq = 1000;
  let ts = 0;
  for (let i = 0; i < PRESSES; i++) {
    ts += 8000;
    const event = i % 10;
    sock.send(buildRtp({ payloadType: 101, sequence: seq++, timestamp: ts, ssrc: 77, marker: true }, buildTelephoneEvent({ event, end: false, volume: 10, duration: 160 })), target.port, target.address);
    await sleep(20);
    const got = wait();
    const t = process.hrtime.bigint();
    for (let k = 0; k < 3; k++) sock.send(buildRtp({ payloadType: 101, sequence: seq++, timestamp: ts, ssrc: 77 }, buildTelephoneEvent({ event, end: true, volume: 10, duration: 800 })), target.port, target.address);
    const ok = await Promise.race([got.then(() => true), sleep(1000).then(() => false)]);
    if (ok) samples.push(Number(process.hrtime.bigint() - t) / 1e6);
    await sleep(10);
  }
  samples.sort((a, b) => a - b);
  return { n: samples.length, p50: pct(samples, 50), p99: pct(samples, 99) };
}

async function oursLatency() {
  const media = createRtpMediaFactory({ rtcpIntervalMs: 0 }).create({ callId: 'lat', direction: 'inbound', localAddress: '127.0.0.1' });
  const sock = await udp();
  const target = remoteOf(await media.answer(offerFor(sock.address().port)));
  const r = await latency(sock, target, () => new Promise((res) => media.once('dtmf', res)));
  await media.close();
  sock.close();
  return r;
}

async function oursCpu() {
  const child = spawn(process.execPath, [...(process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.PROF] : []), path.join(__dirname, '_media-server.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const legs = [];
  for (let i = 0; i < CALLS; i++) {
    const sock = await udp();
    child.stdin.write(JSON.stringify({ offer: offerFor(sock.address().port) }) + '\n');
    while (lines.length <= i) await sleep(5);
    legs.push({ sock, target: remoteOf(lines[i].answer), ssrc: 1000 + i });
  }
  const r = await measure(child.pid, legs);
  child.stdin.write('close\n');
  await new Promise((res) => child.once('exit', res));
  legs.forEach((l) => l.sock.close());
  return r;
}

async function measure(pid, legs) {
  const stop = startLoad(legs);
  await sleep(1500); // warm up
  const c0 = cpuTicks(pid);
  const t0 = Date.now();
  const r0 = legs.reduce((s, l) => s + l.received, 0);
  await sleep(SECONDS * 1000);
  const cpu = ((cpuTicks(pid) - c0) / TICKS / ((Date.now() - t0) / 1000)) * 100;
  const pps = (legs.reduce((s, l) => s + l.received, 0) - r0) / ((Date.now() - t0) / 1000) / legs.length;
  stop();
  return { cpuTotal: cpu, cpuPerCall: cpu / legs.length, ppsOutPerCall: pps };
}

// ---- baresip --------------------------------------------------------------------------

async function freePort() {
  const s = await udp();
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}

async function startBaresip(dir) {
  const sipPort = await freePort();
  const ctrlPort = await freePort();
  const voice = path.join(dir, 'voice.wav');
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', voice, 'synth', '60', 'sine', '300', 'vol', '0.05']);
  fs.writeFileSync(path.join(dir, 'config'), [
    `sip_listen 127.0.0.1:${sipPort}`, 'net_interface 127.0.0.1', 'module_path /usr/lib/baresip/modules',
    'module g711.so', 'module aufile.so', 'module aubridge.so', 'module_app account.so', 'module_app menu.so',
    'module ctrl_tcp.so', `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`, `audio_source aufile,${voice}`,
    'audio_player aubridge,nil', `call_max_calls ${CALLS + 4}`, 'rtp_ports 40000-49998', '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'accounts'), `<sip:phone@127.0.0.1:${sipPort}>;regint=0;answermode=auto\n`);
  const child = spawn('baresip', ['-f', dir], { stdio: 'ignore' });
  let sock;
  for (let i = 0; i < 100 && !sock; i++) {
    await sleep(100);
    sock = await new Promise((res) => {
      const s = net.connect(ctrlPort, '127.0.0.1', () => res(s));
      s.once('error', () => res(undefined));
    });
  }
  if (!sock) throw new Error('baresip did not start');
  const events = [];
  let b = '';
  sock.on('data', (d) => {
    b += d;
    for (;;) {
      const c = b.indexOf(':');
      if (c < 0) break;
      const len = Number(b.slice(0, c));
      if (b.length < c + len + 2) break;
      try {
        const e = JSON.parse(b.slice(c + 1, c + 1 + len));
        events.push(e);
        sock.emit('event', e);
      } catch {
        /* not JSON */
      }
      b = b.slice(c + len + 2);
    }
  });
  return { child, sipPort, sock, events };
}

/** A minimal UAC: INVITE with an offer for `mediaPort`, ACK the 200, return the answer. */
async function invite(sip, baresipPort, mediaPort) {
  const callId = randomBytes(8).toString('hex');
  const tag = randomBytes(4).toString('hex');
  const me = sip.address().port;
  const uri = `sip:phone@127.0.0.1:${baresipPort}`;
  const req = (method, cseq, body, toTag) => [
    `${method} ${uri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70', `From: <sip:bench@127.0.0.1:${me}>;tag=${tag}`, `To: <${uri}>${toTag ? ';tag=' + toTag : ''}`,
    `Call-ID: ${callId}`, `CSeq: ${cseq} ${method}`, `Contact: <sip:bench@127.0.0.1:${me}>`,
    ...(body ? ['Content-Type: application/sdp'] : []), `Content-Length: ${Buffer.byteLength(body || '')}`, '', body || '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('baresip did not answer')), 5000);
    const onMsg = (m) => {
      const t = m.toString();
      if (!t.includes(`Call-ID: ${callId}`) && !t.includes(`i: ${callId}`)) return;
      if (!t.startsWith('SIP/2.0 2') || !/CSeq: 1 INVITE/i.test(t)) return;
      const toTag = /^(?:To|t):.*;tag=([^;\s>]+)/im.exec(t)[1];
      sip.send(req('ACK', 1, '', toTag), baresipPort, '127.0.0.1');
      sip.off('message', onMsg);
      clearTimeout(timer);
      resolve({ answer: t.slice(t.indexOf('\r\n\r\n') + 4), bye: () => sip.send(req('BYE', 2, '', toTag), baresipPort, '127.0.0.1') });
    };
    sip.on('message', onMsg);
    sip.send(req('INVITE', 1, offerFor(mediaPort)), baresipPort, '127.0.0.1');
  });
}

async function baresipRun() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-baresip-'));
  const bs = await startBaresip(dir);
  const sip = await udp();
  const legs = [];
  try {
    for (let i = 0; i < CALLS; i++) {
      const sock = await udp();
      const call = await invite(sip, bs.sipPort, sock.address().port);
      legs.push({ sock, target: remoteOf(call.answer), ssrc: 2000 + i, bye: call.bye });
    }
    await sleep(500);
    const cpu = await measure(bs.child.pid, legs);
    // latency on the first call: baresip reports CALL_DTMF_END on ctrl_tcp
    const lat = await latency(legs[0].sock, legs[0].target, () => new Promise((res) => {
      const on = (e) => {
        if (e.type === 'CALL_DTMF_END') {
          bs.sock.off('event', on);
          res();
        }
      };
      bs.sock.on('event', on);
    }));
    return { cpu, lat };
  } finally {
    legs.forEach((l) => l.bye && l.bye());
    await sleep(200);
    legs.forEach((l) => l.sock.close());
    sip.close();
    bs.sock.destroy();
    bs.child.kill('SIGTERM');
    await sleep(300);
    if (bs.child.exitCode === null) bs.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  const ROUNDS = Number(process.env.ROUNDS || 3);
  console.log(`media-dtmf: ${CALLS} calls, ${SECONDS} s window, ${PRESSES} presses, ${ROUNDS} rounds of ours then baresip`);
  const peerOk = have('baresip') && have('sox');
  const r = { lat50: [], lat99: [], cpu: [], bLat50: [], bLat99: [], bCpu: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const lat = await oursLatency();
    console.log(`round ${i + 1} ours     DTMF end packet → event: p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms (${lat.n} presses)`);
    const cpu = await oursCpu();
    console.log(`round ${i + 1} ours     CPU: ${cpu.cpuTotal.toFixed(1)} % total, ${cpu.cpuPerCall.toFixed(2)} % per call; ${cpu.ppsOutPerCall.toFixed(1)} packets/s sent per call`);
    r.lat50.push(lat.p50);
    r.lat99.push(lat.p99);
    r.cpu.push(cpu.cpuPerCall);
    if (!peerOk) continue;
    const peer = await baresipRun();
    console.log(`round ${i + 1} baresip  DTMF end packet → CALL_DTMF_END: p50 ${peer.lat.p50.toFixed(2)} ms, p99 ${peer.lat.p99.toFixed(2)} ms (${peer.lat.n} presses)`);
    console.log(`round ${i + 1} baresip  CPU: ${peer.cpu.cpuTotal.toFixed(1)} % total, ${peer.cpu.cpuPerCall.toFixed(2)} % per call; ${peer.cpu.ppsOutPerCall.toFixed(1)} packets/s sent per call`);
    r.bLat50.push(peer.lat.p50);
    r.bLat99.push(peer.lat.p99);
    r.bCpu.push(peer.cpu.cpuPerCall);
  }
  if (!peerOk) console.log('baresip/sox not installed: no peer ratio');
  const vs = (values) => (peerOk ? [{ name: 'baresip 1.0', values }] : []);
  figure({ id: 'dtmf-p50', title: 'RFC 4733 end packet → digit, p50', unit: 'ms', better: 'lower', ours: r.lat50, against: vs(r.bLat50), summary: true });
  figure({ id: 'dtmf-p99', title: 'RFC 4733 end packet → digit, p99', unit: 'ms', better: 'lower', ours: r.lat99, against: vs(r.bLat99) });
  figure({ id: 'cpu-per-call', title: `CPU per call, ${CALLS} calls with 20 ms G.711 both ways (% of one core)`, unit: '%', better: 'lower', ours: r.cpu, against: vs(r.bCpu), summary: true });
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
