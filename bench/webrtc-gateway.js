'use strict';
/**
 * WebRTC gateway benchmark, ours vs rtpengine 10.5 and Janus 1.1 (its NoSIP plugin, see
 * _janus.js) in the same run, all doing the same bridging: a panel's plain RTP (G.711,
 * optionally H.264 720p) ↔ a browser's WebRTC (ICE + DTLS-SRTP). A peer that is not
 * installed is skipped. The "panel" is a UDP socket in this process; the "browser" is a werift
 * peer connection in this process (the same receiver for all, so its own cost is the same).
 *  - latency: panel RTP packet sent → the browser's decrypted packet (p50/p99, ms)
 *  - CPU per call: the gateway process's utime+stime (/proc) over a steady window, per call
 * Runs in a loopback-only network namespace (re-execs itself under `unshare -n` as root).
 * Env: CALLS (default 5), SECONDS (default 10), WARMUP (s before the window, default 10),
 * ROUNDS (default 3), VIDEO=0|1 (unset: audio only, then audio + 720p H.264 per call),
 * BOTH=1 adds ours with werift's per-packet path, ONLY=ours,floor,janus,rtpengine runs some.
 */
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, fork, spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { figure, spread } = require('./_report');
const { janus } = require('./_janus');

if (Object.keys(os.networkInterfaces()).some((n) => n !== 'lo')) {
  if (process.getuid?.() !== 0) {
    console.log('webrtc-gateway: needs a loopback-only network (run as root, or under unshare -n)');
    process.exit(0);
  }
  const r = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, path.join(__dirname, 'webrtc-gateway.js')], { stdio: 'inherit', env: process.env });
  process.exit(r.status ?? 1);
}

const werift = require('werift');
const CALLS = Number(process.env.CALLS || 5);
const SECONDS = Number(process.env.SECONDS || 10);
// a gateway runs for months: its figures are taken once its JIT has settled (with 2 s, ours still
// compiled in the window and read ~20 % higher; 10 s and 30 s read the same)
const WARMUP_MS = Number(process.env.WARMUP || 10) * 1000;
// VIDEO=0 audio only, VIDEO=1 audio + video only; unset: both, one after the other
let VIDEO = false;
const TICKS = 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (s, p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};
const userTicks = (pid) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[11]);
const debug = (...a) => process.env.DEBUG && console.error('[bench]', ...a);
const have = (p) => spawnSync('sh', ['-c', `command -v ${p}`]).status === 0;
// PIN=0 lets the scheduler place them. Otherwise, on a machine with two or more cores, the
// gateway under test (every thread of it) gets a core of its own and this process (panel,
// stand-in browser, capture) the first one, for every runner alike: when the scheduler
// moved them around, the same gateway read 0.85 or 1.15 % per call from one run to the next
// (a wake-up across cores is dearer than one on the same core, more so in a VM).
const PIN = process.env.PIN !== '0' && os.cpus().length >= 2 && have('taskset');
if (PIN) spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
const pin = (pid) => PIN && pid && spawnSync('taskset', ['-a', '-p', '-c', '1', String(pid)], { stdio: 'ignore' });

// ---- the gateway's own latency, from a loopback capture ---------------------------------
// What the gateway adds is the time between the panel's RTP packet entering the kernel and
// the gateway's SRTP packet for the browser leaving it; the stand-in browser's own decrypt
// and event loop are not in it. tcpdump (kernel timestamps, µs) captures both on lo; RTP
// headers stay in the clear under SRTP, so each flow's sequence numbers pair the packets.
async function startCapture(file) {
  if (!have('tcpdump')) return undefined;
  const proc = spawn('tcpdump', ['-i', 'lo', '-n', '-U', '-B', '8192', '-s', '64', '--time-stamp-precision=micro', '-w', file, 'udp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((resolve) => {
    let err = '';
    proc.stderr.on('data', (d) => {
      err += d;
      if (/listening on/.test(err)) resolve();
    });
    proc.once('exit', resolve);
  });
  return {
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', resolve);
        proc.kill('SIGINT');
      }),
  };
}

