/**
 * The dialogs as a user fills them in, in the real editor (the packed package in Node-RED
 * 4 and 5, headless Debian chromium): typing each bad value of the first-contact report,
 * and a bad value of every other checked field, flags that field (the editor's red frame)
 * with a tooltip that names it as its label reads; a good value clears it. The sip call
 * dialog shows the rows of the chosen action only; the door's panel is a picker of SIP
 * accounts; a new whitelist and schedule start in the editor's number plan and time zone.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { openEditor, screenshot, type Editor } from '../helpers/editor';
import { describeWithPeers } from '../helpers/peers';
import { waitFor } from '../helpers/wait';
import { describeWithRuntime, installIntoUserDir, nodeRed4, nodeRed5, packPackage, rmDir, type Packed, type Runtime } from '../helpers/package';

jest.setTimeout(120000);

let packed: Packed | undefined;
let installed: string | undefined;

/** A field typed into: [field, bad value, good value, selects to set first (field → value)] */
type Case = [string, string, string, Record<string, string>?];

const CASES: Record<string, Case[]> = {
  'intercom-sip-account': [
    ['bindAddress', '999.1.1.1', '192.168.1.10'],
    ['bindAddress', 'not an ip', '0.0.0.0'],
    ['bindPort', '99999', '5062'],
    ['bindPort', '-5', '5060'],
    ['server', '300.300.300.300:70000', 'fritz.box:5060', { mode: 'client' }],
    ['allowedSources', 'banana, 10.0.0.0/99', '192.168.1.20, 10.0.0.0/8'],
    ['expires', '-1', '600', { mode: 'client' }],
    ['publicAddress', 'not a host!', '203.0.113.5'],
    ['user', 'door phone', 'door'],
    ['authUser', 'a "b"', 'door', { mode: 'client' }],
    ['ringTimeout', 'soon', '120'],
    ['noAnswerTimeout', '0', '60'],
    ['rtpTimeout', '-1', '30'],
    ['registrarUsers', 'panel 300.1.1.1', 'panel 192.168.1.40', { mode: 'registrar' }],
  ],
  'intercom-door': [
    ['host', 'htp:/bad url', 'http://192.168.1.50', { openKind: 'preset' }],
    ['snapshotUrl', 'not a url', 'http://192.168.1.50/snap.jpg', { camera: 'http' }],
    ['headers', '{not json', '{"x-key": "1"}', { openKind: 'http' }],
    ['url', 'http://{{msg.host}}/open', 'http://10.0.0.1/open?u={{msg.call.from.user}}', { openKind: 'http' }],
    ['successMatch', '(', '^OK', { openKind: 'http' }],
    ['broker', 'localhost:1883', 'mqtt://localhost:1883', { openKind: 'mqtt', mqttVia: 'url' }],
    ['topic', 'gate/#', 'gate/set', { openKind: 'mqtt' }],
    ['haService', 'open the lock', 'lock.unlock', { openKind: 'ha' }],
    ['haEntity', 'front door', 'lock.front_door', { openKind: 'ha' }],
    ['digits', '9x', '9#', { openKind: 'dtmf' }],
    ['doorId', 'Front Door', 'front_door'],
    ['relay', '17', '2', { openKind: 'preset' }],
    ['timeout', '50', '5000'],
    ['confirmUrl', 'state', 'http://192.168.1.50/status', { confirm: 'poll' }],
    ['confirmMatch', '[', '"ison":true', { confirm: 'poll' }],
    ['rtspUrl', 'http://192.168.1.50/1', 'rtsp://192.168.1.50:554/1', { camera: 'rtsp' }],
    ['snapshotWidth', 'wide', '640', { camera: 'rtsp' }],
  ],
  'intercom-sip-call': [
    ['digits', 'x9', '9', { action: 'dtmf' }],
    ['target', 'sip:a b', 'sip:security@192.168.1.5', { action: 'redirect' }],
    ['targets', 'not a target!', 'sip:1@192.168.1.65, 5588', { action: 'forward' }],
    ['apartments', 'flat 2', '223: sip:5588@192.168.1.2, 5589', { action: 'forward' }],
    ['ringTime', '0', '20', { action: 'forward' }],
    ['monitor', '<sip:x>', 'sip:monitor@192.168.1.40', { action: 'forward' }],
  ],
  'intercom-sip-in': [['events', 'rnig', 'ring, ended']],
  'intercom-dtmf': [
    ['terminator', 'x', '#', { mode: 'sequence' }],
    ['length', '33', '4', { mode: 'sequence' }],
    // a number input takes no letters; a negative time it does
    ['interDigitTimeout', '-1', '5', { mode: 'sequence' }],
  ],
  'intercom-whitelist': [
    ['rules', 'banana', '495-XXX-XX-XX', { mode: 'caller' }],
    ['trustedSources', '10.0.0.0/99', '10.0.0.5', { mode: 'caller' }],
    ['timezone', 'Mars/Olympus', 'Europe/Berlin', { mode: 'caller' }],
    ['countryCode', '+49', '49'],
    ['nationalDigits', '99', '10'],
    ['pinLength', '2', '4', { mode: 'pin' }],
    ['maxTries', '0', '3', { mode: 'pin' }],
  ],
  'intercom-time-window': [
    ['mon', '9-5', '09:00-17:00'],
    ['timezone', 'Mars/Olympus', 'Europe/Berlin'],
    ['exceptions', '2026-13-01 closed', '2026-12-31 closed'],
  ],
  'intercom-journal': [
    ['keep', '-1', '12'],
    ['maxSizeMB', 'big', '10'],
  ],
  'intercom-snapshot': [['maxAge', 'soon', '3000']],
};

