/**
 * Every example as a user imports it: Import → Examples → node-red-contrib-sip-intercom →
 * group → title in the real editor (the packed package in Node-RED 4 and 5, headless
 * Debian chromium). Each lands in a tab of its own, no node of it is flagged (the editor's
 * own `valid` flags), no type is unknown, and Deploy goes through without the "not
 * properly configured" warning or an unused config node. The deploy request is answered
 * by the test, so nothing binds a port: what is checked is what the editor sends.
 *
 * On Node-RED 4 every example goes through the dialog; on Node-RED 5 the first does, and
 * the others are fetched from the same library URL the dialog used and imported the way
 * the dialog imports them (RED.view.importNodes): the same editor judges the same nodes,
 * without clicking through the tree twenty more times.
 */
import type { Page, Route } from 'playwright-core';
import { openEditor, screenshot, type Editor } from '../helpers/editor';
import { exampleFiles } from '../helpers/examples';
import { describeWithPeers } from '../helpers/peers';
import { describeWithRuntime, installIntoUserDir, nodeRed4, nodeRed5, packPackage, pkg, rmDir, type Packed, type Runtime } from '../helpers/package';

jest.setTimeout(60000);

let packed: Packed | undefined;
let installed: string | undefined;

/** What the editor thinks of the nodes of one tab and the config nodes they use. */
async function verdicts(page: Page, tab: string): Promise<Array<{ id: string; type: string; name: string; valid: boolean; errors: string[] }>> {
  return page.evaluate((z) => {
    const RED = (globalThis as any).RED;
    const out: any[] = [];
    RED.nodes.eachNode((n: any) => {
      if (n.z !== z) return;
      out.push({ id: n.id, type: n.type, name: n.name || '', valid: n.valid !== false, errors: n.validationErrors || [] });
    });
    // every config node so far: one this example brought, or one it shares, must stay valid
    RED.nodes.eachConfig((n: any) => {
      if (n.valid === undefined) RED.editor.validateNode(n);
      out.push({ id: n.id, type: n.type, name: n.name || '', valid: n.valid !== false, errors: n.validationErrors || [] });
    });
    return out;
  }, tab);
}

async function tabCount(page: Page): Promise<number> {
  return page.evaluate(() => {
    let n = 0;
    (globalThis as any).RED.nodes.eachWorkspace(() => n++);
    return n;
  });
}

/** Import one example as the dialog does, from the library URL it fetched (`…/<group>/<title>`). */
async function importFromLibrary(page: Page, base: string, file: string): Promise<void> {
  const tabs = await tabCount(page);
  const url = `${base}${file.replace(/\.json$/, '').split('/').map(encodeURIComponent).join('/')}`;
  await page.evaluate(async (u) => {
    const g = globalThis as any;
    const data = await new Promise((resolve, reject) => g.$.get(u, resolve).fail((x: any) => reject(new Error(`GET ${u}: ${x.status}`))));
    g.RED.view.importNodes(data, { generateIds: false, addFlow: false });
  }, url);
  await page.waitForFunction((n) => {
    let now = 0;
    (globalThis as any).RED.nodes.eachWorkspace(() => now++);
    return now > n;
  }, tabs, { timeout: 10000 });
}

