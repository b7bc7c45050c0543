/**
 * The journal's promise, tested against a real crash: a Node-RED child journals 10,000
 * events in a loop and logs each acknowledgement (the msg left intercom-journal, so the
 * line was fsync'ed); we kill -9 it mid-run, restart it on the same file, and check that
 * every acknowledged event is there and the file reads cleanly.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

const root = path.resolve(__dirname, '..', '..');

/** The child loads the compiled package: build it when the journal sources are newer. */
function ensureBuilt(): void {
  const stamp = path.join(root, 'dist', '.stamp');
  const sources = ['nodes/intercom-journal.ts', 'nodes/lib/journal/journal.ts', 'nodes/shared/journal-event.ts'].map((f) => statSync(path.join(root, f)).mtimeMs);
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= Math.max(...sources)) return;
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build.js')], { cwd: root, stdio: 'ignore', env: { ...process.env, QUIET_BUILD: '1' } });
}

function flow(run: string, file: string, total: number) {
  const next = (n: string) =>
    `{ topic: 'ring', seq: ${n}, door: 'gate', call: { id: '${run}-' + ${n}, from: { user: '84951234567' }, source: '127.0.0.1:5060' } }`;
  return [
    { id: 'tab', type: 'tab', label: 'crash test' },
    { id: 'inj', type: 'inject', z: 'tab', once: true, onceDelay: 0.1, repeat: '', topic: '', props: [], wires: [['start']] },
    { id: 'start', type: 'function', z: 'tab', func: `return ${next('0')};`, outputs: 1, wires: [['j']] },
    { id: 'j', type: 'intercom-journal', z: 'tab', file, wires: [['ack']] },
    {
      id: 'ack',
      type: 'function',
      z: 'tab',
      outputs: 1,
      func: `node.log('ACK ' + msg.call.id); const n = msg.seq + 1; if (n >= ${total}) { node.log('DONE ${run}'); return null; } return ${next('n')};`,
      wires: [['j']],
    },
  ];
}

interface Child {
  proc: ChildProcess;
  acks: string[];
  log: string[];
  exited: Promise<number | null>;
}

function startNodeRed(userDir: string): Child {
  const redJs = require.resolve('node-red/red.js', { paths: [root] });
  const proc = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], {
    cwd: userDir,
    stdio: ['ignore', 'pipe', 'pipe'],
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

describe('intercom-journal survives kill -9 of Node-RED', () => {
  let dir: string;
  let child: Child | null = null;
  beforeAll(() => ensureBuilt(), 120_000);
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'journal-crash-'));
  });
  afterEach(async () => {
    if (child && child.proc.exitCode === null && child.proc.signalCode === null) {
      child.proc.kill('SIGKILL');
      await child.exited;
    }
    child = null;
    rmSync(dir, { recursive: true, force: true });
  });

  test('every acknowledged event is in the file after a crash mid-run, and the file stays readable', async () => {
    const port = await freeTcpPort();
    mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
    symlinkSync(root, path.join(dir, 'node_modules', 'node-red-contrib-sip-intercom'), 'dir');
    writeFileSync(
      path.join(dir, 'settings.js'),
      `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, httpAdminRoot: false, httpNodeRoot: false, flowFile: 'flows.json',
        credentialSecret: false, editorTheme: { tours: false }, logging: { console: { level: 'info' } } };\n`,
    );
    const file = path.join(dir, 'events.jsonl');

    // Run 1: 10,000 events planned; killed without warning once a good share is acknowledged.
    writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(flow('r1', file, 10_000)));
    child = startNodeRed(dir);
    const killAt = 1500 + Math.floor(Math.random() * 1500);
    await waitFor(() => child!.acks.length >= killAt || child!.proc.exitCode !== null, `${killAt} acks`, 40_000, 5).catch((err) => {
      throw new Error(`${(err as Error).message}\n${child!.log.slice(-20).join('\n')}`);
    });
    expect(child.proc.exitCode).toBeNull();
    child.proc.kill('SIGKILL');
    await child.exited;
    const acked = [...child.acks];
    expect(acked.length).toBeGreaterThanOrEqual(killAt);
    expect(acked.length).toBeLessThan(10_000); // it really was mid-run

    // Run 2 on the same file: the journal repairs any torn tail and appends cleanly.
    writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(flow('r2', file, 100)));
    child = startNodeRed(dir);
    await waitFor(() => child!.acks.length >= 100, 'run 2 acks', 30_000, 10);
    child.proc.kill('SIGTERM');
    await child.exited;

    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe(''); // ends with a newline: no torn line left behind
    const events = lines.map((l, i) => {
      try {
        return JSON.parse(l) as { callId: string; event: string; door: string };
      } catch {
        throw new Error(`line ${i + 1} is not JSON: ${l.slice(0, 80)}`);
      }
    });
    const ids = new Set(events.map((e) => e.callId));
    const missing = acked.filter((id) => !ids.has(id));
    expect(missing).toEqual([]);
    for (let i = 0; i < 100; i++) expect(ids.has(`r2-${i}`)).toBe(true);
    expect(events[0]).toMatchObject({ event: 'ring', door: 'gate' });
  }, 90_000);
});