/** UDP packets of a pcap file: { t (µs), sport, dport, data (first bytes of the payload) } */
function readPcap(file) {
  const b = fs.readFileSync(file);
  if (b.length < 24) return [];
  const le = b.readUInt32LE(0) === 0xa1b23c4d || b.readUInt32LE(0) === 0xa1b2c3d4;
  const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const nano = (le ? b.readUInt32LE(0) : b.readUInt32BE(0)) === 0xa1b23c4d;
  const link = u32(20);
  const l2 = link === 1 ? 14 : link === 113 ? 16 : link === 276 ? 20 : 0; // EN10MB, LINUX_SLL, SLL2
  const out = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const t = u32(o) * 1e6 + (nano ? u32(o + 4) / 1000 : u32(o + 4));
    const incl = u32(o + 8);
    const p = o + 16;
    o = p + incl;
    const ip = p + l2;
    if (o > b.length || (b[ip] >> 4) !== 4 || b[ip + 9] !== 17) continue;
    const udp = ip + (b[ip] & 0x0f) * 4;
    out.push({ t, sport: b.readUInt16BE(udp), dport: b.readUInt16BE(udp + 2), data: b.subarray(udp + 8, o) });
  }
  return out;
}

/** For each call: RTP from the panel to the gateway, paired with the SRTP the browser got. */
function gatewayDelays(packets, flows) {
  const delays = [];
  const rtp = (d) => d.length >= 12 && (d[0] & 0xc0) === 0x80 && (d[1] & 0x7f) === 0;
  for (const f of flows) {
    const ins = packets.filter((p) => p.sport === f.panelPort && p.dport === f.gatewayPort && rtp(p.data));
    const outs = packets.filter((p) => p.dport === f.browserPort && p.sport !== f.browserPort && rtp(p.data));
    if (!ins.length || !outs.length) continue;
    const inBySeq = new Map(ins.map((p) => [p.data.readUInt16BE(2), p]));
    // the sequence offset the gateway applies: the most common one between a packet out and
    // the last packet in before it
    const votes = new Map();
    let k = 0;
    for (const o of outs.slice(0, 50)) {
      while (k + 1 < ins.length && ins[k + 1].t <= o.t) k++;
      if (ins[k].t > o.t) continue;
      const d = (o.data.readUInt16BE(2) - ins[k].data.readUInt16BE(2)) & 0xffff;
      votes.set(d, (votes.get(d) || 0) + 1);
    }
    const offset = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
    if (offset === undefined) continue;
    for (const o of outs) {
      const i = inBySeq.get((o.data.readUInt16BE(2) - offset) & 0xffff);
      if (i && o.t >= i.t && o.t - i.t < 1e6) delays.push((o.t - i.t) / 1000);
    }
  }
  return delays.sort((a, b) => a - b);
}

// ---- bencode, for rtpengine's ng control protocol --------------------------------------
function benc(v) {
  if (typeof v === 'number') return `i${v}e`;
  if (typeof v === 'string') return `${Buffer.byteLength(v)}:${v}`;
  if (Array.isArray(v)) return 'l' + v.map(benc).join('') + 'e';
  return 'd' + Object.keys(v).sort().map((k) => benc(k) + benc(v[k])).join('') + 'e';
}
function bdec(buf) {
  let i = 0;
  const s = buf.toString('latin1');
  const one = () => {
    const c = s[i];
    if (c === 'i') {
      const e = s.indexOf('e', i);
      const n = Number(s.slice(i + 1, e));
      i = e + 1;
      return n;
    }
    if (c === 'l' || c === 'd') {
      i++;
      const out = c === 'l' ? [] : {};
      while (s[i] !== 'e') {
        if (c === 'l') out.push(one());
        else {
          const k = one();
          out[k] = one();
        }
      }
      i++;
      return out;
    }
    const colon = s.indexOf(':', i);
    const len = Number(s.slice(i, colon));
    const str = Buffer.from(s.slice(colon + 1, colon + 1 + len), 'latin1').toString('utf8');
    i = colon + 1 + len;
    return str;
  };
  return one();
}

