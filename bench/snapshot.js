'use strict';
// Snapshot latency on one GStreamer RTSP stream (H.264 640x480, and MJPEG), same run:
//   bare ffmpeg  - spawn ffmpeg with the best flags, until it exits with the frame (floor)
//   cold         - Snapshotter.get() with nothing cached (what a node does on its own)
//   prefetched   - prefetch() at "ring", ask 1.5 s later (what a ring -> notify flow sees)
// Goal from the issue: prefetched < 50 ms, cold <= 1.2x bare ffmpeg.
const { spawn, execFileSync } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const ROUNDS = Number(process.env.N || 7);
const dist = path.join(__dirname, '..', 'dist', 'nodes');
const { Snapshotter } = require(path.join(dist, 'lib/camera/snapshotter.js'));
const { ffmpegArgs, findOnPath } = require(path.join(dist, 'lib/camera/ffmpeg.js'));
const { figure } = require('./_report');
const script = path.join(__dirname, '..', 'test', 'peer', 'snapshot-rtsp-server.py');

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function startRtsp(codec) {
  const port = await freePort();
  const child = spawn('/usr/bin/python3', [script, String(port), codec, '640', '480'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => d.toString().includes('READY') && resolve());
    child.once('exit', (c) => reject(new Error('rtsp server exited ' + c)));
  });
  return { url: `rtsp://127.0.0.1:${port}/door`, child };
}

function bare(ffmpeg, url) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(ffmpeg, ffmpegArgs(url), { stdio: ['ignore', 'pipe', 'ignore'] });
    let n = 0;
    c.stdout.on('data', (d) => (n += d.length));
    c.on('close', (code) => (code === 0 && n > 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error('ffmpeg ' + code))));
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(codec, ffmpeg) {
  const srv = await startRtsp(codec);
  const cold = [];
  const pre = [];
  const floor = [];
  try {
    await bare(ffmpeg, srv.url); // warm the server pipeline
    for (let i = 0; i < ROUNDS; i++) {
      floor.push(await bare(ffmpeg, srv.url));
      const c = new Snapshotter({ source: { kind: 'rtsp', url: srv.url }, timeoutMs: 10000 });
      let t0 = process.hrtime.bigint();
      await c.get();
      cold.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await c.close();
      const p = new Snapshotter({ source: { kind: 'rtsp', url: srv.url }, timeoutMs: 10000, cacheMs: 5000 });
      p.prefetch(); // ring
      await sleep(1500); // the flow decides to notify
      t0 = process.hrtime.bigint();
      await p.get();
      pre.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await p.close();
    }
  } finally {
    srv.child.kill('SIGKILL');
  }
  console.log(`${codec.padEnd(6)} bare ffmpeg ${median(floor).toFixed(1)} ms | cold ${median(cold).toFixed(1)} ms (${(median(cold) / median(floor)).toFixed(2)}x bare) | prefetched ${median(pre).toFixed(2)} ms   (medians of ${ROUNDS})`);
  const name = codec === 'h264' ? 'H.264' : 'MJPEG';
  figure({ id: `${codec}-cold`, title: `snapshot, ${name} RTSP 640x480, cold (nothing cached)`, unit: 'ms', better: 'lower', ours: cold, against: [{ name: 'floor: bare ffmpeg, same flags', kind: 'floor', values: floor }], summary: true });
  figure({ id: `${codec}-prefetched`, title: `snapshot, ${name}, prefetched on ring and asked 1.5 s later`, unit: 'ms', better: 'lower', ours: pre });
}

async function main() {
  const ffmpeg = findOnPath('ffmpeg');
  if (!ffmpeg) throw new Error('ffmpeg not on PATH');
  execFileSync('/usr/bin/python3', ['-c', "import gi; gi.require_version('GstRtspServer','1.0')"]);
  console.log('snapshot latency from a GStreamer RTSP server on loopback, 640x480');
  await run('h264', ffmpeg);
  await run('mjpeg', ffmpeg);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