const isConfig = (type: string): boolean => type === 'intercom-sip-account' || type === 'intercom-door';
const prefixOf = (type: string): string => (isConfig(type) ? '#node-config-input-' : '#node-input-');

async function openDialog(page: Page, type: string): Promise<void> {
  if (isConfig(type)) {
    await page.evaluate((t) => (globalThis as any).RED.editor.editConfig('', t, '_ADD_'), type);
  } else {
    await page.evaluate((t) => {
      const RED = (globalThis as any).RED;
      const id = RED.nodes.id();
      RED.view.importNodes([{ id, type: t, z: RED.workspaces.active(), x: 300, y: 300, wires: [] }], { applyNodeDefaults: true });
      RED.editor.edit(RED.nodes.node(id));
    }, type);
  }
  await page.locator('.red-ui-tray').last().locator('.form-row').first().waitFor({ timeout: 10000 });
  await page.waitForTimeout(300);
}

async function closeDialog(page: Page): Promise<void> {
  await page.evaluate(() => (globalThis as any).RED.tray.close());
  await page.waitForFunction(() => (globalThis as any).$('.red-ui-tray').length === 0, undefined, { timeout: 10000 });
}

async function typeInto(page: Page, selector: string, value: string): Promise<void> {
  const el = page.locator(selector);
  await el.fill('');
  // typed, key by key: the editor checks a field on each key
  await el.pressSequentially(value);
  await page.waitForTimeout(50);
}

/** The red frame of a field, and the tooltip the editor shows on it. */
async function verdict(page: Page, selector: string): Promise<{ flagged: boolean; tooltip: string }> {
  const flagged = await page.evaluate((s) => (globalThis as any).$(s).hasClass('input-error'), selector);
  if (!flagged) return { flagged, tooltip: '' };
  await page.mouse.move(0, 0);
  await page.hover(selector);
  const tip = page.locator('.red-ui-popover').filter({ hasNotText: /^\s*$/ }).last();
  await tip.waitFor({ state: 'visible', timeout: 3000 }).catch(() => undefined);
  const tooltip = (await tip.textContent().catch(() => '')) ?? '';
  await page.mouse.move(0, 0);
  return { flagged, tooltip: tooltip.trim() };
}