// ---- the panel side: plain RTP from a UDP socket ----------------------------------------
async function udp() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

// The panel's SSRCs are in its SDP (a=ssrc): werift, the stand-in browser, demuxes a stream
// without a mid header extension by its signalled SSRC only (Chrome would fall back to the PT).
const AUDIO_SSRC = 0x1234;
const VIDEO_SSRC = 0x5678;
function panelOffer(audioPort, videoPort, i) {
  const lines = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=panel', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${audioPort} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=ptime:20', 'a=sendrecv', `a=ssrc:${AUDIO_SSRC + i} cname:panel${i}`];
  if (videoPort) lines.push(`m=video ${videoPort} RTP/AVP 96`, 'a=rtpmap:96 H264/90000', 'a=fmtp:96 packetization-mode=1;profile-level-id=42e01f', 'a=sendrecv', `a=ssrc:${VIDEO_SSRC + i} cname:panel${i}`);
  return lines.join('\r\n') + '\r\n';
}

function sdpPort(sdp, kind) {
  const m = new RegExp(`^m=${kind} (\\d+) `, 'm').exec(sdp);
  const c = /^c=IN IP4 (\S+)/m.exec(sdp.slice(sdp.indexOf(`m=${kind}`))) || /^c=IN IP4 (\S+)/m.exec(sdp);
  return m ? { port: Number(m[1]), address: c ? c[1] : '127.0.0.1' } : undefined;
}

/** 720p H.264 as RTP packets (ffmpeg, 1200-byte packets), recorded once to be replayed per call. */
async function recordVideo() {
  const sock = await udp();
  const pkts = [];
  const t0 = Date.now();
  sock.on('message', (b) => pkts.push({ at: Date.now() - t0, buf: b }));
  const ff = spawn('ffmpeg', ['-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=1280x720:rate=25', '-t', '4', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'ultrafast', '-tune', 'zerolatency', '-b:v', '1500k', '-g', '50', '-f', 'rtp', '-payload_type', '96', '-pkt_size', '1200', `rtp://127.0.0.1:${sock.address().port}`]);
  await new Promise((r) => ff.on('exit', r));
  sock.close();
  const first = pkts[0]?.at ?? 0;
  return pkts.map((p) => ({ at: p.at - first, buf: p.buf }));
}

// ---- the browser side: a werift peer -----------------------------------------------------
const CODECS = () => ({
  audio: [
    new werift.RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0 }),
    new werift.RTCRtpCodecParameters({ mimeType: 'audio/telephone-event', clockRate: 8000, channels: 1, payloadType: 101 }),
  ],
  video: [new werift.RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, payloadType: 96, parameters: 'packetization-mode=1;profile-level-id=42e01f', rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] })],
});

async function browserAnswer(offerSdp, onAudio) {
  const pc = new werift.RTCPeerConnection({ codecs: CODECS(), iceServers: [], iceAdditionalHostAddresses: ['127.0.0.1'], iceUseIpv6: false });
  await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
  for (const tx of pc.getTransceivers()) {
    tx.setDirection('sendrecv');
    const hook = (t) => t.onReceiveRtp.subscribe((rtp) => onAudio(tx.kind, rtp));
    if (tx.receiver.track) hook(tx.receiver.track);
    tx.onTrack.subscribe(hook);
  }
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== 'complete') await new Promise((r) => pc.iceGatheringStateChange.subscribe((s) => s === 'complete' && r()));
  return pc;
}

function connected(pc, ms = 20000) {
  return new Promise((resolve, reject) => {
    if (pc.connectionState === 'connected') return resolve();
    const t = setTimeout(() => reject(new Error('ICE/DTLS did not connect')), ms);
    pc.connectionStateChange.subscribe((s) => {
      if (s !== 'connected') return;
      clearTimeout(t);
      resolve();
    });
  });
}

