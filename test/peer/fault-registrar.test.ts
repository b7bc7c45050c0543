/**
 * The registrar restarts under a registered client account (kamailio without a database:
 * a restart forgets every binding, as many PBXs do), with the account's default settings
 * and the 600 s binding a user would keep. Over UDP and TCP:
 *   - down for a while: the account says the registrar does not answer (not "registered"),
 *     and once kamailio is back the account is registered again and a call through kamailio
 *     reaches the door, both < 2 s after kamailio answers again;
 *   - a quick restart no keepalive saw as an outage: the lost binding is noticed and renewed,
 *     and a call through kamailio reaches the door < 2 s after it is back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SipAccount, type AccountStatus } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { killAll, scenario, sipp } from './sip-harness';

jest.setTimeout(90_000);

/**
 * kamailio as a plain registrar and proxy, routed the way its default configuration routes:
 * every request to a local user (INVITE, OPTIONS, ...) goes through the location table, 404
 * when the user has no binding.
 */
class Registrar {
  private child: ChildProcess | null = null;
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kam-fault-'));
  constructor(readonly port: number) {
    fs.writeFileSync(
      path.join(this.dir, 'kamailio.cfg'),
      `#!KAMAILIO
debug=1
log_stderror=yes
children=2
tcp_children=2
listen=udp:127.0.0.1:${port}
listen=tcp:127.0.0.1:${port}
alias="127.0.0.1:${port}"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
request_route {
  if (has_totag()) { if (loose_route() || is_method("ACK|BYE")) { t_relay(); } exit; }
  if (is_method("REGISTER")) {
    if (!pv_www_authenticate("127.0.0.1", "pw", "0")) { www_challenge("127.0.0.1", "1"); exit; }
    if (!save("location")) sl_reply_error();
    exit;
  }
  if (is_method("CANCEL")) { t_relay(); exit; }
  if ($rU == $null) { sl_send_reply("200", "OK"); exit; }
  if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
  record_route();
  t_relay();
}
`,
    );
  }

  async start(): Promise<void> {
    this.child = spawn('kamailio', ['-f', path.join(this.dir, 'kamailio.cfg'), '-DD', '-E', '-Y', this.dir, '-P', path.join(this.dir, 'k.pid')], { cwd: this.dir, detached: true, stdio: 'ignore' });
    const s = require('node:dgram').createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    let up = false;
    s.on('message', () => (up = true));
    try {
      await waitFor(
        () => {
          s.send(`OPTIONS sip:127.0.0.1:${this.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${s.address().port};branch=z9hG4bK${Date.now()}${Math.random()}\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: p${Date.now()}${Math.random()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`, this.port, '127.0.0.1');
          return up;
        },
        'kamailio answering',
        10_000,
        20,
      );
    } finally {
      s.close();
    }
  }

  async stop(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    await gone;
    // its workers too
    await delay(100);
  }

  dispose(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

describeWithPeers(['kamailio', 'sipp'], 'registrar restart', () => {
  let kam: Registrar | null = null;
  let acc: SipAccount | null = null;
  afterEach(async () => {
    killAll();
    await acc?.close();
    acc = null;
    await kam?.stop();
    kam?.dispose();
    kam = null;
  });

  async function setup(protocol: 'udp' | 'tcp') {
    kam = new Registrar(await freeSipPort());
    await kam.start();
    const a = new SipAccount(
      { name: 'door', mode: 'client', protocol, bindAddress: '127.0.0.1', bindPort: await freeSipPort(), server: `127.0.0.1:${kam.port}`, domain: '127.0.0.1', user: 'door', password: 'pw', expires: 600 },
      { mediaFactory: createRtpMediaFactory() },
    );
    acc = a;
    const statuses: Array<{ at: number; s: AccountStatus; reason?: string }> = [];
    a.on('status', (s, d) => statuses.push({ at: Date.now(), s, reason: d.reason }));
    a.on('call', (c: Call) => void c.answer().catch(() => undefined));
    await a.start();
    await waitFor(() => a.status === 'registered', 'registered');
    return { a, statuses };
  }

  /** A panel calls door@kamailio (sipp over UDP): 0 when the call went through to us and back. */
  const callThroughRegistrar = async (): Promise<number | null> =>
    (await sipp(['-sf', scenario('uac-bye'), '-s', 'door', '-m', '1', '-p', String(await freeSipPort()), '-timeout', '3s', `127.0.0.1:${kam!.port}`], 6000)).code;

  /** Calls every 200 ms from `from` until one gets through; ms from `from` to that call's start. */
  async function firstCallThrough(from: number): Promise<number> {
    for (;;) {
      const started = Date.now();
      if ((await callThroughRegistrar()) === 0) return started - from;
      if (Date.now() - from > 20_000) throw new Error('no call through kamailio within 20 s');
      await delay(200);
    }
  }

  for (const protocol of ['udp', 'tcp'] as const) {
    test(`${protocol}: down for 5 s — "not answering" while down; registered and reachable < 2 s after it is back`, async () => {
      const { a, statuses } = await setup(protocol);
      expect(await callThroughRegistrar()).toBe(0);
      await kam!.stop();
      const downAt = Date.now();
      await waitFor(() => a.status === 'failed', 'the account to say the registrar is gone', 8000, 20);
      const saidAfter = Date.now() - downAt;
      expect(statuses[statuses.length - 1]).toMatchObject({ s: 'failed', reason: 'noAnswer' });
      await delay(Math.max(0, 5000 - (Date.now() - downAt)));
      await kam!.start();
      const backAt = Date.now();
      await waitFor(() => a.status === 'registered', 'registered again', 10_000, 10);
      const registeredAfter = Date.now() - backAt;
      const callAfter = await firstCallThrough(backAt);
      if (process.env.FAULT_VERBOSE) console.log(`${protocol}, 5 s outage: "failed: noAnswer" ${saidAfter} ms after the registrar went, registered ${registeredAfter} ms and first call through ${callAfter} ms after it was back`);
      expect(registeredAfter).toBeLessThan(2000);
      expect(callAfter).toBeLessThan(2000);
    });

    test(`${protocol}: a quick restart (binding forgotten) — reachable again < 2 s after it is back`, async () => {
      const { a } = await setup(protocol);
      expect(await callThroughRegistrar()).toBe(0);
      await kam!.stop();
      await kam!.start();
      const backAt = Date.now();
      const callAfter = await firstCallThrough(backAt);
      if (process.env.FAULT_VERBOSE) console.log(`${protocol}, quick restart: first call through ${callAfter} ms after the registrar was back; account ${a.status}`);
      expect(callAfter).toBeLessThan(2000);
      expect(a.status).toBe('registered');
    });
  }
});