/**
 * `everyCase`: type every bad value of CASES; otherwise the first of each dialog (the rule
 * code is the same script on both runtimes: what differs is how the editor shows a verdict).
 */
function formsOn(rt: Runtime, locale: { locale: string; timezoneId: string; plan: Record<string, string | number> }, everyCase: boolean): void {
  let editor: Editor | undefined;
  beforeAll(async () => {
    editor = await openEditor(rt, installed!, { locale: locale.locale, timezoneId: locale.timezoneId });
  }, 120000);
  afterAll(async () => {
    if (editor) await screenshot(editor.page, `forms-${rt.label.replace(/\W+/g, '-')}.png`);
    await editor?.close();
  });

  test.each(Object.keys(CASES))(`%s: ${everyCase ? 'each bad value' : 'a bad value'} flags its field, naming it; a good value clears it`, async (type) => {
    const page = editor!.page;
    await openDialog(page, type);
    const wrong: string[] = [];
    for (const [field, bad, good, selects] of everyCase ? CASES[type] : CASES[type].slice(0, 1)) {
      for (const [f, v] of Object.entries(selects ?? {})) await page.selectOption(prefixOf(type) + f, v);
      const sel = prefixOf(type) + field;
      const label: string = await page.evaluate(([t, f]) => (globalThis as any).RED.nodes.getType(t)._(`${t}.label.${f}`), [type, field] as const);
      await typeInto(page, sel, bad);
      const v = await verdict(page, sel);
      if (!v.flagged) wrong.push(`${field} = ${JSON.stringify(bad)}: not flagged`);
      else if (!v.tooltip.includes(label)) wrong.push(`${field} = ${JSON.stringify(bad)}: the tooltip "${v.tooltip}" does not name "${label}"`);
      await typeInto(page, sel, good);
      if ((await verdict(page, sel)).flagged) wrong.push(`${field} = ${JSON.stringify(good)}: still flagged`);
    }
    await closeDialog(page);
    expect(wrong).toEqual([]);
  });

  test('the sip call dialog shows the rows of the chosen action only', async () => {
    const page = editor!.page;
    await openDialog(page, 'intercom-sip-call');
    const rows = ['code', 'target', 'prompt', 'digits', 'targets', 'forwardMode', 'ringTime', 'monitor', 'apartments'];
    const want: Record<string, string[]> = {
      answer: [],
      ring: [],
      hangup: [],
      cancel: [],
      bridge: [],
      dial: [],
      reject: ['code'],
      redirect: ['target'],
      play: ['prompt'],
      dtmf: ['digits'],
      forward: ['targets', 'forwardMode', 'ringTime', 'monitor', 'apartments'],
      // from msg.action: every setting a message may fall back on
      msg: rows,
    };
    const seen: Record<string, string[]> = {};
    for (const action of Object.keys(want)) {
      await page.selectOption('#node-input-action', action);
      seen[action] = await page.evaluate((r) => r.filter((f) => (globalThis as any).$(`#node-input-${f}`).is(':visible')), rows);
    }
    await closeDialog(page);
    expect(seen).toEqual(want);
  });

  test("the door's panel is a picker of the SIP accounts", async () => {
    const page = editor!.page;
    const accountId: string = await page.evaluate(() => {
      const RED = (globalThis as any).RED;
      const id = RED.nodes.id();
      RED.view.importNodes([{ id, type: 'intercom-sip-account', name: 'panel line', mode: 'p2p' }]);
      return id;
    });
    await openDialog(page, 'intercom-door');
    const options: string[] = await page.evaluate(() => (globalThis as any).$('#node-config-input-panel option').map((_: number, o: any) => o.value).get());
    const tag: string = await page.evaluate(() => (globalThis as any).$('#node-config-input-panel').prop('tagName'));
    await closeDialog(page);
    expect(tag).toBe('SELECT');
    expect(options).toContain(accountId);
  });

  test(`a new whitelist starts with the number plan and zone of ${locale.locale} / ${locale.timezoneId}`, async () => {
    const page = editor!.page;
    const made = await page.evaluate(() => {
      const RED = (globalThis as any).RED;
      const out: Record<string, unknown> = {};
      for (const t of ['intercom-whitelist', 'intercom-time-window']) {
        const d = RED.nodes.getType(t).defaults;
        for (const k of ['countryCode', 'trunkPrefix', 'internationalPrefix', 'nationalDigits', 'timezone']) if (d[k]) out[`${t}.${k}`] = d[k].value;
      }
      return out;
    });
    expect(made).toEqual({
      'intercom-whitelist.countryCode': locale.plan.countryCode,
      'intercom-whitelist.trunkPrefix': locale.plan.trunkPrefix,
      'intercom-whitelist.internationalPrefix': locale.plan.internationalPrefix,
      'intercom-whitelist.nationalDigits': locale.plan.nationalDigits,
      'intercom-whitelist.timezone': locale.timezoneId,
      'intercom-time-window.timezone': locale.timezoneId,
    });
  });

  test('a door with a bad setting is red at deploy on the node using it, with the whole reason', async () => {
    const page = editor!.page;
    // deployed through the admin API (the editor would warn first, rightly)
    const flow = [
      { id: 'badtab', type: 'tab', label: 'bad door' },
      { id: 'baddoor', type: 'intercom-door', name: 'Gate', openKind: 'preset', preset: '2n', host: 'htp:/bad url' },
      { id: 'badopen', type: 'intercom-door-open', z: 'badtab', door: 'baddoor', x: 200, y: 100, wires: [[]] },
    ];
    const r = await fetch(`${editor!.nr.url}/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flow) });
    expect(r.status).toBeLessThan(300);
    // the flows as the editor shows them after a fresh load (leaving the tests' unsaved nodes behind)
    page.once('dialog', (d) => void d.accept());
    await page.reload();
    await page.waitForFunction(() => (globalThis as any).RED?.nodes?.node?.('badopen'), undefined, { timeout: 30000 });
    await page.evaluate(() => (globalThis as any).RED.workspaces.show('badtab'));
    const label = page.locator('#red-ui-workspace-chart [id="badopen"] .red-ui-flow-node-status-label');
    await waitFor(async () => ((await label.textContent()) ?? '').length > 0, 'the status on the canvas', 10000);
    // the runtime speaks its own language (en-US here), whatever the editor's is
    const said: string = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'locales', 'en-US', 'intercom-door.json'), 'utf8'))['intercom-door'].label.host;
    const text = ((await label.textContent()) ?? '').trim();
    // the whole message, with the field's name and the value, not cut mid-word
    expect(text).toContain(said);
    expect(text).toMatch(/"htp:\/bad url"$/);
    const fill = await page.evaluate(() => (globalThis as any).$('#red-ui-workspace-chart [id="badopen"] .red-ui-flow-node-status').attr('class'));
    expect(fill).toMatch(/red/);
  });

  test('the editor logged no error', () => {
    expect(editor!.errors).toEqual([]);
  });
}

describeWithPeers(['chromium'], 'the dialogs in the editor', () => {
  beforeAll(() => {
    packed = packPackage();
    installed = installIntoUserDir(packed.tarball, 'nrsi-installed-');
  }, 120000);
  afterAll(() => {
    rmDir(installed);
    rmDir(packed?.dir);
  });
  describeWithRuntime(nodeRed4(), 'dialogs', (rt) =>
    formsOn(rt, { locale: 'en-US', timezoneId: 'America/New_York', plan: { countryCode: '1', trunkPrefix: '1', internationalPrefix: '011', nationalDigits: 10 } }, true),
  );
  describeWithRuntime(nodeRed5(), 'dialogs', (rt) =>
    formsOn(rt, { locale: 'de-DE', timezoneId: 'Europe/Berlin', plan: { countryCode: '49', trunkPrefix: '0', internationalPrefix: '00', nationalDigits: 0 } }, false),
  );
});
