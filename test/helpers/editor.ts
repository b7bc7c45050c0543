/**
 * The Node-RED editor as a user opens it, for the package tier: the packed package
 * installed in a fresh user dir, a real Node-RED (4 or 5) on loopback, and Debian chromium
 * through playwright-core with a locale and time zone of the test's choosing. Page errors
 * and the errors the editor only logs are collected, so a test can fail on them.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumArgs } from './browser';
import { which } from './peers';
import { copyUserDir, rmDir, startNodeRed, type NodeRedInstance, type Runtime } from './package';

export interface Editor {
  page: Page;
  nr: NodeRedInstance;
  /** page errors and console errors so far */
  errors: string[];
  close(): Promise<void>;
}

export async function openEditor(rt: Runtime, installed: string, opts: { locale?: string; timezoneId?: string } = {}): Promise<Editor> {
  const dir = copyUserDir(installed, 'nrsi-editor-');
  const nr = await startNodeRed(rt, dir);
  let browser: Browser | undefined;
  try {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: which('chromium')!, headless: true, args: chromiumArgs });
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: opts.locale ?? 'en-US', timezoneId: opts.timezoneId ?? 'UTC' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' || /^(oneditprepare|oneditsave|label|paletteLabel|Validation error)\b/.test(m.text())) errors.push(`console ${m.type()}: ${m.text()}`);
    });
    await page.goto(`${nr.url}/`);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="inject"]', { timeout: 30000 });
    await page.waitForFunction(() => (globalThis as any).RED?.nodes?.getType('intercom-sip-account'), undefined, { timeout: 30000 });
    const b = browser;
    return {
      page,
      nr,
      errors,
      close: async () => {
        await b.close().catch(() => undefined);
        await nr.stop();
        rmDir(dir);
      },
    };
  } catch (err) {
    await browser?.close().catch(() => undefined);
    await nr.stop();
    rmDir(dir);
    throw err;
  }
}

/** A screenshot for humans, under test-results/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = path.resolve(__dirname, '..', '..', 'test-results');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, name) }).catch(() => undefined);
}

export const tmp = (prefix: string): string => fs.mkdtempSync(path.join(tmpdir(), prefix));
