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
// SIP_FLOOD_DIST=<dir>/dist measures another build (the figures before a change) with the same harness.
const DIST = process.env.SIP_FLOOD_DIST ? path.resolve(process.env.SIP_FLOOD_DIST) : path.join(__dirname, '..', 'dist');
const { SipAccount } = require(path.join(DIST, 'nodes/lib/sip/account'));
const { createRtpMediaFactory } = require(path.join(DIST, 'nodes/lib/media/call-media'));
const MODE = process.env.SIP_FLOOD_MODE || 'all'; // junk | range | log | all

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

async function junkBench() {
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
}

// ---- the allowed-range flood (issue #13, point 1) ------------------------------------------
// A scanner inside the allowed sources sends INVITEs with SDP to a new user each, never ACKed,
// at RANGE_PPS for RANGE_SECONDS, while a real panel (baresip) calls the door PANEL_CALLS times.
// The door is ours (P2P, allowed 127.0.0.0/8, a flow that answers every call, as in the issue)
// or baresip with auto-answer, under the same flood. Counted: panel calls answered within 5 s.
const RANGE_PPS = Number(process.env.SIP_RANGE_PPS || 5000);
const RANGE_SECONDS = Number(process.env.SIP_RANGE_SECONDS || 20);
const PANEL_CALLS = Number(process.env.SIP_PANEL_CALLS || 5);
const REPEAT = Number(process.env.SIP_FLOOD_REPEAT || 1);

