/** baresip as a real peer for media tests: headless, auto-answer, ctrl_tcp events. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

export interface Baresip {
  child: ChildProcess;
  sipPort: number;
  events: Array<Record<string, unknown>>;
  command(command: string, params?: string): void;
  stop(): Promise<void>;
}

/**
 * `answerMode`: 'auto' (default) answers every call; 'manual' lets it ring (a phone nobody picks up).
 * `who`: the user and display name it calls as (a panel: `{ user: '100', display: 'Guest 101' }`),
 * or the accounts line (`<sip:panel@127.0.0.1:5060>;auth_pass=…` to register), as text or made
 * from its SIP port, for a baresip that registers somewhere
 * (default: `<sip:phone@127.0.0.1:port>`, no registration).
 */
export async function startBaresip(dir: string, source?: string, extraConfig: string[] = [], answerMode: 'auto' | 'manual' = 'auto', whoOrAccount: { user?: string; display?: string } | string | ((sipPort: number) => string) = {}): Promise<Baresip> {
  const who = typeof whoOrAccount === 'object' ? whoOrAccount : {};
  const account = typeof whoOrAccount === 'function' ? whoOrAccount : typeof whoOrAccount === 'string' ? () => whoOrAccount : undefined;
  const sipPort = await freeSipPort();
  const ctrlPort = await freeTcpPort();
  let voice = source;
  if (!voice) {
    voice = path.join(dir, 'voice.wav');
    // baresip only sends RFC 4733 packets while an audio source runs (../shared/docs/PEERS.md).
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', voice, 'synth', '30', 'sine', '300', 'vol', '0.05']);
  }
  writeFileSync(
    path.join(dir, 'config'),
    [
      `sip_listen 127.0.0.1:${sipPort}`,
      'net_interface 127.0.0.1',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module_app account.so', // reads DIR/accounts
      'module_app menu.so', // the dial/sndcode/hangup commands ctrl_tcp forwards
      'module ctrl_tcp.so',
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      `audio_source aufile,${voice}`,
      'audio_player aubridge,nil',
      'module aubridge.so',
      // wide and apart from our 16384-32766, so parallel tests do not collide
      'rtp_ports 40000-49998',
      ...extraConfig,
      '',
    ].join('\n'),
  );
  const display = who.display ? `"${who.display.replace(/"/g, '')}" ` : '';
  const line = account ? account(sipPort) : `${display}<sip:${who.user ?? 'phone'}@127.0.0.1:${sipPort}>;regint=0`;
  writeFileSync(path.join(dir, 'accounts'), `${line};answermode=${answerMode}\n`);
  const child = spawn('baresip', ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const sock = (await waitFor(
    () =>
      new Promise<net.Socket | null>((resolve) => {
        const s = net.connect(ctrlPort, '127.0.0.1', () => resolve(s));
        s.once('error', () => resolve(null));
      }),
    `baresip ctrl_tcp (${out.slice(-300)})`,
    8000,
    100,
  )) as net.Socket;
  const events: Array<Record<string, unknown>> = [];
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString();
    // netstrings: <len>:<json>,
    for (;;) {
      const colon = buf.indexOf(':');
      if (colon < 0) break;
      const len = Number(buf.slice(0, colon));
      if (buf.length < colon + 1 + len + 1) break;
      try {
        events.push(JSON.parse(buf.slice(colon + 1, colon + 1 + len)));
      } catch {
        // not JSON: ignore
      }
      buf = buf.slice(colon + len + 2);
    }
  });
  let token = 0;
  return {
    child,
    sipPort,
    events,
    command(command, params) {
      const json = JSON.stringify({ command, params, token: String(++token) });
      sock.write(`${Buffer.byteLength(json)}:${json},`);
    },
    async stop() {
      sock.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        // a plain delay() here would keep jest alive 2 s after every test
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (grace = setTimeout(r, 2000)))]);
        clearTimeout(grace);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

