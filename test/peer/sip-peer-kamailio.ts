/** A throwaway kamailio registrar on loopback: digest via the auth module (no database). */
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Kamailio {
  port: number;
  stop(): Promise<void>;
  log(): string;
}

export async function startKamailio(port: number, o: { algorithm: 'MD5' | 'SHA-256'; minExpires: number; user: string; password: string }): Promise<Kamailio> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kam-'));
  const cfg = `#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
listen=udp:127.0.0.1:${port}
listen=tcp:127.0.0.1:${port}
alias="127.0.0.1:${port}"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
modparam("registrar", "min_expires", ${o.minExpires})
modparam("registrar", "min_expires_mode", 1)
modparam("auth", "algorithm", "${o.algorithm}")
request_route {
  if (is_method("REGISTER")) {
    if (!pv_www_authenticate("127.0.0.1", "${o.password}", "0")) {
      www_challenge("127.0.0.1", "1");
      exit;
    }
${o.user === '*' ? '' : `    if ($au != "${o.user}") { sl_send_reply("403", "Forbidden"); exit; }`}
    if (!save("location")) sl_reply_error();
    exit;
  }
  if (is_method("INVITE")) {
    if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
    t_relay();
    exit;
  }
  if (is_method("ACK|CANCEL|BYE")) { t_relay(); exit; }
  sl_send_reply("405", "Method Not Allowed");
}
`;
  fs.writeFileSync(path.join(dir, 'kamailio.cfg'), cfg);
  // Its own process group: kamailio forks workers, and a worker left behind keeps the test
  // runner from exiting, so stop() signals the whole group.
  const child: ChildProcess = spawn('kamailio', ['-f', path.join(dir, 'kamailio.cfg'), '-DD', '-E', '-Y', dir, '-P', path.join(dir, 'k.pid')], { cwd: dir, detached: true });
  const group = (sig: NodeJS.Signals): void => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  let log = '';
  child.stderr?.on('data', (d) => (log += d));
  child.stdout?.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await ready(port, 5000).catch((err: Error) => {
    group('SIGKILL');
    throw new Error(err.message + '\n' + log);
  });
  return {
    port,
    log: () => log,
    async stop() {
      group('SIGTERM');
      const t = setTimeout(() => group('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
      group('SIGKILL'); // any worker that outlived the main process
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** kamailio answers an OPTIONS (405 here) once its UDP worker runs. */
async function ready(port: number, timeoutMs: number): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const end = Date.now() + timeoutMs;
  try {
    let done = false;
    await new Promise<void>((resolve, reject) => {
      s.on('message', () => {
        done = true;
        resolve();
      });
      const ping = (): void => {
        if (done) return;
        if (Date.now() > end) return reject(new Error('kamailio did not answer'));
        const msg = `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${s.address().port};branch=z9hG4bK${Date.now()}\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: probe${Date.now()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
        s.send(msg, port, '127.0.0.1');
        setTimeout(ping, 100);
      };
      ping();
    });
  } finally {
    s.close();
  }
}
