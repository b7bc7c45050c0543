'use strict';
// What several benchmarks share: free loopback ports, the peers (baresip, sipp, kamailio)
// started the same way for each, /proc readings of a process, and our own UAS in a child
// process (bench/_sip-uas.js) driven over its stdin.
const { spawn, execFileSync } = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { randomBytes } = require('node:crypto');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function which(p) {
  return (process.env.PATH || '').split(':').some((d) => fs.existsSync(path.join(d, p)));
}

/** A loopback port free for UDP and TCP alike. */
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

const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

/** CPU seconds (user + system, all threads) a process used so far. */
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(parts[11]) + Number(parts[12])) / TICKS;
}

/** Resident set size of a process, bytes (VmRSS). */
function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function fdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

function loadAverage() {
  return os.loadavg().map((x) => Number(x.toFixed(2)));
}

/**
 * Our UAS (a SipAccount in P2P mode with real RTP media) in its own process. Returns
 * { port, pid, cmd(line) → stats, close() }.
 */
async function startOurUas(env = {}, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, '--expose-gc', path.join(__dirname, '_sip-uas.js')], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const waiting = [];
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    if (l[0] !== '{') return; // e.g. --trace-gc lines
    const w = waiting.shift();
    if (w) w(JSON.parse(l));
  });
  const next = () => new Promise((r) => waiting.push(r));
  const first = await next();
  const cmd = (line) => {
    const p = next();
    child.stdin.write(line + '\n');
    return p;
  };
  return {
    port: first.port,
    pid: child.pid,
    cmd,
    async close() {
      const done = new Promise((r) => child.once('exit', r));
      child.stdin.write('close\n');
      await Promise.race([done, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * baresip 1.0 as an auto-answering callee. With `voice` it sends RTP (a sine from a WAV via
 * aufile, so it keeps a media clock running as we do); otherwise only SIP. Returns
 * { port, pid, stop() }.
 */
async function startBaresip({ maxCalls = 1000, media = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-baresip-'));
  const port = await freePort();
  const lines = [`sip_listen 127.0.0.1:${port}`, 'net_interface 127.0.0.1', 'module_path /usr/lib/baresip/modules', 'module g711.so', 'module account.so', 'audio_player aubridge,nil', `call_max_calls ${maxCalls}`, 'rtp_ports 20000-59998'];
  if (media) {
    const voice = path.join(dir, 'voice.wav');
    // aufile reads the whole file for every call: keep it short (30 s, 480 kB; a call longer than that goes quiet)
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', voice, 'synth', '30', 'sine', '300', 'vol', '0.05']);
    lines.push('module aufile.so', 'module aubridge.so', `audio_source aufile,${voice}`);
  } else {
    lines.push('audio_source aubridge,nil');
  }
  fs.writeFileSync(path.join(dir, 'config'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'accounts'), `<sip:door@127.0.0.1:${port}>;regint=0;answermode=auto\n`);
  const child = spawn('baresip', ['-f', dir], { stdio: 'ignore' });
  await waitForOptions(port, 5000);
  return {
    port,
    pid: child.pid,
    async stop() {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, sleep(1500)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * kamailio 5.6 as the callee, stateful (tm): 200 OK to each INVITE and BYE from a
 * transaction (so retransmissions are absorbed as RFC 3261 wants, as ours are), ACK taken.
 * No media: it is the ceiling for SIP handling alone. Default process count (8 workers).
 */
async function startKamailioUas() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-kam-'));
  const port = await freePort();
  const cfg = `#!KAMAILIO
debug=0
log_stderror=yes
listen=udp:127.0.0.1:${port}
alias="127.0.0.1:${port}"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "textops.so"
request_route {
  if (is_method("ACK")) exit;
  if (is_method("INVITE|BYE")) {
    if (!t_newtran()) { sl_reply_error(); exit; }
    if (is_method("INVITE")) append_to_reply("Contact: <sip:door@127.0.0.1:${port}>\\r\\n");
    t_reply("200", "OK");
    exit;
  }
  sl_send_reply("405", "Method Not Allowed");
}
`;
  fs.writeFileSync(path.join(dir, 'kamailio.cfg'), cfg);
  const child = spawn('kamailio', ['-f', path.join(dir, 'kamailio.cfg'), '-DD', '-E', '-Y', dir, '-P', path.join(dir, 'k.pid')], { cwd: dir, detached: true, stdio: 'ignore' });
  const group = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* gone */
    }
  };
  try {
    await waitForOptions(port, 8000);
  } catch (err) {
    group('SIGKILL');
    throw err;
  }
  return {
    port,
    pid: child.pid,
    /** every kamailio process (it forks workers), for CPU and memory */
    pids() {
      try {
        return execFileSync('pgrep', ['-g', String(child.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number).filter(Boolean);
      } catch {
        return [child.pid];
      }
    },
    async stop() {
      const done = new Promise((r) => child.once('exit', r));
      group('SIGTERM');
      await Promise.race([done, sleep(2000)]);
      group('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once something answers an OPTIONS on 127.0.0.1:port (any response). */
async function waitForOptions(port, timeoutMs) {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const end = Date.now() + timeoutMs;
  try {
    await new Promise((resolve, reject) => {
      let done = false;
      s.on('message', () => {
        done = true;
        resolve();
      });
      const ping = () => {
        if (done) return;
        if (Date.now() > end) return reject(new Error(`nothing answered OPTIONS on port ${port}`));
        const id = `probe${Date.now()}${Math.random()}`;
        s.send(`OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${s.address().port};branch=z9hG4bK${id}\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: ${id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`, port, '127.0.0.1');
        setTimeout(ping, 100);
      };
      ping();
    });
  } finally {
    s.close();
  }
}

/**
 * sipp against 127.0.0.1:port. `scenario` is a built-in name (-sn) or a file (-sf).
 * Returns { ok, failed, retrans, seconds, rate, answerMs, callMs } from sipp's statistics file
 * (answerMs: mean INVITE→200 where the scenario times it; callMs: mean call length).
 */
function runSipp(port, { scenario = 'uac', calls, rate, limit = 200, extra = [], timeout = '120s' }) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sipp-bench-'));
  return new Promise((resolve) => {
    const scen = scenario.endsWith('.xml') ? ['-sf', scenario] : ['-sn', scenario];
    const args = [...scen, '-s', 'door', '-i', '127.0.0.1', '-p', '0', '-mi', '127.0.0.1', '-r', String(rate), '-l', String(limit), '-m', String(calls), '-nostdin', '-trace_stat', '-fd', '1', '-timeout', timeout, ...extra, `127.0.0.1:${port}`];
    const t0 = process.hrtime.bigint();
    const child = spawn('sipp', args, { cwd, stdio: 'ignore' });
    child.on('exit', () => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const csv = fs.readdirSync(cwd).find((f) => f.endsWith('.csv'));
      let ok = 0;
      let failed = 0;
      let retrans = 0;
      let answerMs = NaN;
      let callMs = NaN;
      if (csv) {
        const lines = fs.readFileSync(path.join(cwd, csv), 'utf8').trim().split('\n');
        const head = lines[0].split(';');
        const last = lines[lines.length - 1].split(';');
        const col = (name) => Number(last[head.indexOf(name)]);
        ok = col('SuccessfulCall(C)');
        failed = col('FailedCall(C)');
        retrans = col('Retransmissions(C)');
        // "HH:MM:SS:µs" → ms: mean INVITE→200 (rtd 1) and mean call length
        const ms = (name) => {
          const t = (last[head.indexOf(name)] || '').split(':').map(Number);
          return t.length === 4 ? ((t[0] * 60 + t[1]) * 60 + t[2]) * 1000 + t[3] / 1000 : NaN;
        };
        answerMs = ms('ResponseTime1(C)');
        callMs = ms('CallLength(C)');
      }
      fs.rmSync(cwd, { recursive: true, force: true });
      resolve({ ok, failed, retrans, seconds, rate: ok / seconds, answerMs, callMs });
    });
  });
}

/** An SDP offer for one G.711 µ-law stream (with RFC 4733 events) at 127.0.0.1:port. */
function offerFor(port) {
  return ['v=0', 'o=bench 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
}

/** Where the answer's audio goes: { address, port } from its c= and m= lines. */
function mediaTarget(sdp) {
  const port = Number(/^m=audio (\d+)/m.exec(sdp)?.[1]);
  const address = /^c=IN IP4 (\S+)/m.exec(sdp)?.[1];
  return { address, port };
}

/**
 * A minimal UAC on an already bound UDP socket: INVITE with an offer for `mediaPort`, ACK
 * the 2xx; resolves { answer, bye() }. Several calls may share the socket.
 */
function sipInvite(sip, port, mediaPort, timeoutMs = 5000) {
  const callId = randomBytes(8).toString('hex');
  const tag = randomBytes(4).toString('hex');
  const me = sip.address().port;
  const uri = `sip:door@127.0.0.1:${port}`;
  const req = (method, cseq, body, toTag) =>
    [
      `${method} ${uri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
      'Max-Forwards: 70', `From: <sip:panel@127.0.0.1:${me}>;tag=${tag}`, `To: <${uri}>${toTag ? ';tag=' + toTag : ''}`,
      `Call-ID: ${callId}`, `CSeq: ${cseq} ${method}`, `Contact: <sip:panel@127.0.0.1:${me}>`,
      ...(body ? ['Content-Type: application/sdp'] : []), `Content-Length: ${Buffer.byteLength(body || '')}`, '', body || '',
    ].join('\r\n');
  return new Promise((resolve, reject) => {
    const invite = req('INVITE', 1, offerFor(mediaPort));
    const retry = setInterval(() => sip.send(invite, port, '127.0.0.1'), 500);
    const timer = setTimeout(() => {
      clearInterval(retry);
      sip.off('message', onMsg);
      reject(new Error(`no answer from 127.0.0.1:${port}`));
    }, timeoutMs);
    const onMsg = (m) => {
      const t = m.toString();
      if (!t.includes(`Call-ID: ${callId}`) && !t.includes(`i: ${callId}`)) return;
      if (!/^SIP\/2\.0 [1-6]/.test(t) || !/CSeq: 1 INVITE/i.test(t)) return;
      clearInterval(retry);
      if (!/^SIP\/2\.0 2/.test(t)) return;
      const toTag = /^(?:To|t):.*;tag=([^;\s>]+)/im.exec(t)[1];
      sip.send(req('ACK', 1, '', toTag), port, '127.0.0.1');
      sip.off('message', onMsg);
      clearTimeout(timer);
      resolve({ answer: t.slice(t.indexOf('\r\n\r\n') + 4), bye: () => sip.send(req('BYE', 2, '', toTag), port, '127.0.0.1') });
    };
    sip.on('message', onMsg);
    sip.send(invite, port, '127.0.0.1');
  });
}

module.exports = { offerFor, mediaTarget, sipInvite, sleep, which, freePort, cpuSeconds, rssBytes, fdCount, loadAverage, startOurUas, startBaresip, startKamailioUas, waitForOptions, runSipp };
