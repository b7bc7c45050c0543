/**
 * The Home Assistant nodes in the real Node-RED editor (headless chromium): they are in the
 * palette under intercom, their edit dialogs open with their fields, help and labels load.
 * Runs against the built package (dist/, made by `npm test` or `npm run build`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { describeWithPeers } from '../helpers/peers';
import { freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

const root = path.resolve(__dirname, '..', '..');
jest.setTimeout(60000);

describeWithPeers(['chromium'], 'Home Assistant nodes in the editor', () => {
  let dir: string;
  let red: ChildProcess;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(path.join(root, 'dist', 'nodes', 'intercom-notify.js'))) throw new Error('dist/ missing: run npm run build first');
    dir = mkdtempSync(path.join(tmpdir(), 'ha-editor-'));
    const port = await freeTcpPort();
    url = `http://127.0.0.1:${port}/`;
    writeFileSync(
      path.join(dir, 'settings.js'),
      `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, credentialSecret: 'test', editorTheme: { palette: { catalogues: [] } }, logging: { console: { level: 'warn' } } };`,
    );
    // Installed as a user would have it (so the editor's i18n namespace is the package's).
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(root, path.join(dir, 'node_modules', 'node-red-contrib-sip-intercom'), 'dir');
    red = spawn(process.execPath, [require.resolve('node-red/red.js'), '-u', dir, '-s', path.join(dir, 'settings.js')], { stdio: 'ignore' });
    await waitFor(async () => (await fetch(url + 'settings').catch(() => null))?.ok, 'Node-RED editor', 30000, 200);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    red?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('palette, edit dialogs and help of the three nodes', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as any).RED?.nodes?.getType?.('intercom-notify'), null, { timeout: 30000 });
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="intercom-ha-door"]', { timeout: 10000 });
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="intercom-notify"]', { timeout: 10000 });
    expect(await page.evaluate(() => (globalThis as any).RED.nodes.getType('intercom-ha-door').category)).toBe('intercom');

    for (const [type, field] of [
      ['intercom-notify', '#node-input-service'],
      ['intercom-ha-door', '#node-input-relockSeconds'],
    ]) {
      await page.evaluate((t) => {
        const RED = (globalThis as any).RED;
        RED.nodes.import([{ id: 'n_' + t.replace(/-/g, '_'), type: t, x: 200, y: 100, z: RED.workspaces.active(), wires: [] }]);
        RED.editor.edit(RED.nodes.node('n_' + t.replace(/-/g, '_')));
      }, type);
      await page.waitForSelector(field, { state: 'visible', timeout: 10000 });
      // Labels come from the locale file, not the raw i18n key.
      const labels = await page.$$eval('.red-ui-tray label span[data-i18n]', (els) => els.map((e) => e.textContent ?? ''));
      expect(labels.length).toBeGreaterThan(2);
      expect(labels.every((l) => l.length > 0 && !l.includes('.label.'))).toBe(true);
      // (the first-run telemetry prompt shades the page; close the tray through the editor API)
      await page.evaluate(() => (globalThis as any).RED.tray.close());
      await page.waitForSelector(field, { state: 'detached', timeout: 10000 });
      const help = await page.evaluate((t) => (globalThis as any).document.querySelector(`script[data-help-name="${t}"]`)?.textContent ?? '', type);
      expect(help).toMatch(/Home Assistant/);
    }
    const cfgHelp = await page.evaluate(() => (globalThis as any).document.querySelector('script[data-help-name="intercom-home-assistant"]')?.textContent ?? '');
    expect(cfgHelp).toMatch(/long-lived access token/);
    expect(errors).toEqual([]);
    await page.close();
  });
});
