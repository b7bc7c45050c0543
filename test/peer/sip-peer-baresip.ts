/** baresip as a panel stand-in: config dir, ctrl_tcp JSON netstrings, events. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

export interface Baresip {
  sipPort: number;
  events: Array<Record<string, any>>;
  command(command: string, params?: string): Promise<Record<string, any>>;
  waitEvent(type: string, timeoutMs?: number): Promise<Record<string, any>>;
  stop(): Promise<void>;
  log(): string;
}

export async function startBaresip(account: string): Promise<Baresip> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baresip-'));
  const sipPort = await freeSipPort();
  const ctrlPort = await freeTcpPort();
  fs.writeFileSync(
    path.join(dir, 'config'),
    [
      `sip_listen 127.0.0.1:${sipPort}`,
      'net_interface 127.0.0.1',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module account.so',
      'module menu.so',
      'module ctrl_tcp.so',
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      'audio_player aubridge,nil',
      'audio_source aubridge,nil',
      'sip_trans_def udp',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'accounts'), account + '\n');
  const child: ChildProcess = spawn('baresip', ['-f', dir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const sock: net.Socket = await waitFor<net.Socket>(
    () =>
      new Promise<net.Socket>((resolve) => {
        const s = net.connect(ctrlPort, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', () => resolve(undefined as unknown as net.Socket));
      }),
    'baresip ctrl_tcp',
    5000,
    50,
  );
  const events: Array<Record<string, any>> = [];
  const responses = new Map<string, (m: Record<string, any>) => void>();
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString();
    for (;;) {
      const colon = buf.indexOf(':');
      if (colon < 0) return;
      const len = Number(buf.slice(0, colon));
      if (buf.length < colon + 1 + len + 1) return;
      const json = buf.slice(colon + 1, colon + 1 + len);
      buf = buf.slice(colon + 1 + len + 1);
      try {
        const m = JSON.parse(json) as Record<string, any>;
        if (m.response && m.token) responses.get(m.token)?.(m);
        else if (m.event) events.push(m);
      } catch {
        /* not JSON: ignore */
      }
    }
  });
  let token = 0;
  return {
    sipPort,
    events,
    log: () => log,
    command(command, params) {
      const t = String(++token);
      const body = JSON.stringify({ command, params, token: t });
      sock.write(`${Buffer.byteLength(body)}:${body},`);
      return new Promise((resolve) => responses.set(t, resolve));
    },
    waitEvent(type, timeoutMs = 5000) {
      return waitFor(() => events.find((e) => e.type === type), `baresip event ${type}`, timeoutMs) as Promise<Record<string, any>>;
    },
    async stop() {
      sock.destroy();
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