function inviteFlood(port, fromAddress) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sipp-range-'));
  const child = spawn('sipp', ['-sf', path.join(SCEN, 'invite-flood.xml'), '-i', fromAddress, '-p', '0', '-r', String(RANGE_PPS), '-l', '100000000', '-m', String(RANGE_PPS * RANGE_SECONDS), '-nostdin', `127.0.0.1:${port}`], { cwd, stdio: 'ignore' });
  const done = new Promise((r) => child.once('exit', r));
  return {
    done,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done;
      fs.rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/** The panel: baresip dialling the door; resolves with how many of its calls were answered within 5 s. */
async function panelCalls(panel, target, spacingMs) {
  let answered = 0;
  const times = [];
  for (let i = 0; i < PANEL_CALLS; i++) {
    const t0 = Date.now();
    const from = panel.events.length;
    await panel.command('dial', target);
    const ev = await waitEvent(panel, from, ['CALL_ESTABLISHED', 'CALL_CLOSED'], 5000);
    if (ev && ev.type === 'CALL_ESTABLISHED') {
      answered++;
      times.push(Date.now() - t0);
    }
    const after = panel.events.length;
    await panel.command('hangup');
    if (!ev || ev.type !== 'CALL_CLOSED') await waitEvent(panel, after, ['CALL_CLOSED'], 3000);
    const rest = spacingMs - (Date.now() - t0);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  }
  return { answered, times };
}

function waitEvent(panel, from, types, ms) {
  return new Promise((resolve) => {
    const end = Date.now() + ms;
    const tick = () => {
      const ev = panel.events.slice(from).find((e) => types.includes(e.type));
      if (ev || Date.now() > end) return resolve(ev);
      setTimeout(tick, 20);
    };
    tick();
  });
}

function countingLogger() {
  const lines = { warn: 0, info: 0, bytes: 0 };
  const count = (level) => (code, params) => {
    lines[level]++;
    lines.bytes += code.length + JSON.stringify(params || {}).length + 40;
  };
  return { lines, logger: { debug: () => undefined, info: count('info'), warn: count('warn'), error: count('warn') } };
}

async function rangeOurs(fromAddress) {
  require('./_ts-register');
  const { startBaresip } = require('../test/peer/sip-peer-baresip.ts');
  const port = await freePort();
  const { lines, logger } = countingLogger();
  const acc = new SipAccount({ name: 'door', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.0/8' }, { mediaFactory: createRtpMediaFactory(), logger });
  await acc.start();
  let opened = 0;
  acc.on('call', (c) => {
    // The flow of the issue: answer every call; the panel's calls open the door.
    c.answer().then(() => c.info.from.user === 'panel' && opened++, () => undefined);
  });
  const panel = await startBaresip('<sip:panel@127.0.0.1>;regint=0');
  const flood = inviteFlood(port, fromAddress);
  await new Promise((r) => setTimeout(r, 1000));
  const r = await panelCalls(panel, `sip:door@127.0.0.1:${port}`, (RANGE_SECONDS * 1000 - 3000) / PANEL_CALLS);
  const { received, muted = 0 } = acc.endpoint.transport.stats;
  await flood.stop();
  await panel.stop();
  await acc.close();
  return { ...r, opened, lines: lines.warn + lines.info, received, muted };
}

async function rangeBaresip(fromAddress) {
  require('./_ts-register');
  const { startBaresip } = require('../test/peer/sip-peer-baresip.ts');
  const door = await startBaresip('<sip:door@127.0.0.1>;regint=0;answermode=auto');
  const panel = await startBaresip('<sip:panel@127.0.0.1>;regint=0');
  const flood = inviteFlood(door.sipPort, fromAddress);
  await new Promise((r) => setTimeout(r, 1000));
  const r = await panelCalls(panel, `sip:door@127.0.0.1:${door.sipPort}`, (RANGE_SECONDS * 1000 - 3000) / PANEL_CALLS);
  await flood.stop();
  await panel.stop();
  await door.stop();
  return r;
}

async function rangeBench() {
  console.log(`\nallowed-range flood: ${RANGE_PPS} INVITEs/s for ${RANGE_SECONDS} s from inside 127.0.0.0/8 (new user each, never ACKed), a baresip panel calls ${PANEL_CALLS} times meanwhile; ${REPEAT} run(s)`);
  for (const [label, from] of [
    ['panel subnet (scanner 127.0.0.2)', '127.0.0.2'],
    ["panel's own address (scanner 127.0.0.1, another port)", '127.0.0.1'],
  ]) {
    const ours = [];
    const peer = [];
    for (let i = 0; i < REPEAT; i++) {
      ours.push(await rangeOurs(from));
      peer.push(await rangeBaresip(from));
    }
    const sum = (a, k) => a.reduce((n, x) => n + x[k], 0);
    const o = sum(ours, 'answered');
    const b = sum(peer, 'answered');
    const med = (xs) => (xs.length ? xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)] : NaN);
    console.log(`${label}:`);
    console.log(`  ours   : ${o}/${PANEL_CALLS * REPEAT} panel calls answered (opened ${sum(ours, 'opened')}), dial-to-answer median ${med(ours.flatMap((x) => x.times))} ms, ${sum(ours, 'received')} packets read, ${sum(ours, 'muted')} INVITEs dropped unread, ${sum(ours, 'lines')} log lines`);
    console.log(`  baresip: ${b}/${PANEL_CALLS * REPEAT} panel calls answered, dial-to-answer median ${med(peer.flatMap((x) => x.times))} ms`);
    console.log(`  ratio panel calls answered ours/baresip: ${b ? (o / b).toFixed(2) : o ? 'inf (baresip answered none)' : 'n/a'}`);
    if (o < PANEL_CALLS * REPEAT) process.exitCode = 1;
  }
}

// ---- log lines under the floods (issue #13, point 3) -------------------------------
// INVITEs from outside the allowed sources at RANGE_PPS for RANGE_SECONDS, and 500 wrong digest
// REGISTERs (challenge, then a wrong answer) as fast as the registrar lets them through.
async function logBench() {
  const port = await freePort();
  const { lines, logger } = countingLogger();
  const acc = new SipAccount({ name: 'door', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '10.0.0.0/8' }, { mediaFactory: createRtpMediaFactory(), logger });
  await acc.start();
  const flood = inviteFlood(port, '127.0.0.2');
  await flood.done;
  await new Promise((r) => setTimeout(r, 500));
  const { received, muted = 0 } = acc.endpoint.transport.stats;
  await acc.close();
  await flood.stop();
  console.log(`\nlog lines: ${received + muted} INVITEs from a source not allowed in ${RANGE_SECONDS} s: ${lines.warn + lines.info} lines (~${Math.round(lines.bytes / 1024)} KB)`);

  const { logger: l2, lines: lines2 } = countingLogger();
  const rport = await freePort();
  const reg = new SipAccount({ name: 'reg', mode: 'registrar', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: rport, user: 'door', domain: '127.0.0.1', registrarAccounts: [{ user: 'panel', password: 'Right-Pass-1' }] }, { mediaFactory: createRtpMediaFactory(), logger: l2 });
  await reg.start();
  const r = await guess(rport, 500);
  await reg.close();
  console.log(`digest guessing: 500 wrong REGISTERs from one address: ${r.seconds.toFixed(2)} s, statuses ${JSON.stringify(r.statuses)}, then the right password ${r.right}; ${lines2.warn + lines2.info} log lines`);
}

/** `n` REGISTERs with a wrong password from one socket, each after its own challenge; then the right one. */
function guess(port, n) {
  const crypto = require('node:crypto');
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const statuses = {};
    let i = 0;
    let t0 = 0;
    const md5 = (x) => crypto.createHash('md5').update(x).digest('hex');
    const reg = (cseq, auth) => [`REGISTER sip:127.0.0.1 SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${s.address().port};branch=z9hG4bK${crypto.randomBytes(6).toString('hex')};rport`, 'Max-Forwards: 70', 'From: <sip:panel@127.0.0.1>;tag=g1', 'To: <sip:panel@127.0.0.1>', 'Call-ID: guess-1', `CSeq: ${cseq} REGISTER`, `Contact: <sip:panel@127.0.0.1:${s.address().port}>`, ...(auth ? [`Authorization: ${auth}`] : []), 'Content-Length: 0', '', ''].join('\r\n');
    let cseq = 1;
    let rightSent = false;
    const next = () => s.send(reg(cseq++), port, '127.0.0.1');
    s.on('message', (m) => {
      const t = m.toString();
      const status = Number(t.split(' ')[1]);
      const nonce = /nonce="([^"]+)"/.exec(t)?.[1];
      if (status === 401 && nonce) {
        const password = rightSent ? 'Right-Pass-1' : `guess-${i}`;
        const ha1 = md5(`panel:127.0.0.1:${password}`);
        const ha2 = md5('REGISTER:sip:127.0.0.1');
        const resp = md5(`${ha1}:${nonce}:00000001:c:auth:${ha2}`);
        s.send(reg(cseq++, `Digest username="panel", realm="127.0.0.1", nonce="${nonce}", uri="sip:127.0.0.1", response="${resp}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c"`), port, '127.0.0.1');
        return;
      }
      if (rightSent) {
        s.close();
        return resolve({ seconds, statuses, right: status });
      }
      statuses[status] = (statuses[status] || 0) + 1;
      if (++i < n) return next();
      seconds = (Date.now() - t0) / 1000;
      rightSent = true;
      next();
    });
    let seconds = 0;
    s.bind(0, '127.0.0.1', () => {
      t0 = Date.now();
      next();
    });
  });
}

(async () => {
  if (!which('sipp') || !which('baresip')) {
    console.log('sip-flood: needs sipp and baresip on PATH (see PEERS.md); skipped');
    return;
  }
  if (MODE === 'all' || MODE === 'junk') await junkBench();
  if (MODE === 'all' || MODE === 'range') await rangeBench();
  if (MODE === 'all' || MODE === 'log') await logBench();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
