/**
 * `npm start` end to end (issue 3, item 6): with PORT and NODE_RED_USER_DIR pointing at a
 * free loopback port and a temp dir, it serves Node-RED with this checkout's nodes in the
 * palette and the getting-started flow loaded, the way a newcomer first sees it.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkRegistration } from '../helpers/package-contract';
import { NodeRedInstance, assertBuilt, get, getJson, launch, nodeRed4, repoRoot, rmDir } from '../helpers/package';
import { delay } from '../helpers/wait';
import { freeTcpPort } from '../helpers/ports';

jest.setTimeout(60000);

describe('npm start', () => {
  let nr: NodeRedInstance | undefined;
  let userDir: string | undefined;
  beforeAll(async () => {
    assertBuilt(); // so npm start does not rebuild dist/ under other test workers
    userDir = fs.mkdtempSync(path.join(tmpdir(), 'nrsi-start-'));
    const port = await freeTcpPort();
    nr = await launch('npm', ['start', '--silent'], { cwd: repoRoot, env: { PORT: String(port), NODE_RED_USER_DIR: userDir, npm_config_update_notifier: 'false' } }, port, userDir, nodeRed4());
  }, 90000);
  afterAll(async () => {
    await nr?.stop();
    rmDir(userDir);
  });

  test('serves the editor on 127.0.0.1 with every declared node loaded from the checkout', async () => {
    expect(nr!.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    const page = await get(`${nr!.url}/`, 'text/html');
    expect(page.status).toBe(200);
    expect(await checkRegistration(nr!)).toEqual([]);
    const info = await getJson<{ path: string }>(`${nr!.url}/nodes/node-red-contrib-sip-intercom`);
    expect(fs.realpathSync(info.path)).toBe(fs.realpathSync(repoRoot));
  });

  test('starts with the getting-started example as its flow', async () => {
    const starter = path.join(repoRoot, 'examples', 'Getting started', 'Journal every event.json');
    if (!fs.existsSync(starter)) {
      process.stderr.write('\n[package] no examples/Getting started/Journal every event.json in this checkout; flow check skipped\n');
      return;
    }
    const flows = await getJson<{ id: string; type: string }[]>(`${nr!.url}/flows`);
    const want = JSON.parse(fs.readFileSync(starter, 'utf8')) as { id: string; type: string }[];
    expect(flows.map((n) => `${n.type}:${n.id}`).sort()).toEqual(want.map((n) => `${n.type}:${n.id}`).sort());
  });
});

describe('npm start ends with its parent', () => {
  test('killing npm (SIGKILL, no chance to pass a signal on) stops Node-RED and frees its port', async () => {
    assertBuilt();
    const userDir = fs.mkdtempSync(path.join(tmpdir(), 'nrsi-start-kill-'));
    const port = await freeTcpPort();
    const nr = await launch('npm', ['start', '--silent'], { cwd: repoRoot, env: { PORT: String(port), NODE_RED_USER_DIR: userDir, npm_config_update_notifier: 'false' } }, port, userDir, nodeRed4());
    try {
      process.kill(nr.pid, 'SIGKILL'); // npm alone: the shell and Node-RED below it get no signal
      const groupAlive = (): boolean => {
        try {
          process.kill(-nr.pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      const t0 = Date.now();
      while (groupAlive() && Date.now() - t0 < 15000) await delay(100);
      expect(groupAlive()).toBe(false);
      await expect(get(`${nr.url}/settings`, 'application/json', 1000)).rejects.toThrow();
    } finally {
      await nr.stop();
      rmDir(userDir);
    }
  }, 90000);
});