async function importExample(page: Page, file: string): Promise<void> {
  const [group, title] = [file.split('/')[0], file.split('/')[1].replace(/\.json$/, '')];
  const tabs = await tabCount(page);
  await page.evaluate(() => (globalThis as any).RED.actions.invoke('core:show-import-dialog'));
  await page.locator('#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples a').click();
  const item = (text: string) =>
    page
      .locator('#red-ui-clipboard-dialog-import-tab-examples .red-ui-treeList-label')
      .filter({ hasText: new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`) })
      .first();
  // A folder opens on a click (it slides open, its content may be fetched first); one left
  // open by the previous import stays open, and a second click would close it again.
  const open = async (folder: string, child: string): Promise<void> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await item(child).isVisible()) return;
      await item(folder).click();
      if (await item(child).waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) return;
    }
    throw new Error(`Import → Examples: ${folder} does not show ${child}`);
  };
  await open(pkg.name, group);
  await open(group, title);
  await item(title).click();
  // the flow is fetched and shown before Import is enabled
  const ok = page.locator('#red-ui-clipboard-dialog-ok');
  await page.waitForFunction(() => !(globalThis as any).$('#red-ui-clipboard-dialog-ok').prop('disabled'), undefined, { timeout: 10000 });
  await ok.click();
  await page.waitForFunction((n) => {
    let now = 0;
    (globalThis as any).RED.nodes.eachWorkspace(() => now++);
    return now > n;
  }, tabs, { timeout: 10000 });
}

function examplesOn(rt: Runtime, shot: string, dialog: 'every' | 'first'): void {
  let editor: Editor | undefined;
  const posted: unknown[] = [];
  /** the library URL of the package's examples, as the dialog fetched the first one */
  let libraryBase: string | undefined;
  beforeAll(async () => {
    editor = await openEditor(rt, installed!);
    editor.page.on('request', (req) => {
      const m = /^(.*\/library\/[^?]*?\/flows\/[^?]*?)([^/?]+)\/([^/?]+)$/.exec(req.url());
      if (m && !libraryBase && req.method() === 'GET' && decodeURIComponent(m[1]).endsWith(`${pkg.name}/`)) libraryBase = m[1];
    });
    // Deploy is answered here: the flows would otherwise bind SIP ports on every interface.
    await editor.page.route('**/flows', async (route: Route) => {
      if (route.request().method() !== 'POST') return route.continue();
      posted.push(route.request().postDataJSON());
      await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ rev: 'test' }) });
    });
  }, 120000);
  afterAll(async () => {
    if (editor) await screenshot(editor.page, shot);
    await editor?.close();
  });

  const files = exampleFiles();

  test.each(files)('%s imports into a tab of its own with no node flagged', async (file) => {
    const page = editor!.page;
    const tabsBefore: string[] = await page.evaluate(() => {
      const ids: string[] = [];
      (globalThis as any).RED.nodes.eachWorkspace((w: any) => ids.push(w.id));
      return ids;
    });
    const nodesBefore: string[] = await page.evaluate(() => {
      const ids: string[] = [];
      (globalThis as any).RED.nodes.eachNode((n: any) => ids.push(n.id));
      return ids;
    });
    if (dialog === 'first' && file !== files[0]) {
      expect(libraryBase).toBeDefined(); // the URL the dialog fetched the first example from
      await importFromLibrary(page, libraryBase!, file);
    } else await importExample(page, file);
    const tabsAfter: string[] = await page.evaluate(() => {
      const ids: string[] = [];
      (globalThis as any).RED.nodes.eachWorkspace((w: any) => ids.push(w.id));
      return ids;
    });
    const added = tabsAfter.filter((t) => !tabsBefore.includes(t));
    expect(added).toHaveLength(1);
    // nothing landed in a tab that was there before the import
    const strays = await page.evaluate(([tabs, known]) => {
      const out: string[] = [];
      (globalThis as any).RED.nodes.eachNode((n: any) => {
        if (!known.includes(n.id) && tabs.includes(n.z)) out.push(`${n.type} ${n.id}`);
      });
      return out;
    }, [tabsBefore, nodesBefore] as const);
    expect(strays).toEqual([]);
    const nodes = await verdicts(page, added[0]);
    expect(nodes.length).toBeGreaterThan(0);
    expect(nodes.filter((n) => !n.valid || n.type === 'unknown').map((n) => `${n.type} '${n.name}': ${n.errors.join('; ') || 'invalid'}`)).toEqual([]);
  });

  test('Deploy with every example in: no "not properly configured" warning, no unused config node', async () => {
    const page = editor!.page;
    posted.length = 0;
    // what the editor counts as unused (it says so after a deploy)
    const unused = await page.evaluate(() => {
      const out: string[] = [];
      (globalThis as any).RED.nodes.eachConfig((n: any) => {
        if (n._def.hasUsers !== false && n.users.length === 0) out.push(`${n.type} '${n.name}'`);
      });
      return out;
    });
    expect(unused).toEqual([]);
    await page.locator('#red-ui-header-button-deploy').click();
    // the editor warns before it sends anything: a request means it did not
    await page.waitForFunction(() => (globalThis as any).$('.red-ui-notification').length > 0, undefined, { timeout: 10000 });
    expect(posted).toHaveLength(1);
    const sent = posted[0] as { flows?: Array<Record<string, unknown>> } | Array<Record<string, unknown>>;
    const flows = Array.isArray(sent) ? sent : (sent.flows ?? []);
    // the editor's own empty "Flow 1" and one tab per example
    expect(flows.filter((n) => n.type === 'tab')).toHaveLength(files.length + 1);
    expect(await page.locator('.red-ui-deploy-dialog-confirm-list').count()).toBe(0);
  });

  test('the editor logged no error', () => {
    expect(editor!.errors).toEqual([]);
  });
}

describeWithPeers(['chromium'], 'every example imported in the editor', () => {
  beforeAll(() => {
    packed = packPackage();
    installed = installIntoUserDir(packed.tarball, 'nrsi-installed-');
  }, 120000);
  afterAll(() => {
    rmDir(installed);
    rmDir(packed?.dir);
  });
  describeWithRuntime(nodeRed4(), 'examples', (rt) => examplesOn(rt, 'examples-node-red-4.png', 'every'));
  describeWithRuntime(nodeRed5(), 'examples', (rt) => examplesOn(rt, 'examples-node-red-5.png', 'first'));
});
