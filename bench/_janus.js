'use strict';
/* global fetch */
/**
 * Janus 1.1 as a peer of the WebRTC gateway bench: its NoSIP plugin bridges a panel's plain
 * RTP to a browser's WebRTC, the same job as ours and rtpengine's. Janus runs in the
 * foreground on a config folder of its own (a temp dir), with only the NoSIP plugin and the
 * HTTP transport loaded, so the CPU of its process is the bridging and little else.
 *
 * Per call, on one Janus session, one handle on janus.plugin.nosip:
 *   panel's SDP → `process` {type: offer, sdp} → `processed` + JSEP offer for the browser
 *   browser's answer → `generate` with that JSEP → `generated` {sdp: plain answer for the panel}
 * Events come from the long poll (GET on the session), matched by transaction.
 *
 * Loopback ICE: Janus's ice.c skips every IFF_LOOPBACK interface before it looks at
 * ice_enforce_list / ice_ignore_list, and nat_1_1_mapping only rewrites candidates that were
 * gathered, so in a loopback-only namespace it gathers nothing ("Error gathering
 * candidates", the handle hangs up). Here 127.0.0.1/32 is also put on one end of a veth pair
 * (up, so RUNNING) made for the run: Janus gathers a 127.0.0.1 host candidate from it
 * (ice_enforce_list = 127.0.0.1 keeps it to that one), and the kernel still delivers
 * 127.0.0.1 over lo, where the capture is. The pair is deleted in close().
 */
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');

const LIB = '/usr/lib/x86_64-linux-gnu/janus';
// below the namespace's ephemeral ports (32768-60999, the panel's and werift's sockets) and
// rtpengine's 40000-49999
const ICE_PORTS = '20000-24999';
const NOSIP_PORTS = '25000-29999';
const VETH = 'jbench0';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const debug = (...a) => process.env.DEBUG && console.error('[janus]', ...a);

function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The .so files of a Janus folder, but the ones kept. */
function others(folder, keep) {
  const dir = path.join(LIB, folder);
  const names = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.so$/.test(f)) : [];
  return names.filter((f) => !keep.includes(f)).join(',');
}

function writeConfigs(dir, httpPort) {
  const level = process.env.DEBUG ? 5 : 3; // 3: warnings and errors
  fs.writeFileSync(
    path.join(dir, 'janus.jcfg'),
    `general: {
	configs_folder = "${dir}"
	plugins_folder = "${LIB}/plugins"
	transports_folder = "${LIB}/transports"
	events_folder = "${LIB}/events"
	loggers_folder = "${LIB}/loggers"
	debug_level = ${level}
	debug_colors = false
	session_timeout = 0
	hide_dependencies = true
}
certificates: {
}
media: {
	rtp_port_range = "${ICE_PORTS}"
}
nat: {
	nice_debug = false
	ice_enforce_list = "127.0.0.1"
}
plugins: {
	disable = "${others('plugins', ['libjanus_nosip.so'])}"
}
transports: {
	disable = "${others('transports', ['libjanus_http.so'])}"
}
loggers: {
	disable = "${others('loggers', [])}"
}
events: {
	broadcast = false
	disable = "${others('events', [])}"
}
`,
  );
  fs.writeFileSync(
    path.join(dir, 'janus.plugin.nosip.jcfg'),
    `general: {
	local_ip = "127.0.0.1"
	rtp_port_range = "${NOSIP_PORTS}"
	events = false
}
`,
  );
  fs.writeFileSync(
    path.join(dir, 'janus.transport.http.jcfg'),
    `general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = ${httpPort}
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
`,
  );
}

const ip = (...args) => spawnSync('ip', args, { encoding: 'utf8' });

/** A 127.0.0.1 that is not on a loopback interface, for Janus's ICE to gather (see above). */
function addHostAddress() {
  ip('link', 'del', VETH);
  for (const args of [
    ['link', 'add', VETH, 'type', 'veth', 'peer', 'name', `${VETH}p`],
    ['link', 'set', `${VETH}p`, 'up'],
    ['link', 'set', VETH, 'up'],
    ['addr', 'add', '127.0.0.1/32', 'dev', VETH],
  ]) {
    const r = ip(...args);
    if (r.status !== 0) {
      ip('link', 'del', VETH);
      throw new Error(`janus: ip ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()} (Janus gathers no ICE candidate on loopback)`);
    }
  }
}

