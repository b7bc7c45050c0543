/**
 * The editor and the runtime in German and Russian, as a user gets them: the packed
 * package installed into a fresh Node-RED (4, and 5 on Node 22), the runtime started in
 * the language (`lang: 'de'` in settings.js; LC_ALL=ru_RU.UTF-8 for ru), the editor opened in
 * headless Debian chromium in the language (a de-DE browser; for ru the language picked in
 * the editor's settings, stored as `editor-language`). Every text is compared with the
 * language's catalog and help page in locales/, not read by eye: a text the editor or the
 * runtime filled in from en-US fails, naming the node type and key.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { describeWithPeers, which } from '../helpers/peers';
import { freeTcpPort } from '../helpers/ports';
import {
  NodeRedInstance,
  Packed,
  Runtime,
  copyUserDir,
  declaredTypes,
  describeWithRuntime,
  installIntoUserDir,
  launch,
  nodeRed4,
  nodeRed5,
  packPackage,
  pkg,
  repoRoot,
  rmDir,
  settingsJs,
} from '../helpers/package';
import { chromiumArgs } from '../helpers/browser';
const { catalog } = require('../../scripts/locales');

jest.setTimeout(60000);

type Lang = 'de' | 'ru';

/** A node set's file name (= its catalog and help page) for a declared type. */
const setOf = (type: string): string => path.basename(pkg['node-red'].nodes[type], '.js');

function lookup(lang: string, type: string, key: string, params: Record<string, unknown> = {}): string {
  let v: any = catalog(lang, setOf(type));
  const parts = key.split('.');
  for (const p of parts.slice(0, -1)) v = v?.[p];
  const last = parts[parts.length - 1];
  const text = typeof params.count === 'number' ? v?.[`${last}_${new Intl.PluralRules(lang).select(params.count)}`] : v?.[last];
  if (typeof text !== 'string') throw new Error(`${lang}: no text for ${key} in ${setOf(type)}`);
  return text.replace(/__([A-Za-z0-9_]+)__/g, (m: string, n: string) => (params[n] === undefined ? m : String(params[n])));
}

/** The help page's HTML as locales/<lang> has it, inside its <script> element. */
function helpHtml(lang: string, type: string): string {
  const html = fs.readFileSync(path.join(repoRoot, 'locales', lang, `${setOf(type)}.html`), 'utf8');
  return html.replace(/^[\s\S]*?<script[^>]*>/, '').replace(/<\/script>[\s\S]*$/, '');
}
const bare = (s: string): string => s.replace(/\s+/g, '');

/**
 * One node of every type, as a user leaves them after typing mistakes: runtime status and
 * errors come out broken on purpose. What would reach the network (SIP, MQTT, Home
 * Assistant) is deployed disabled: its dialogs open all the same.
 */
function flow(dir: string): Record<string, unknown>[] {
  const z = 't1';
  return [
    { id: z, type: 'tab', label: 'Locales' },
    { id: 'door', type: 'intercom-door', name: 'Gate', openKind: 'preset', preset: 'shelly-gen1', host: 'htp:/bad url' },
    { id: 'sip', type: 'intercom-sip-account', name: 'panel', mode: 'p2p', bindAddress: '127.0.0.1', bindPort: 5060, d: true },
    { id: 'ha', type: 'intercom-home-assistant', name: 'ha', broker: 'mqtt://127.0.0.1:1', d: true },
    { id: 'o0', type: 'intercom-door-open', z, x: 150, y: 60, door: '' },
    { id: 'o1', type: 'intercom-door-open', z, x: 150, y: 120, door: 'door' },
    { id: 'j1', type: 'intercom-journal', z, x: 150, y: 180, file: path.join(dir, 'j.jsonl'), maxSizeMB: 'ten' },
    { id: 'tw', type: 'intercom-time-window', z, x: 150, y: 240, mon: '9-18' },
    { id: 'wl', type: 'intercom-whitelist', z, x: 150, y: 300, mode: 'caller', rules: '+7495*\nbanana' },
    { id: 'dt', type: 'intercom-dtmf', z, x: 400, y: 60 },
    { id: 'sn', type: 'intercom-snapshot', z, x: 400, y: 120, door: 'door' },
    { id: 'si', type: 'intercom-sip-in', z, x: 400, y: 180, account: 'sip', d: true },
    { id: 'sc', type: 'intercom-sip-call', z, x: 400, y: 240, account: 'sip', d: true },
    { id: 'hd', type: 'intercom-ha-door', z, x: 400, y: 300, server: 'ha', door: 'door', d: true },
    { id: 'nt', type: 'intercom-notify', z, x: 650, y: 60, server: 'ha', service: 'mobile_app_x', d: true },
    { id: 'dp', type: 'intercom-door-page', z, x: 650, y: 120, account: 'sip', door: 'door', d: true, wires: [[], []] },
  ];
}

