/**
 * The Home Assistant nodes in the real Node-RED editor (headless chromium), with a real
 * Home Assistant 2024.3.3 behind them and admin authentication on, as a user has it:
 * - palette, edit dialogs, labels and help of the three nodes;
 * - the pickers: the push dialog lists the phones HA has (notify.mobile_app_*), the door
 *   dialog the services that open and the entities of their domain, all asked through the
 *   runtime (never the browser to HA), and the endpoint refuses a request without login;
 * - a server node of node-red-contrib-home-assistant-websocket in the flows is offered, and
 *   borrowed: the config node uses its URL and token (a stand-in of that node type, with its
 *   type name, credentials and add-on flag, is loaded from nodesDir).
 * Runs against the built package (dist/, made by `npm test` or `npm run build`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { describeWithHomeAssistant, HomeAssistant, Mosquitto, type Phone } from '../helpers/homeassistant';
import { describeWithPeers } from '../helpers/peers';
import { freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

const root = path.resolve(__dirname, '..', '..');
jest.setTimeout(60000);

/** The other package's `server` config node, as its runtime and editor define it (type, credentials, add-on flag). */
const SERVER_STUB_JS = `module.exports = function (RED) {
  function Server(c) { RED.nodes.createNode(this, c); this.config = { addon: c.addon === true, rejectUnauthorizedCerts: c.rejectUnauthorizedCerts !== false }; }
  RED.nodes.registerType('server', Server, { credentials: { host: { type: 'text' }, access_token: { type: 'text' } } });
};`;
const SERVER_STUB_HTML = `<script type="text/javascript">
  RED.nodes.registerType('server', { category: 'config', defaults: { name: { value: 'Home Assistant' }, addon: { value: false } },
    credentials: { host: { type: 'text' }, access_token: { type: 'text' } }, label: function () { return this.name || 'Home Assistant'; } });
</script>
<script type="text/html" data-template-name="server"><div class="form-row"><input type="text" id="node-config-input-name"></div></script>`;