// ---- one gateway, N calls ----------------------------------------------------------------
async function runGateway(name, gw, video) {
  pin(gw.pid);
  const sent = new Map(); // id → hrtime ms
  const seen = new Set();
  let videoIn = 0;
  const lat = [];
  const calls = [];
  let retries = 0;
  for (let i = 0; i < CALLS; i++) {
    // werift's DTLS client (the stand-in browser) now and then stalls after its last flight
    // against OpenSSL (rtpengine logs "Peer certificate accepted", never "handshake
    // successful"): such a call is set up again, on a new call-id, and counted.
    for (let attempt = 0; ; attempt++) {
      const key = attempt ? `${i}-${attempt}` : String(i);
      const a = await udp();
      const v = VIDEO ? await udp() : undefined;
      debug(name, 'call', key, 'offer');
      const toBrowserSdp = await gw.offer(key, panelOffer(a.address().port, v?.address().port, i));
      // werift's parser throws on an RFC 3605 `a=rtcp:<port>` without an address (rtpengine
      // writes it; with rtcp-mux it says nothing): the stand-in browser does not see it.
      const pc = await browserAnswer(toBrowserSdp.browser.replace(/^a=rtcp:\d+\r?\n/gm, ''), (kind, rtp) => {
        if (process.env.DEBUG && !seen.has(kind + rtp.header.payloadType)) {
          seen.add(kind + rtp.header.payloadType);
          debug(name, 'browser got', kind, rtp.header.payloadType, rtp.payload.length);
        }
        if (kind === 'video') videoIn++;
        if (kind !== 'audio' || rtp.header.payloadType !== 0) return;
        const id = rtp.payload.readUInt32BE(0);
        const t = sent.get(id);
        if (t !== undefined) {
          lat.push(Number(process.hrtime.bigint() - t) / 1e6);
          sent.delete(id);
        }
      });
      const panelSdp = await gw.answer(key, pc.localDescription.sdp);
      const ok = await connected(pc, 6000).then(
        () => true,
        (err) => {
          if (attempt >= 3) throw new Error(`${name}: browser leg did not connect: ${err.message}${gw.log ? '\n' + gw.log() : ''}`);
          return false;
        },
      );
      if (!ok) {
        retries++;
        debug(name, 'call', key, 'did not connect, again');
        a.close();
        v?.close();
        await pc.close();
        await gw.hangup?.(key);
        continue;
      }
      debug(name, 'connected');
      calls.push({ a, v, pc, to: sdpPort(panelSdp, 'audio'), vto: VIDEO ? sdpPort(panelSdp, 'video') : undefined });
      break;
    }
  }
  // traffic: 20 ms PCMU both ways per call (+ video from the panel)
  let seq = 0;
  let ts = 0;
  const ssrc = AUDIO_SSRC;
  const start = Date.now();
  const audioTimer = setInterval(() => {
    ts += 160;
    seq = (seq + 1) & 0xffff;
    for (const [i, c] of calls.entries()) {
      const payload = Buffer.alloc(160, 0xff);
      const id = (i << 20) | (seq & 0xfffff);
      payload.writeUInt32BE(id >>> 0, 0);
      const h = Buffer.alloc(12);
      h[0] = 0x80;
      h[1] = 0;
      h.writeUInt16BE(seq, 2);
      h.writeUInt32BE(ts >>> 0, 4);
      h.writeUInt32BE(ssrc + i, 8);
      sent.set(id >>> 0, process.hrtime.bigint());
      c.a.send(Buffer.concat([h, payload]), c.to.port, c.to.address);
      const sender = c.pc.getTransceivers().find((t) => t.kind === 'audio').sender;
      sender.sendRtp(new werift.RtpPacket(new werift.RtpHeader({ payloadType: 0, sequenceNumber: seq, timestamp: ts >>> 0, ssrc: sender.ssrc }), Buffer.alloc(160, 0x7f))).catch(() => undefined);
    }
  }, 20);
  let videoTimer;
  if (VIDEO && video.length) {
    let k = 0;
    let loop = 0;
    const dur = video[video.length - 1].at + 40;
    const seq0 = video[0].buf.readUInt16BE(2);
    const tsSpan = ((video[video.length - 1].buf.readUInt32BE(4) - video[0].buf.readUInt32BE(4)) >>> 0) + 3600; // + one 25 fps frame
    videoTimer = setInterval(() => {
      const now = Date.now() - start;
      while (k < video.length && video[k].at + loop * dur <= now) {
        for (const [i, c] of calls.entries()) {
          const b = Buffer.from(video[k].buf);
          b.writeUInt32BE(VIDEO_SSRC + i, 8);
          // each loop goes on from the last one's sequence number and timestamp, as a camera's
          // stream does: a stream that jumps back to sequence numbers it has sent is refused
          // by a gateway whose SRTP checks replay on protect (Janus: srtp_err_status_replay_old)
          b.writeUInt16BE((seq0 + loop * video.length + k) & 0xffff, 2);
          b.writeUInt32BE((video[k].buf.readUInt32BE(4) + loop * tsSpan) >>> 0, 4);
          c.v.send(b, c.vto.port, c.vto.address);
        }
        k++;
        if (k === video.length) {
          k = 0;
          loop++;
        }
      }
    }, 5);
  }
  await sleep(WARMUP_MS); // warm-up (DTLS done, JIT)
  lat.length = 0;
  videoIn = 0;
  await gw.lag?.();
  const here = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 5 });
  here.enable();
  const capFile = path.join(os.tmpdir(), `webrtc-gateway-${process.pid}.pcap`);
  const capture = await startCapture(capFile);
  const c0 = cpuTicks(gw.pid);
  const u0 = userTicks(gw.pid);
  const t0 = Date.now();
  await sleep(SECONDS * 1000);
  await capture?.stop();
  let added;
  if (capture) {
    const flows = calls.map((c) => ({ panelPort: c.a.address().port, gatewayPort: c.to.port, browserPort: c.pc.iceTransports[0]?.connection?.nominated?.localCandidate?.port }));
    added = gatewayDelays(readPcap(capFile), flows);
    fs.rmSync(capFile, { force: true });
  }
  debug(name, 'user share of its CPU', ((userTicks(gw.pid) - u0) / (cpuTicks(gw.pid) - c0)).toFixed(2));
  const cpu = ((cpuTicks(gw.pid) - c0) / TICKS / ((Date.now() - t0) / 1000)) * 100;
  const lagReply = await gw.lag?.();
  const loop = lagReply && !lagReply.off ? lagReply : undefined;
  if (loop) debug(name, 'gateway event-loop delay p99', loop.p99.toFixed(1), 'ms, max', loop.max.toFixed(1), 'ms');
  here.disable();
  const browserLag = { p99: here.percentile(99) / 1e6, max: here.max / 1e6 };
  debug(name, 'browser (this process) event-loop delay p99', browserLag.p99.toFixed(1), 'ms, max', browserLag.max.toFixed(1), 'ms');
  clearInterval(audioTimer);
  clearInterval(videoTimer);
  const sorted = [...lat].sort((x, y) => x - y);
  for (const c of calls) {
    c.a.close();
    c.v?.close();
    await c.pc.close();
  }
  await gw.close();
  return { name, retries, added, browserLag, gatewayLag: loop, packets: sorted.length, videoIn, p50: pct(sorted, 50), p99: pct(sorted, 99), cpuPerCall: cpu / CALLS };
}

