'use strict';
/**
 * WebRTC gateway benchmark, ours vs rtpengine 10.5 in the same run, both doing the same
 * bridging: a panel's plain RTP (G.711, optionally H.264 720p) ↔ a browser's WebRTC
 * (ICE + DTLS-SRTP). The "panel" is a UDP socket in this process; the "browser" is a werift
 * peer connection in this process (the same receiver for both, so its own cost is the same).
 *  - latency: panel RTP packet sent → the browser's decrypted packet (p50/p99, ms)
 *  - CPU per call: the gateway process's utime+stime (/proc) over a steady window, per call
 * Runs in a loopback-only network namespace (re-execs itself under `unshare -n` as root).
 * Env: CALLS (default 5), SECONDS (default 10), VIDEO=1 adds 720p H.264 per call.
 */
const dgram = require('node:dgram');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, fork, spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');

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
const VIDEO = process.env.VIDEO === '1';
const TICKS = 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (s, p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};
const debug = (...a) => process.env.DEBUG && console.error('[bench]', ...a);
const have = (p) => spawnSync('sh', ['-c', `command -v ${p}`]).status === 0;

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
  const sent = new Map(); // id → hrtime ms
  const seen = new Set();
  let videoIn = 0;
  const lat = [];
  const calls = [];
  for (let i = 0; i < CALLS; i++) {
    const a = await udp();
    const v = VIDEO ? await udp() : undefined;
    debug(name, 'call', i, 'offer');
    const toBrowserSdp = await gw.offer(i, panelOffer(a.address().port, v?.address().port, i));
    debug(name, 'browser sdp', toBrowserSdp.browser.length);
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
    const panelSdp = await gw.answer(i, pc.localDescription.sdp);
    debug(name, 'panel sdp', panelSdp.length);
    await connected(pc).catch((err) => {
      throw new Error(`${name}: browser leg did not connect: ${err.message}`);
    });
    debug(name, 'connected');
    calls.push({ a, v, pc, to: sdpPort(panelSdp, 'audio'), vto: VIDEO ? sdpPort(panelSdp, 'video') : undefined });
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
    videoTimer = setInterval(() => {
      const now = Date.now() - start;
      while (k < video.length && video[k].at + loop * dur <= now) {
        for (const [i, c] of calls.entries()) {
          const b = Buffer.from(video[k].buf);
          b.writeUInt32BE(VIDEO_SSRC + i, 8);
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
  await sleep(2000); // warm-up (DTLS done, JIT)
  lat.length = 0;
  videoIn = 0;
  await gw.lag?.();
  const here = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 5 });
  here.enable();
  const c0 = cpuTicks(gw.pid);
  const t0 = Date.now();
  await sleep(SECONDS * 1000);
  const cpu = ((cpuTicks(gw.pid) - c0) / TICKS / ((Date.now() - t0) / 1000)) * 100;
  const loop = (await gw.lag?.()) ?? undefined;
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
  return { name, browserLag, gatewayLag: loop, packets: sorted.length, videoIn, p50: pct(sorted, 50), p99: pct(sorted, 99), cpuPerCall: cpu / CALLS };
}

// ---- ours: the package's media in a child process ---------------------------------------
async function ours() {
  const child = fork(path.join(__dirname, '_webrtc-gateway-child.js'), { stdio: 'inherit', execArgv: process.env.PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROF}`] : [] });
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
  const proc = spawn('rtpengine', ['--foreground', '--log-stderr', '--log-level=3', '--table=-1', '--interface=127.0.0.1', `--listen-ng=127.0.0.1:${ngPort}`, '--port-min=40000', '--port-max=49999', '--no-fallback=false'].filter((a) => a !== '--no-fallback=false'), { stdio: ['ignore', 'ignore', 'pipe'] });
  let errText = '';
  proc.stderr.on('data', (d) => (errText = (errText + d).slice(-2000)));
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

(async () => {
  const video = VIDEO ? await recordVideo() : [];
  debug('video packets recorded', video.length, video.length ? video[video.length - 1].at : 0, 'ms');
  const results = [await runGateway('ours (werift)', await ours(), video)];
  if (have('rtpengine')) results.push(await runGateway('rtpengine 10.5', await rtpengine(), video));
  else console.log('rtpengine not installed: peer skipped (apt-get install rtpengine-daemon)');
  const f = (x) => (x === undefined ? '-' : x.toFixed(2));
  console.log(`\nWebRTC gateway, ${CALLS} calls, ${SECONDS} s, audio PCMU 20 ms both ways${VIDEO ? ' + H.264 1280x720 25 fps from the panel' : ''}`);
  console.log('gateway            audio pkts  video pkts   p50 ms   p99 ms   CPU/call %   loop delay p99 ms: gateway / browser side');
  for (const r of results) console.log(`${r.name.padEnd(18)} ${String(r.packets).padStart(10)} ${String(r.videoIn).padStart(11)} ${f(r.p50).padStart(8)} ${f(r.p99).padStart(8)} ${f(r.cpuPerCall).padStart(12)}   ${r.gatewayLag ? f(r.gatewayLag.p99) : 'n/a (C)'} / ${f(r.browserLag.p99)}`);
  console.log(`(load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores: a busy machine makes every p99 here grow)`);
  if (results[1]) {
    const [a, b] = results;
    console.log(`ratio ours/peer: p50 ${(a.p50 / b.p50).toFixed(2)}, p99 ${(a.p99 / b.p99).toFixed(2)}, CPU/call ${(a.cpuPerCall / b.cpuPerCall).toFixed(2)}`);
  }
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
