'use strict';
// Calls answered + BYE per second under sipp (built-in UAC: INVITE, 200, ACK, BYE), for our
// SIP user agent and for baresip (auto-answer) on the same box in one run, with the ratio;
// then the same with `sipp -lost 10` (10 % simulated loss) where retransmissions (Timer A/E/G
// on both sides) must carry every call through. Usage: npm run bench sip-calls
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const dgram = require('node:dgram');
const { SipAccount } = require('../dist/nodes/lib/sip/account');
const { createRtpMediaFactory } = require('../dist/nodes/lib/media/call-media');

const CALLS = Number(process.env.SIP_BENCH_CALLS || 3000);
const RATE = Number(process.env.SIP_BENCH_RATE || 3000);
const LIMIT = Number(process.env.SIP_BENCH_LIMIT || 200);

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

function which(p) {
  return (process.env.PATH || '').split(':').some((d) => fs.existsSync(path.join(d, p)));
}

/** Run sipp's built-in UAC against host:port; returns { ok, failed, retrans, seconds }. */
function runSipp(port, extra = []) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sipp-bench-'));
  return new Promise((resolve) => {
    freePort().then((local) => {
      const args = ['-sn', 'uac', '-s', 'door', '-i', '127.0.0.1', '-p', String(local), '-r', String(RATE), '-l', String(LIMIT), '-m', String(CALLS), '-nostdin', '-bg', '-trace_stat', '-fd', '1', '-timeout', '120s', ...extra, `127.0.0.1:${port}`];
      const t0 = process.hrtime.bigint();
      const child = spawn('sipp', args.filter((a) => a !== '-bg'), { cwd, stdio: 'ignore' });
      child.on('exit', () => {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const csv = fs.readdirSync(cwd).find((f) => f.endsWith('.csv'));
        let ok = 0;
        let failed = 0;
        let retrans = 0;
        if (csv) {
          const lines = fs.readFileSync(path.join(cwd, csv), 'utf8').trim().split('\n');
          const head = lines[0].split(';');
          const last = lines[lines.length - 1].split(';');
          const col = (name) => Number(last[head.indexOf(name)]);
          ok = col('SuccessfulCall(C)');
          failed = col('FailedCall(C)');
          retrans = col('Retransmissions(C)');
        }
        fs.rmSync(cwd, { recursive: true, force: true });
        resolve({ ok, failed, retrans, seconds, rate: ok / seconds });
      });
    });
  });
}

async function ours(extra) {
  const port = await freePort();
  // sipp keeps up to LIMIT calls open; lift the door-sized flood limit (16) for the load test
  const acc = new SipAccount({ name: 'bench', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', maxInboundCalls: LIMIT * 2 }, { mediaFactory: createRtpMediaFactory() });
  await acc.start();
  acc.on('call', (c) => c.answer().catch(() => undefined));
  const lag = { max: 0 };
  let last = process.hrtime.bigint();
  const probe = setInterval(() => {
    const now = process.hrtime.bigint();
    lag.max = Math.max(lag.max, Number(now - last) / 1e6 - 20);
    last = now;
  }, 20);
  const r = await runSipp(port, extra);
  clearInterval(probe);
  await acc.close();
  return { ...r, lagMs: lag.max };
}

async function baresip(extra) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baresip-bench-'));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, 'config'),
    [`sip_listen 127.0.0.1:${port}`, 'net_interface 127.0.0.1', 'module_path /usr/lib/baresip/modules', 'module g711.so', 'module account.so', 'audio_player aubridge,nil', 'audio_source aubridge,nil', 'call_max_calls 1000', ''].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'accounts'), '<sip:door@127.0.0.1>;regint=0;answermode=auto\n');
  const child = spawn('baresip', ['-f', dir], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 800));
  const r = await runSipp(port, extra);
  child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
  return r;
}

function line(name, r) {
  const lag = r.lagMs !== undefined ? `, event-loop lag max ${r.lagMs.toFixed(1)} ms` : '';
  return `${name.padEnd(28)} ${r.rate.toFixed(1).padStart(7)} calls/s  ok ${r.ok}/${CALLS}  failed ${r.failed}  sipp retrans ${r.retrans}  (${r.seconds.toFixed(1)} s${lag})`;
}

(async () => {
  if (!which('sipp') || !which('baresip')) {
    console.log('sip-calls: needs sipp and baresip on PATH (see PEERS.md); skipped');
    return;
  }
  console.log(`sipp built-in UAC, ${CALLS} calls, rate ${RATE}/s, at most ${LIMIT} at once, loopback UDP`);
  for (const [label, extra] of [
    ['no loss', []],
    ['sipp -lost 10', ['-lost', '10']],
  ]) {
    const a = await ours(extra);
    const b = await baresip(extra);
    console.log(`-- ${label}`);
    console.log(line('ours (SipAccount p2p)', a));
    console.log(line('baresip auto-answer', b));
    console.log(`ratio ours/baresip: ${(a.rate / b.rate).toFixed(2)}`);
    // the figure only counts with every call carried through
    if (a.failed > 0 || a.ok !== CALLS) process.exitCode = 1;
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