// ---- the floor: a bare Node UDP relay with the package's SRTP, no call around it -------
async function runFloor(name) {
  const child = fork(path.join(__dirname, '_udp-relay-child.js'), { stdio: 'inherit' });
  pin(child.pid);
  const waiters = new Map();
  child.on('message', (m) => (m.ready ? waiters.get('ready')?.(m) : waiters.get(m.id)?.(m)));
  const ask = (msg) =>
    new Promise((resolve) => {
      waiters.set(msg.id, resolve);
      child.send(msg);
    });
  await new Promise((r) => waiters.set('ready', r));
  const { SrtpContext } = require('../dist/nodes/lib/media/srtp');
  const seal = new SrtpContext('AEAD_AES_128_GCM', Buffer.alloc(16, 7), Buffer.alloc(12, 9));
  const calls = [];
  for (let i = 0; i < CALLS; i++) {
    const a = await udp();
    const b = await udp();
    const m = await ask({ cmd: 'open', id: String(i), browser: b.address().port });
    calls.push({ a, b, to: m.panelPort, bto: m.browserPort });
  }
  let seq = 0;
  const timer = setInterval(() => {
    seq = (seq + 1) & 0xffff;
    for (const [i, c] of calls.entries()) {
      const h = Buffer.alloc(172, 0xff);
      h[0] = 0x80;
      h[1] = 0;
      h.writeUInt16BE(seq, 2);
      h.writeUInt32BE((seq * 160) >>> 0, 4);
      h.writeUInt32BE(AUDIO_SSRC + i, 8);
      c.a.send(h, c.to, '127.0.0.1');
      const back = Buffer.alloc(172, 0x7f);
      back[0] = 0x80;
      back.writeUInt16BE(seq, 2);
      back.writeUInt32BE(0x9000 + i, 8);
      c.b.send(seal.protect(back), c.bto, '127.0.0.1');
    }
  }, 20);
  await sleep(WARMUP_MS);
  const capFile = path.join(os.tmpdir(), `webrtc-gateway-floor-${process.pid}.pcap`);
  const capture = await startCapture(capFile);
  const c0 = cpuTicks(child.pid);
  const t0 = Date.now();
  await sleep(SECONDS * 1000);
  await capture?.stop();
  const cpu = ((cpuTicks(child.pid) - c0) / TICKS / ((Date.now() - t0) / 1000)) * 100;
  clearInterval(timer);
  let added;
  if (capture) {
    added = gatewayDelays(readPcap(capFile), calls.map((c) => ({ panelPort: c.a.address().port, gatewayPort: c.to, browserPort: c.b.address().port })));
    fs.rmSync(capFile, { force: true });
  }
  await ask({ cmd: 'close', id: 'close' });
  for (const c of calls) {
    c.a.close();
    c.b.close();
  }
  return { name, floor: true, retries: 0, added, packets: added?.length ?? 0, videoIn: 0, cpuPerCall: cpu / CALLS };
}

