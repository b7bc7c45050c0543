/** Shared set-up for the SIP peer tests: our endpoint on a free loopback port, sipp runs. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentMediaFactory } from '../helpers/silent-media';
import { SipEndpoint, type EndpointOptions } from '../../nodes/lib/sip/endpoint';
import { SipTransport, type Protocol } from '../../nodes/lib/sip/transport';
import { freeSipPort } from '../helpers/ports';

export const SCENARIOS = path.join(__dirname, 'sip-scenarios');

export interface Wire {
  direction: 'in' | 'out';
  first: string;
  at: number;
  data: string;
}

export async function startEndpoint(opts: Partial<EndpointOptions> & { protocol?: Protocol } = {}): Promise<{ ep: SipEndpoint; transport: SipTransport; wire: Wire[]; port: number }> {
  const port = await freeSipPort();
  const wire: Wire[] = [];
  const transport = new SipTransport({
    protocol: opts.protocol ?? 'udp',
    host: '127.0.0.1',
    port,
    trace: (direction, data) => wire.push({ direction, first: data.split('\r\n')[0], at: Date.now(), data }),
  });
  await transport.start();
  const ep = new SipEndpoint({ transport, mediaFactory: silentMediaFactory(), mode: 'p2p', user: 'door', ...opts });
  return { ep, transport, wire, port };
}

const children = new Set<ChildProcess>();
export function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
}

/** Run sipp to completion; resolves with its exit code (0 = every call passed). */
export function sipp(args: string[], timeoutMs = 20000): Promise<{ code: number | null; errors: string; stderr: string }> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sipp-'));
  return new Promise((resolve) => {
    const child = spawn('sipp', ['-nostdin', '-i', '127.0.0.1', '-trace_err', '-timeout', `${Math.round(timeoutMs / 1000)}s`, '-timeout_error', ...args], { cwd });
    children.add(child);
    let stderr = '';
    let errors = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', () => undefined);
    child.on('exit', (code) => {
      children.delete(child);
      for (const f of fs.readdirSync(cwd)) if (f.endsWith('errors.log')) errors += fs.readFileSync(path.join(cwd, f), 'utf8');
      fs.rmSync(cwd, { recursive: true, force: true });
      resolve({ code, errors, stderr });
    });
  });
}

export function scenario(name: string): string {
  return path.join(SCENARIOS, name + '.xml');
}