describeWithPeers(['chromium', 'mosquitto'], 'Home Assistant nodes in the editor', () => {
  describeWithHomeAssistant('with a real Home Assistant behind the pickers', () => {
    let dir: string;
    let red: ChildProcess;
    let browser: Browser;
    let url: string;
    let token: string;
    let broker: Mosquitto;
    let ha: HomeAssistant;
    let phone: Phone;
    const flows = () => [
      { id: 'tab1', type: 'tab', label: 'Door' },
      { id: 'srv', type: 'server', name: 'Home', addon: false, credentials: { host: ha.url, access_token: ha.longLivedToken } },
      { id: 'ha1', type: 'intercom-home-assistant', name: 'HA', broker: broker.url, haFrom: 'srv', haUrl: '', baseTopic: 'intercom', discoveryPrefix: 'homeassistant' },
      { id: 'door1', type: 'intercom-door', name: 'Front door', doorId: 'front_door', openKind: 'ha', haService: 'lock.open', haEntity: '', haServer: 'ha1' },
      { id: 'hd', type: 'intercom-ha-door', z: 'tab1', server: 'ha1', door: 'door1', x: 200, y: 100, wires: [[]] },
      { id: 'nt', type: 'intercom-notify', z: 'tab1', server: 'ha1', door: 'door1', service: '', x: 200, y: 200, wires: [[], []] },
    ];

    beforeAll(async () => {
      if (!existsSync(path.join(root, 'dist', 'nodes', 'intercom-notify.js'))) throw new Error('dist/ missing: run npm run build first');
      broker = await Mosquitto.start();
      ha = await HomeAssistant.start();
      await ha.configureMqtt(broker.port);
      phone = await ha.registerPhone('Pixel 8');
      dir = mkdtempSync(path.join(tmpdir(), 'ha-editor-'));
      const port = await freeTcpPort();
      url = `http://127.0.0.1:${port}/`;
      const stubs = path.join(dir, 'stub-nodes');
      mkdirSync(stubs);
      writeFileSync(path.join(stubs, 'server.js'), SERVER_STUB_JS);
      writeFileSync(path.join(stubs, 'server.html'), SERVER_STUB_HTML);
      const bcrypt = require(require.resolve('bcryptjs', { paths: [require.resolve('node-red')] }));
      const hash = bcrypt.hashSync('admin-pass-1', 8);
      writeFileSync(
        path.join(dir, 'settings.js'),
        `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, credentialSecret: 'test', nodesDir: ${JSON.stringify(stubs)},
          adminAuth: { type: 'credentials', users: [{ username: 'admin', password: ${JSON.stringify(hash)}, permissions: '*' }] },
          editorTheme: { palette: { catalogues: [] }, tours: false }, telemetry: { enabled: false }, logging: { console: { level: 'warn' } } };`,
      );
      // Installed as a user would have it (so the editor's i18n namespace is the package's).
      mkdirSync(path.join(dir, 'node_modules'));
      symlinkSync(root, path.join(dir, 'node_modules', 'node-red-contrib-sip-intercom'), 'dir');
      red = spawn(process.execPath, [require.resolve('node-red/red.js'), '-u', dir, '-s', path.join(dir, 'settings.js')], { stdio: 'ignore' });
      await waitFor(async () => (await fetch(url + 'settings').catch(() => null))?.status === 401, 'Node-RED editor', 30000, 200);
      const t = await fetch(url + 'auth/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-editor', grant_type: 'password', scope: '*', username: 'admin', password: 'admin-pass-1' }),
      });
      token = ((await t.json()) as { access_token: string }).access_token;
      const deployed = await fetch(url + 'flows', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flows()) });
      expect(deployed.status).toBe(204);
      await waitFor(async () => (await ha.state('lock.front_door'))?.state === 'locked', 'the door in HA', 30000, 200);
      browser = await launchChromium();
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      red?.kill('SIGTERM');
      phone?.close();
      await ha?.dispose();
      await broker?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    async function editor(): Promise<Page> {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      (page as any).errors = errors;
      // Logged in as the editor keeps it after its login dialog.
      await page.addInitScript((t) => (globalThis as any).localStorage.setItem('auth-tokens', JSON.stringify({ access_token: t, expires_in: 3600, token_type: 'Bearer' })), token);
      await page.goto(url);
      await page.waitForFunction(() => (globalThis as any).RED?.nodes?.node?.('nt'), null, { timeout: 30000 });
      return page;
    }
    const choices = (page: Page, input: string) => page.$$eval(`${input} + datalist option`, (os) => os.map((o) => (o as any).value as string));

    test('the picker endpoint wants a login: without one, 401; the token never reaches the browser', async () => {
      const anon = await fetch(url + 'intercom-home-assistant/pickers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ id: 'ha1', kind: 'notify' }) });
      expect(anon.status).toBe(401);
      const ok = await fetch(url + 'intercom-home-assistant/pickers', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ id: 'ha1', kind: 'notify', haFrom: 'srv' }) });
      const body = await ok.text();
      expect(JSON.parse(body).choices.map((c: { value: string }) => c.value)).toContain(phone.service);
      expect(body).not.toContain(ha.longLivedToken);
    });

    test('the push dialog offers the phones HA has; the door dialog its opening services and entities', async () => {
      const page = await editor();
      await page.evaluate(() => (globalThis as any).RED.editor.edit((globalThis as any).RED.nodes.node('nt')));
      await page.waitForSelector('#node-input-service', { state: 'visible', timeout: 10000 });
      await waitFor(async () => (await choices(page, '#node-input-service')).includes(phone.service), 'the phone in the list', 15000, 200);
      expect(await page.textContent('.intercom-ha-note')).toMatch(/from Home Assistant/);
      await page.evaluate(() => (globalThis as any).RED.tray.close());
      await page.waitForSelector('#node-input-service', { state: 'detached', timeout: 10000 });
      await page.evaluate(() => (globalThis as any).RED.editor.editConfig('', 'intercom-door', 'door1'));
      await page.waitForSelector('#node-config-input-haService', { state: 'visible', timeout: 10000 });
      await waitFor(async () => (await choices(page, '#node-config-input-haService')).includes('lock.open'), 'lock.open offered', 15000, 200);
      await waitFor(async () => (await choices(page, '#node-config-input-haEntity')).includes('lock.front_door'), 'lock.front_door offered', 15000, 200);
      // "HA config id" is gone: the Home Assistant connection is a config node picker.
      expect(await page.$eval('#node-config-input-haServer', (e) => e.tagName)).toBe('SELECT');
      expect((page as any).errors).toEqual([]);
      await page.close();
    });

    test('a Home Assistant server node in the flows is offered and borrowed; the add-on checkbox hides what it replaces', async () => {
      const page = await editor();
      await page.evaluate(() => (globalThis as any).RED.editor.editConfig('', 'intercom-home-assistant', 'ha1'));
      await page.waitForSelector('#node-config-input-haFrom', { state: 'visible', timeout: 10000 });
      expect(await page.$$eval('#node-config-input-haFrom option', (os) => os.map((o) => [(o as any).value, o.textContent]))).toEqual([
        ['', 'this node’s own URL and token'],
        ['srv', 'Home'],
      ]);
      expect(await page.$eval('#node-config-input-haFrom', (e) => (e as any).value)).toBe('srv');
      expect(await page.isVisible('#node-config-input-haUrl')).toBe(false);
      await page.selectOption('#node-config-input-haFrom', '');
      expect(await page.isVisible('#node-config-input-haUrl')).toBe(true);
      await page.check('#node-config-input-addon');
      expect(await page.isVisible('#node-config-input-haUrl')).toBe(false);
      expect(await page.isVisible('#node-config-input-haFrom')).toBe(false);
      expect(await page.isVisible('.ha-addon-hint')).toBe(true);
      expect((page as any).errors).toEqual([]);
      await page.close();
    });

    test('palette, edit dialogs, labels and help of the three nodes', async () => {
      const page = await editor();
      await page.waitForSelector('.red-ui-palette-node[data-palette-type="intercom-ha-door"]', { timeout: 10000 });
      await page.waitForSelector('.red-ui-palette-node[data-palette-type="intercom-notify"]', { timeout: 10000 });
      expect(await page.evaluate(() => (globalThis as any).RED.nodes.getType('intercom-ha-door').category)).toBe('intercom');
      for (const [id, field] of [
        ['nt', '#node-input-pictureWait'],
        ['hd', '#node-input-unlock'],
      ]) {
        await page.evaluate((n) => (globalThis as any).RED.editor.edit((globalThis as any).RED.nodes.node(n)), id);
        await page.waitForSelector(field, { state: 'visible', timeout: 10000 });
        // Labels come from the locale file, not the raw i18n key.
        const labels = await page.$$eval('.red-ui-tray label span[data-i18n]', (els) => els.map((e) => e.textContent ?? ''));
        expect(labels.length).toBeGreaterThan(2);
        expect(labels.every((l) => l.length > 0 && !l.includes('.label.'))).toBe(true);
        await page.evaluate(() => (globalThis as any).RED.tray.close());
        await page.waitForSelector(field, { state: 'detached', timeout: 10000 });
      }
      for (const type of ['intercom-notify', 'intercom-ha-door', 'intercom-home-assistant']) {
        // the editor adds a node set's help to the page as its module's HTML arrives
        await page.waitForFunction((t) => !!(globalThis as any).document.querySelector(`script[data-help-name="${t}"]`), type, { timeout: 10000 }).catch(() => undefined);
        const help = await page.evaluate((t) => (globalThis as any).document.querySelector(`script[data-help-name="${t}"]`)?.textContent ?? '', type);
        expect(`${type}: ${help}`).toMatch(/Home Assistant/);
      }
      const cfgHelp = await page.evaluate(() => (globalThis as any).document.querySelector('script[data-help-name="intercom-home-assistant"]')?.textContent ?? '');
      expect(cfgHelp).toMatch(/add-on/);
      expect((page as any).errors).toEqual([]);
      await page.close();
    });
  });
});