// ---- ours: the package's media in a child process ---------------------------------------
async function ours() {
  const child = fork(path.join(__dirname, '_webrtc-gateway-child.js'), { stdio: 'inherit', execArgv: [...(process.env.PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROF}`] : []), ...(process.env.GW_ARGS ? process.env.GW_ARGS.split(' ') : [])] });
  const waiters = new Map();
  child.on('message', (m) => {
    if (m.ready) return waiters.get('ready')?.(m);
    waiters.get(m.id)?.(m);
  });
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      waiters.set(msg.id, (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
      child.send(msg);
    });
  await new Promise((r) => waiters.set('ready', r));
  const panelAnswers = new Map();
  return {
    pid: child.pid,
    offer: async (i, panelSdp) => {
      const m = await ask({ cmd: 'open', id: String(i), panelOffer: panelSdp });
      panelAnswers.set(i, m.answer);
      return { browser: m.offer };
    },
    answer: async (i, sdp) => {
      await ask({ cmd: 'answer', id: String(i), sdp });
      return panelAnswers.get(i);
    },
    lag: () => ask({ cmd: 'lag', id: 'lag' }),
    hangup: (i) => ask({ cmd: 'hangup', id: String(i) }).catch(() => undefined),
    close: async () => {
      await ask({ cmd: 'close', id: 'close' }).catch(() => undefined);
    },
  };
}

// ---- the peer: rtpengine (userspace), driven by its ng protocol ---------------------------
async function rtpengine() {
  const ctl = await udp();
  const ngPort = await new Promise((r) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  const proc = spawn('rtpengine', ['--foreground', '--log-stderr', `--log-level=${process.env.DEBUG ? 7 : 3}`, '--table=-1', '--interface=127.0.0.1', `--listen-ng=127.0.0.1:${ngPort}`, '--port-min=40000', '--port-max=49999', '--no-fallback=false'].filter((a) => a !== '--no-fallback=false'), { stdio: ['ignore', 'ignore', 'pipe'] });
  let errText = '';
  const logFile = process.env.DEBUG ? fs.createWriteStream(path.join(os.tmpdir(), 'webrtc-gateway-rtpengine.log')) : undefined;
  proc.stderr.on('data', (d) => {
    errText = (errText + d).slice(-6000);
    logFile?.write(d);
  });
  const pending = new Map();
  ctl.on('message', (buf) => {
    const sp = buf.indexOf(' ');
    const cookie = buf.subarray(0, sp).toString();
    pending.get(cookie)?.(bdec(buf.subarray(sp + 1)));
  });
  const ng = async (msg) => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const cookie = randomBytes(6).toString('hex');
      const reply = new Promise((r) => {
        pending.set(cookie, r);
        setTimeout(() => r(undefined), 200);
      });
      ctl.send(`${cookie} ${benc(msg)}`, ngPort, '127.0.0.1');
      const res = await reply;
      pending.delete(cookie);
      if (res) {
        if (res.result !== 'ok') throw new Error(`rtpengine ${msg.command}: ${res['error-reason'] || res.result}`);
        return res;
      }
      if (proc.exitCode !== null) break;
    }
    throw new Error(`rtpengine did not answer: ${errText.slice(-400)}`);
  };
  return {
    pid: proc.pid,
    log: () => errText,
    hangup: async (i) => {
      await ng({ command: 'delete', 'call-id': `bench-${i}`, 'from-tag': `panel-${i}` }).catch(() => undefined);
    },
    offer: async (i, sdp) => {
      const r = await ng({ command: 'offer', 'call-id': `bench-${i}`, 'from-tag': `panel-${i}`, sdp, ICE: 'force', 'transport-protocol': 'UDP/TLS/RTP/SAVPF', 'rtcp-mux': ['offer'], SDES: ['off'], flags: ['generate mid'] });
      return { browser: r.sdp };
    },
    answer: async (i, sdp) => {
      const r = await ng({ command: 'answer', 'call-id': `bench-${i}`, 'from-tag': `panel-${i}`, 'to-tag': `browser-${i}`, sdp, ICE: 'remove', 'transport-protocol': 'RTP/AVP', 'rtcp-mux': ['demux'] });
      return r.sdp;
    },
    close: async () => {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      ctl.close();
    },
  };
}

const JANUS = 'Janus 1.1 (nosip)';

async function phase(video) {
  debug('video packets recorded', video.length, video.length ? video[video.length - 1].at : 0, 'ms');
  const ROUNDS = Number(process.env.ROUNDS || 3);
  const allRunners = [
    ['ours', () => (delete process.env.FAST, ours()).then((gw) => runGateway('ours', gw, video))],
    ...(process.env.BOTH === '1' ? [['ours, werift path', () => ((process.env.FAST = '0'), ours()).then((gw) => runGateway('ours, werift path', gw, video).finally(() => delete process.env.FAST))]] : []),
    ...(VIDEO ? [] : [['floor: Node UDP + SRTP', () => runFloor('floor: Node UDP + SRTP')]]),
    ...(have('rtpengine') ? [['rtpengine 10.5', () => rtpengine().then((gw) => runGateway('rtpengine 10.5', gw, video)).then((r) => ({ ...r, peer: true }))]] : []),
    ...(have('janus') ? [[JANUS, () => janus().then((gw) => runGateway(JANUS, gw, video)).then((r) => ({ ...r, peer: true }))]] : []),
  ];
  // ONLY=ours,floor (words each runner's name starts with, any case): a quicker run of some
  const only = process.env.ONLY?.toLowerCase().split(',').filter(Boolean);
  const runners = only ? allRunners.filter(([n]) => only.some((o) => n.toLowerCase().startsWith(o))) : allRunners;
  if (!have('rtpengine')) console.log('rtpengine not installed: peer skipped (apt-get install rtpengine-daemon)');
  if (!have('janus')) console.log('janus not installed: peer skipped (apt-get install janus)');
  if (!have('tcpdump')) console.log('tcpdump not installed: what the gateway adds is not measured (apt-get install tcpdump)');
  const f = (x) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(2));
  const all = [];
  console.log(`\nWebRTC gateway, ${CALLS} calls, ${SECONDS} s, audio PCMU 20 ms both ways${VIDEO ? ' + H.264 1280x720 25 fps from the panel' : ''}, ${ROUNDS} rounds`);
  console.log('                                   panel → browser, end to end   gateway adds (capture)');
  console.log('round gateway                audio pkts  video pkts   p50 ms   p99 ms   pairs   p50 ms   p99 ms   CPU/call %   setups again');
  for (let round = 0; round < ROUNDS; round++) {
    // each round in another order: a busy moment of the shared machine lands on every one
    const order = runners.map((_, k) => runners[(k + round) % runners.length]);
    for (const [, run] of order) {
      const r = await run();
      r.round = round + 1;
      r.addedP50 = r.added?.length ? pct(r.added, 50) : NaN;
      r.addedP99 = r.added?.length ? pct(r.added, 99) : NaN;
      all.push(r);
      console.log(`${String(r.round).padStart(5)} ${r.name.padEnd(22)} ${String(r.packets).padStart(10)} ${String(r.videoIn).padStart(11)} ${f(r.p50).padStart(8)} ${f(r.p99).padStart(8)} ${String(r.added?.length ?? '-').padStart(7)} ${f(r.addedP50).padStart(8)} ${f(r.addedP99).padStart(8)} ${f(r.cpuPerCall).padStart(12)}   ${r.retries}`);
    }
  }
  console.log(`(load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores: a busy machine makes every p99 here grow)`);
  const by = (name, key) => all.filter((r) => r.name === name).map((r) => r[key]);
  const med = (xs) => spread(xs).median;
  console.log('\nmedian of rounds   gateway adds p50 ms   p99 ms   CPU/call %');
  for (const [name] of runners) console.log(`${name.padEnd(22)} ${f(med(by(name, 'addedP50'))).padStart(12)} ${f(med(by(name, 'addedP99'))).padStart(8)} ${f(med(by(name, 'cpuPerCall'))).padStart(12)}`);
  const peer = runners.find(([n]) => n.startsWith('rtpengine'))?.[0];
  const floor = runners.find(([n]) => n.startsWith('floor'))?.[0];
  const janusPeer = runners.find(([n]) => n === JANUS)?.[0];
  const against = (key) => [peer && { name: 'rtpengine 10.5', values: by(peer, key) }, janusPeer && { name: JANUS, values: by(janusPeer, key) }, floor && { name: 'bare Node UDP relay + our SRTP', kind: 'floor', values: by(floor, key) }].filter(Boolean);
  const tag = VIDEO ? ' (audio + 720p H.264)' : '';
  figure({ id: `webrtc-added-p99${VIDEO ? '-video' : ''}`, title: `audio latency the gateway adds, RTP in → SRTP out, p99${tag}`, unit: 'ms', better: 'lower', ours: by('ours', 'addedP99'), against: against('addedP99'), summary: !VIDEO });
  figure({ id: `webrtc-added-p50${VIDEO ? '-video' : ''}`, title: `audio latency the gateway adds, RTP in → SRTP out, p50${tag}`, unit: 'ms', better: 'lower', ours: by('ours', 'addedP50'), against: against('addedP50') });
  figure({ id: `webrtc-cpu${VIDEO ? '-video' : ''}`, title: `CPU per browser call${tag}`, unit: '% of a core', better: 'lower', ours: by('ours', 'cpuPerCall'), against: against('cpuPerCall'), summary: !VIDEO });
}

(async () => {
  for (const v of process.env.VIDEO === '1' ? [true] : process.env.VIDEO === '0' ? [false] : [false, true]) {
    VIDEO = v;
    const video = VIDEO ? await recordVideo() : [];
    await phase(video);
  }
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