let packed: Packed | undefined;
let installed: string | undefined;

function editorIn(rt: Runtime, lang: Lang): void {
  let dir: string | undefined;
  let profile: string | undefined;
  let nr: NodeRedInstance | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const ids = Object.fromEntries(flow('').filter((n) => n.type !== 'tab').map((n) => [n.type, n.id as string]));

  beforeAll(async () => {
    dir = copyUserDir(installed!, `nrsi-${lang}-`);
    const settings = lang === 'de' ? settingsJs().replace('module.exports = {', "module.exports = {\n  lang: 'de',") : settingsJs();
    fs.writeFileSync(path.join(dir, 'settings.js'), settings);
    fs.writeFileSync(path.join(dir, 'flows.json'), JSON.stringify(flow(dir), null, 2));
    const port = await freeTcpPort();
    const env: Record<string, string> = lang === 'ru' ? { LC_ALL: 'ru_RU.UTF-8', LANG: 'ru_RU.UTF-8' } : {};
    nr = await launch(rt.node, [rt.redJs, '-u', dir, '-p', String(port)], { cwd: dir, env }, port, dir, rt);
    profile = fs.mkdtempSync(path.join(tmpdir(), 'nrsi-chromium-'));
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(profile, {
      executablePath: which('chromium')!,
      headless: true,
      args: chromiumArgs,
      viewport: { width: 1600, height: 1000 },
      ...(lang === 'de' ? { locale: 'de-DE' } : {}),
    });
    // ru: the user picked Russian in the editor's settings (User Settings → View → Language)
    if (lang === 'ru') await context.addInitScript(() => (globalThis as any).localStorage.setItem('editor-language', 'ru'));
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console ${m.type()}: ${m.text()}`);
    });
    await page.goto(`${nr.url}/`);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="intercom-journal"]', { timeout: 30000 });
  }, 120000);

  afterAll(async () => {
    if (context && page) {
      fs.mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
      await page.screenshot({ path: path.join(repoRoot, 'test-results', `editor-${lang}-node-red-${rt.label.match(/Node-RED (\d)/)?.[1] ?? 'x'}.png`) }).catch(() => undefined);
    }
    await context?.close();
    await nr?.stop();
    rmDir(profile);
    rmDir(dir);
  });

  const cats = (): Promise<Record<string, string | undefined>> =>
    page.evaluate((types: string[]) => Object.fromEntries(types.map((t) => [t, (globalThis as any).RED.nodes.getType(t)?.category])), declaredTypes());

  test('the editor runs in the language', async () => {
    const language = await page.evaluate(() => (globalThis as any).i18next.language as string);
    expect(language.startsWith(lang)).toBe(true);
  });

  test('every dialog shows every label, option and placeholder as the catalog has it', async () => {
    const c = await cats();
    const wrong: string[] = [];
    for (const type of declaredTypes()) {
      const before = await page.locator('.red-ui-tray').count();
      await page.evaluate(([t, id, config]) => {
        const RED = (globalThis as any).RED;
        if (config) RED.editor.editConfig('', t, id);
        else RED.editor.edit(RED.nodes.node(id));
      }, [type, ids[type], c[type] === 'config'] as const);
      const tray = page.locator('.red-ui-tray').last();
      await tray.locator('.form-row').first().waitFor({ timeout: 5000 });
      const shown = await tray.evaluate((el: any) => {
        const out: Array<{ key: string; attr: string; value: string }> = [];
        for (const e of Array.from(el.querySelectorAll('[data-i18n]')) as any[]) {
          for (const part of (e.getAttribute('data-i18n') ?? '').split(';')) {
            const m = /^\[([^\]]+)\](.*)$/.exec(part.trim());
            const attr = m ? m[1] : 'text';
            const key = (m ? m[2] : part).trim().split(':').pop() as string;
            if (!key.startsWith('intercom')) continue;
            out.push({ key, attr, value: attr === 'text' || attr === 'html' ? (e.textContent ?? '') : (e.getAttribute(attr) ?? '') });
          }
        }
        return out;
      });
      expect([type, shown.length > 0]).toEqual([type, true]);
      for (const s of shown) {
        const want = lookup(lang, type, s.key);
        if (s.value.trim() !== want.trim()) wrong.push(`${type} ${s.key} [${s.attr}]: shows "${s.value.trim()}", ${lang} catalog has "${want.trim()}"`);
      }
      const cancel = c[type] === 'config' ? '#node-config-dialog-cancel' : '#node-dialog-cancel';
      await tray.locator(cancel).click();
      await page.waitForFunction((n) => (globalThis as any).$('.red-ui-tray').length === n, before, { timeout: 5000 });
    }
    expect(wrong).toEqual([]);
  });

  test('the palette and the canvas name the nodes in the language', async () => {
    const c = await cats();
    const wrong: string[] = [];
    for (const type of declaredTypes().filter((t) => c[t] === 'intercom')) {
      const item = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      const label = (await item.getAttribute('data-palette-label')) ?? '';
      const lines = (await item.locator('.red-ui-palette-label').innerText()).split('\n').map(norm);
      const want = lookup(lang, type, `${type}.label.palette`);
      if (label !== want) wrong.push(`${type} palette: "${label}", ${lang} catalog has "${want}"`);
      // the palette breaks a word too wide for it in the middle ("Benachrichtig ung")
      const broken = want.split(/[ -]/).filter((w) => w && !lines.some((l) => l.includes(w)));
      if (broken.length) wrong.push(`${type} palette: "${want}" does not fit, the palette breaks ${broken.map((w) => `"${w}"`).join(', ')} (shows ${lines.map((l) => `"${l}"`).join(' / ')})`);
    }
    const canvas = async (id: string): Promise<string> => norm(await page.locator(`#red-ui-workspace-chart [id="${id}"] .red-ui-flow-node-label`).first().textContent() ?? '');
    const expectLabel: Array<[string, string, string, Record<string, unknown>?]> = [
      ['o0', 'intercom-door-open', 'intercom-door-open.label.default'],
      ['o1', 'intercom-door-open', 'intercom-door-open.label.open', { door: 'Gate' }],
      ['j1', 'intercom-journal', 'intercom-journal.label.default'],
      ['tw', 'intercom-time-window', 'intercom-time-window.label.default'],
      ['wl', 'intercom-whitelist', 'intercom-whitelist.label.default'],
      ['sn', 'intercom-snapshot', 'intercom-snapshot.label.default'],
      ['hd', 'intercom-ha-door', 'intercom-ha-door.label.default'],
    ];
    for (const [id, type, key, params] of expectLabel) {
      const shown = await canvas(id);
      const want = lookup(lang, type, key, params);
      if (shown !== want) wrong.push(`${type} (${id}) on the canvas: "${shown}", ${lang} catalog has "${want}"`);
    }
    expect(wrong).toEqual([]);
  });

  test("every help page is the language's page, shown in the help sidebar", async () => {
    const wrong: string[] = [];
    for (const type of declaredTypes()) {
      const want = helpHtml(lang, type);
      const got = await page.evaluate((t) => {
        const RED = (globalThis as any).RED;
        RED.sidebar.help.show(t);
        const served: string = RED.nodes.getNodeHelp(t) ?? '';
        const div = (globalThis as any).document.createElement('div');
        div.innerHTML = served;
        return { served, servedText: div.textContent ?? '' };
      }, type);
      if (bare(got.served) !== bare(want)) wrong.push(`${type}: the editor got another help page than locales/${lang}/${setOf(type)}.html`);
      const panel = page.locator('.red-ui-sidebar-help-stack .red-ui-help').first();
      await panel.waitFor({ timeout: 5000 });
      const shown = bare(await panel.innerText());
      // what the page says, as the sidebar renders it (its text without the markup)
      if (!shown.includes(bare(got.servedText).slice(0, 200))) wrong.push(`${type}: the help sidebar does not show the ${lang} page`);
    }
    expect(wrong).toEqual([]);
  });

  test("the editor's i18next takes the language's plural forms", async () => {
    const ns = `${pkg.name}/${setOf('intercom-journal')}`;
    const counts = [1, 2, 5, 21];
    const got = await page.evaluate(([n, cs]) => (cs as number[]).map((count) => (globalThis as any).RED._(`${n}:intercom-journal.status.events`, { count })), [ns, counts] as const);
    expect(got).toEqual(counts.map((count) => lookup(lang, 'intercom-journal', 'intercom-journal.status.events', { count })));
  });

  test('the runtime reports broken nodes in its language: status on the canvas, errors in the log', async () => {
    const status = (id: string): Promise<string> =>
      page
        .waitForFunction((i) => (globalThis as any).RED.nodes.node(i)?.status?.text, id, { timeout: 10000 })
        .then((h) => h.jsonValue() as Promise<string>);
    // a broken config's status is the whole problem: the field as its dialog names it, and what was typed
    const problem = lookup(lang, 'intercom-door', 'intercom.errors.setting.url', { field: lookup(lang, 'intercom-door', 'intercom-door.label.host'), schemes: 'http://, https://', value: 'htp:/bad url' });
    const field = lookup(lang, 'intercom-journal', 'intercom-journal.label.maxSizeMB');
    const sizeProblem = lookup(lang, 'intercom-journal', 'intercom.errors.setting.number', { field, min: 0, max: 1000000, value: 'ten' });
    const schedule = lookup(lang, 'intercom-time-window', 'intercom.access.at.day', {
      day: lookup(lang, 'intercom-time-window', 'intercom.access.weekday.mon'),
      problem: lookup(lang, 'intercom-time-window', 'intercom.errors.access.schedule.badRange', { value: '9-18' }),
    });
    expect(await status('o0')).toBe(lookup(lang, 'intercom-door-open', 'intercom-door-open.status.noDoor'));
    expect(await status('o1')).toBe(lookup(lang, 'intercom-door-open', 'intercom-door-open.status.doorProblem', { problem }));
    expect(await status('j1')).toBe(lookup(lang, 'intercom-journal', 'intercom-journal.status.badConfig', { problem: sizeProblem }));
    expect(await status('tw')).toBe(lookup(lang, 'intercom-time-window', 'intercom-time-window.status.badSchedule', { problem: schedule }));
    expect(await status('wl')).toBe(lookup(lang, 'intercom-whitelist', 'intercom-whitelist.status.refused', { what: lookup(lang, 'intercom-whitelist', 'intercom-whitelist.refused.editorRejected') }));
    // the same status as drawn on the canvas
    expect(norm(await page.locator('#red-ui-workspace-chart [id="o0"] .red-ui-flow-node-status-label').first().textContent() ?? '')).toBe(await status('o0'));

    const journal = lookup(lang, 'intercom-journal', 'intercom-journal.errors.notStarted', { error: sizeProblem });
    const door = lookup(lang, 'intercom-door', 'intercom-door.errors.notUsable', { door: 'Gate', problem });
    expect(nr!.log()).toContain(journal);
    expect(nr!.log()).toContain(door);
  });

  test('the editor logged no error', () => {
    expect(pageErrors).toEqual([]);
  });
}

const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();

describeWithPeers(['chromium'], 'editor and runtime in de and ru (headless chromium)', () => {
  beforeAll(() => {
    packed = packPackage();
    installed = installIntoUserDir(packed.tarball, 'nrsi-locales-');
  }, 120000);
  afterAll(() => {
    rmDir(installed);
    rmDir(packed?.dir);
  });
  // Each language on one runtime, so both runtimes and both ways of choosing a language are
  // covered (de: settings `lang` and the browser's locale; ru: LC_ALL and the editor's own
  // setting) in half the time of every pair; the catalogs are the same files on both.
  describeWithRuntime(nodeRed4(), 'in de', (rt) => editorIn(rt, 'de'));
  describeWithRuntime(nodeRed5(), 'in ru', (rt) => editorIn(rt, 'ru'));
});
