/**
 * A real Node-RED child on loopback with this package linked into its user dir, for tests
 * that need the runtime as users run it (crash tests, the editor). Only 127.0.0.1.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const root = path.resolve(__dirname, '..', '..');

/** The child loads the compiled package: build it when the sources are newer than dist. */
export function ensureBuilt(sources: string[]): void {
  const stamp = path.join(root, 'dist', '.stamp');
  const newest = Math.max(...sources.map((f) => statSync(path.join(root, f)).mtimeMs));
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newest) return;
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.js')], { cwd: root, stdio: 'ignore', env: { ...process.env, QUIET_BUILD: '1' } });
}

/** A user dir with the package linked, settings on 127.0.0.1:port, and the given flow. */
export function prepareUserDir(dir: string, port: number, flow: unknown, opts: { editor?: boolean } = {}): void {
  mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  const link = path.join(dir, 'node_modules', 'node-red-contrib-sip-intercom');
  if (!existsSync(link)) symlinkSync(root, link, 'dir');
  const http = opts.editor ? '' : 'httpAdminRoot: false, httpNodeRoot: false,';
  writeFileSync(
    path.join(dir, 'settings.js'),
    `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, ${http} flowFile: 'flows.json', credentialSecret: false,
      editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } }, diagnostics: { enabled: false }, logging: { console: { level: 'info' } } };\n`,
  );
  writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(flow));
}

export interface Child {
  proc: ChildProcess;
  /** ids logged by function nodes as "ACK <id>" */
  acks: string[];
  log: string[];
  exited: Promise<number | null>;
}

/** `env`: added to the child's environment (a flow's env.get reads it, as in a container). */
export function startNodeRed(userDir: string, env: Record<string, string> = {}): Child {
  const redJs = require.resolve('node-red/red.js', { paths: [root] });
  const proc = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
    cwd: userDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const c: Child = { proc, acks: [], log: [], exited: new Promise((r) => proc.on('exit', (code) => r(code))) };
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines) {
      const m = / ACK (\S+)$/.exec(line);
      if (m) c.acks.push(m[1]);
      else c.log.push(line);
    }
  });
  proc.stderr?.on('data', (d: Buffer) => c.log.push(d.toString('utf8')));
  return c;
}

export async function stopNodeRed(c: Child | null, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill(signal);
  await c.exited;
}
