/**
 * The door dialog in a real Node-RED editor (Debian chromium through playwright-core): an
 * MQTT door offers its broker as a choice (a Node-RED MQTT broker, the Home Assistant
 * connection, or its own URL), a door saved with its own URL opens on that choice, and the
 * dialog runs without script errors.
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

const flow = [
  { id: 'tab', type: 'tab', label: 'doors' },
  { id: 'b1', type: 'mqtt-broker', name: 'house', broker: '127.0.0.1', port: '1', autoConnect: false, protocolVersion: '4', keepalive: '60', cleansession: true },
  { id: 'old', type: 'intercom-door', name: 'Old gate', openKind: 'mqtt', broker: 'mqtt://127.0.0.1:1', topic: 'gate/set', mqttPayload: 'ON' },
  { id: 'new', type: 'intercom-door', name: 'New gate', openKind: 'mqtt', mqttVia: 'broker', mqttBroker: 'b1', topic: 'gate2/set', mqttPayload: 'ON' },
  { id: 'o1', type: 'intercom-door-open', z: 'tab', door: 'old', x: 200, y: 100, wires: [[]] },
  { id: 'o2', type: 'intercom-door-open', z: 'tab', door: 'new', x: 200, y: 160, wires: [[]] },
];

describeWithPeers(['chromium'], 'the door dialog in the Node-RED editor', () => {
  let dir: string;
  let child: Child | null = null;
  beforeAll(() => {
    ensureBuilt(['nodes/intercom-door.ts', 'nodes/intercom-door.html', 'nodes/intercom-door-open.ts', 'locales/en-US/intercom-door.json']);
  }, 120_000);
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'door-editor-'));
  });
  afterEach(async () => {
    await stopNodeRed(child, 'SIGTERM');
    child = null;
    rmSync(dir, { recursive: true, force: true });
  });

  test('an MQTT door chooses its broker; a door saved with its own URL keeps it', async () => {
    const port = await freeTcpPort();
    prepareUserDir(dir, port, flow, { editor: true });
    child = startNodeRed(dir);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/flows`)).ok, 'Node-RED admin API', 30_000, 200);

    const browser = await launchChromium(which('chromium') as string);
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(base + '/', { waitUntil: 'load' });
      await page.waitForFunction(() => window.RED?.nodes?.node('new'), null, { timeout: 30_000 });
      await page.waitForTimeout(1500);
      const no = page.locator('text=No, do not enable notifications');
      if (await no.count()) await no.click();

      const open = async (id: string) => {
        await page.evaluate((nid) => window.RED.editor.editConfig('', 'intercom-door', nid), id);
        await page.waitForSelector('#node-config-input-mqttVia', { timeout: 10_000 });
        await page.waitForTimeout(500);
      };
      const close = async () => {
        await page.evaluate(() => window.RED.tray.close());
        await page.waitForTimeout(400);
      };
      const val = (sel: string) => page.evaluate((s) => window.$(s).val() as string, sel);
      const visible = (sel: string) => page.evaluate((s) => window.$(s).is(':visible') as boolean, sel);
      const choose = (sel: string, v: string) => page.evaluate(([s, x]) => window.$(s).val(x).trigger('change'), [sel, v]);

      await open('old');
      expect(await val('#node-config-input-mqttVia')).toBe('url');
      expect(await visible('#node-config-input-broker')).toBe(true);
      expect(await val('#node-config-input-broker')).toBe('mqtt://127.0.0.1:1');
      expect(await visible('#node-config-input-mqttUser')).toBe(true);
      expect(await visible('#node-config-input-mqttBroker')).toBe(false);
      await close();

      await open('new');
      expect(await val('#node-config-input-mqttVia')).toBe('broker');
      expect(await visible('#node-config-input-mqttBroker')).toBe(true);
      expect(await val('#node-config-input-mqttBroker')).toBe('b1');
      expect(await visible('#node-config-input-broker')).toBe(false);
      expect(await visible('#node-config-input-mqttUser')).toBe(false);
      await choose('#node-config-input-mqttVia', 'ha');
      expect(await visible('#node-config-input-mqttHa')).toBe(true);
      expect(await visible('#node-config-input-mqttBroker')).toBe(false);
      const labels = await page.evaluate(() => window.$('#node-config-input-mqttVia option').map((_: number, o: any) => window.$(o).text()).get() as string[]);
      expect(labels).toEqual(['a Node-RED MQTT broker', 'the Home Assistant connection', 'its own broker URL and user (older doors)']);
      await choose('#node-config-input-openKind', 'preset');
      expect(await visible('#node-config-input-mqttVia')).toBe(false);
      expect(await visible('#node-config-input-mqttHa')).toBe(false);
      await close();
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 90_000);
});
