/**
 * The editor as users see it: a real Node-RED with this package, driven by Debian's
 * chromium (playwright-core, no downloaded browser). The access nodes are in the palette,
 * their edit dialogs open without script errors, the PIN field is a credential that never
 * comes back to the browser, and the help is there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { launchChromium } from '../helpers/browser';
import { describeWithPeers, which } from '../helpers/peers';
import { freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { ensureBuilt, prepareUserDir, startNodeRed, stopNodeRed, type Child } from '../node/access-node-red-child';

// These run inside the page (playwright evaluates them there); the test tsconfig has no DOM lib.
declare const window: any;
declare const document: { querySelectorAll(sel: string): Iterable<{ getAttribute(name: string): string | null }> };

const flow = [
  { id: 'tab', type: 'tab', label: 'access' },
  { id: 'wl', type: 'intercom-whitelist', z: 'tab', name: 'rules', mode: 'caller', rules: '495-XXX-XX-XX', x: 200, y: 100, wires: [[], []] },
  { id: 'pin', type: 'intercom-whitelist', z: 'tab', name: 'pin', mode: 'pin', x: 200, y: 160, wires: [[], []] },
  { id: 'tw', type: 'intercom-time-window', z: 'tab', name: 'hours', timezone: 'Europe/Berlin', mon: '09:00-18:00', x: 200, y: 220, wires: [[], []] },
  { id: 'jr', type: 'intercom-journal', z: 'tab', file: 'j.jsonl', x: 200, y: 280, wires: [[]] },
];

describeWithPeers(['chromium'], 'access nodes in the Node-RED editor', () => {
  let dir: string;
  let child: Child | null = null;
  beforeAll(() => {
    ensureBuilt([
      'nodes/intercom-whitelist.ts',
      'nodes/intercom-time-window.ts',
      'nodes/intercom-journal.ts',
      'nodes/intercom-whitelist.html',
      'nodes/intercom-time-window.html',
      'nodes/intercom-journal.html',
    ]);
  }, 120_000);
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'access-editor-'));
  });
  afterEach(async () => {
    await stopNodeRed(child, 'SIGTERM');
    child = null;
    rmSync(dir, { recursive: true, force: true });
  });

  test('palette, edit dialogs, credential PINs and help', async () => {
    const port = await freeTcpPort();
    prepareUserDir(dir, port, flow, { editor: true });
    child = startNodeRed(dir);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/flows`)).ok, 'Node-RED admin API', 30_000, 200);
    // Deploy a PIN list through the admin API, the way the editor does.
    const flows = (await (await fetch(`${base}/flows`)).json()) as Array<Record<string, unknown>>;
    const pinNode = flows.find((n) => n.id === 'pin') as Record<string, unknown>;
    pinNode.credentials = { pins: 'alice:2580' };
    const dep = await fetch(`${base}/flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(flows),
    });
    expect(dep.status).toBeLessThan(300);

    const browser = await launchChromium(which('chromium') as string);
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(base + '/', { waitUntil: 'load' });
      await page.waitForFunction(() => window.RED?.nodes?.node('pin'), null, { timeout: 30_000 });
      await page.waitForTimeout(1500);
      const no = page.locator('text=No, do not enable notifications');
      if (await no.count()) await no.click();
      const palette = await page.evaluate(() =>
        [...document.querySelectorAll('.red-ui-palette-node[data-palette-type^="intercom-"]')].map((e) => e.getAttribute('data-palette-type')),
      );
      expect(palette).toEqual(expect.arrayContaining(['intercom-whitelist', 'intercom-time-window', 'intercom-journal']));

      const open = async (id: string) => {
        await page.evaluate((nid) => window.RED.editor.edit(window.RED.nodes.node(nid)), id);
        await page.waitForSelector('.red-ui-tray .red-ui-tray-header', { timeout: 10_000 });
        await page.waitForTimeout(500);
      };
      const close = async () => {
        await page.evaluate(() => window.RED.tray.close());
        await page.waitForTimeout(400);
      };
      const field = (sel: string) => page.evaluate((s) => window.$(s).val() as string, sel);
      const visible = (sel: string) => page.evaluate((s) => window.$(s).is(':visible') as boolean, sel);

      await open('pin');
      expect(await visible('#node-input-pins')).toBe(true);
      expect(await visible('#node-input-rules')).toBe(false);
      // A password credential comes back as a placeholder, never as the PINs.
      expect(await field('#node-input-pins')).not.toContain('2580');
      await close();

      await open('wl');
      expect(await field('#node-input-rules')).toBe('495-XXX-XX-XX');
      expect(await visible('#node-input-pins')).toBe(false);
      await close();
      await open('tw');
      expect(await field('#node-input-mon')).toBe('09:00-18:00');
      await close();
      await open('jr');
      expect(await field('#node-input-keep')).toBeDefined();
      await close();

      for (const type of ['intercom-whitelist', 'intercom-time-window', 'intercom-journal']) {
        const help = await page.evaluate((t) => window.RED.nodes.getNodeHelp(t) as string, type);
        expect(help).toMatch(/<h3>/);
      }
      expect(errors).toEqual([]);
      // The flow the runtime serves has no PIN in it.
      expect(await (await fetch(`${base}/flows`)).text()).not.toContain('2580');
    } finally {
      await browser.close();
    }
  }, 90_000);
});