async function janus() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-janus-'));
  const httpPort = await freeTcpPort();
  writeConfigs(dir, httpPort);
  addHostAddress();
  const proc = spawn('janus', ['--configs-folder', dir, '--config', path.join(dir, 'janus.jcfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let logText = '';
  const logFile = process.env.DEBUG ? fs.createWriteStream(path.join(os.tmpdir(), 'webrtc-gateway-janus.log')) : undefined;
  const onLog = (d) => {
    logText = (logText + d).slice(-6000);
    logFile?.write(d);
  };
  proc.stdout.on('data', onLog);
  proc.stderr.on('data', onLog);
  const exited = new Promise((r) => proc.once('exit', r));
  const base = `http://127.0.0.1:${httpPort}/janus`;
  const cleanup = () => {
    process.off('exit', onExit);
    ip('link', 'del', VETH);
    fs.rmSync(dir, { recursive: true, force: true });
    logFile?.end();
  };
  // a bench that throws half way exits without close(): Janus, a child in its own right, would
  // go on running (and keep the namespace), so it goes with us
  const onExit = () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  const post = async (url, body) => {
    const transaction = randomBytes(6).toString('hex');
    const res = await fetch(url, { method: 'POST', body: JSON.stringify({ ...body, transaction }) });
    const j = await res.json();
    if (j.janus === 'error') throw new Error(`janus ${body.janus}: ${j.error?.code} ${j.error?.reason}`);
    return j;
  };

  // up when the HTTP API answers
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null || i > 100) {
      proc.kill('SIGKILL');
      cleanup();
      throw new Error(`janus did not start: ${logText.slice(-1500)}`);
    }
    const ok = await fetch(`${base}/info`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await sleep(100);
  }
  const session = (await post(base, { janus: 'create' })).data.id;
  const sessionUrl = `${base}/${session}`;

  // the session's events, from the long poll; a message's result is the event with its transaction
  const waiters = new Map(); // transaction → resolve
  let polling = true;
  const poll = (async () => {
    while (polling) {
      let events;
      try {
        const res = await fetch(`${sessionUrl}?maxev=20&rid=${Date.now()}`);
        events = await res.json();
      } catch (err) {
        if (polling) debug('long poll:', err.message);
        await sleep(50);
        continue;
      }
      for (const ev of Array.isArray(events) ? events : [events]) {
        if (ev.janus === 'keepalive') continue;
        if (ev.janus !== 'event' || !ev.transaction) debug('event', ev.sender, ev.janus, ev.reason || ev.type || '');
        if (ev.transaction && waiters.has(ev.transaction)) {
          waiters.get(ev.transaction)(ev);
          waiters.delete(ev.transaction);
        }
      }
    }
  })();

  /** A NoSIP request on a handle; resolves with its event's { result, jsep }. */
  const message = (handle, body, jsep, ms = 10000) =>
    new Promise((resolve, reject) => {
      const transaction = randomBytes(6).toString('hex');
      const t = setTimeout(() => {
        waiters.delete(transaction);
        reject(new Error(`janus nosip ${body.request}: no event in ${ms} ms\n${logText.slice(-1500)}`));
      }, ms);
      waiters.set(transaction, (ev) => {
        clearTimeout(t);
        const data = ev.plugindata?.data;
        if (!data || data.error) reject(new Error(`janus nosip ${body.request}: ${data?.error_code} ${data?.error}`));
        else resolve({ result: data.result, jsep: ev.jsep });
      });
      fetch(`${sessionUrl}/${handle}`, { method: 'POST', body: JSON.stringify({ janus: 'message', transaction, body, ...(jsep ? { jsep } : {}) }) })
        .then((r) => r.json())
        .then((j) => {
          if (j.janus === 'error') throw new Error(`janus nosip ${body.request}: ${j.error?.code} ${j.error?.reason}`);
        })
        .catch((err) => {
          clearTimeout(t);
          waiters.delete(transaction);
          reject(err);
        });
    });

  const handles = new Map(); // call key → handle id
  return {
    pid: proc.pid,
    log: () => logText,
    offer: async (key, panelSdp) => {
      const handle = (await post(sessionUrl, { janus: 'attach', plugin: 'janus.plugin.nosip' })).data.id;
      handles.set(key, handle);
      // the panel's plain SDP is the remote offer; Janus's core turns it into a JSEP offer
      // (ICE candidates, DTLS fingerprint, its own SSRCs) for the browser
      const { result, jsep } = await message(handle, { request: 'process', type: 'offer', sdp: panelSdp });
      if (result?.event !== 'processed' || jsep?.type !== 'offer') throw new Error(`janus nosip process: ${JSON.stringify(result)}`);
      return { browser: jsep.sdp };
    },
    answer: async (key, browserSdp) => {
      // the browser's JSEP answer: NoSIP binds its RTP ports and writes the plain answer
      const { result } = await message(handles.get(key), { request: 'generate' }, { type: 'answer', sdp: browserSdp });
      if (result?.event !== 'generated' || !result.sdp) throw new Error(`janus nosip generate: ${JSON.stringify(result)}`);
      return result.sdp;
    },
    hangup: async (key) => {
      const handle = handles.get(key);
      if (!handle) return;
      handles.delete(key);
      await message(handle, { request: 'hangup' }, undefined, 2000).catch(() => undefined);
      await post(`${sessionUrl}/${handle}`, { janus: 'detach' }).catch(() => undefined);
    },
    close: async () => {
      polling = false;
      await post(sessionUrl, { janus: 'destroy' }).catch(() => undefined);
      await Promise.race([poll, sleep(1000)]);
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      cleanup();
    },
  };
}

module.exports = { janus };
