/**
 * The package contract (issue 3, item 5): `npm pack`, install the tarball into a fresh
 * Node-RED user dir, start Node-RED on a free loopback port, and prove through the admin API
 * that every declared intercom-* type loads without error and that its icons, labels, help
 * and the examples are served. Run on both supported lines: Node-RED 4 on this Node, and
 * Node-RED 5 on Node 22 from the cache `node scripts/nodered5.js` fills.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  checkExamples,
  checkHelp,
  checkIcons,
  checkLocales,
  checkLog,
  checkRegistration,
  checkTarball,
} from '../helpers/package-contract';
import {
  NodeRedInstance,
  Packed,
  Runtime,
  copyUserDir,
  declaredTypes,
  get,
  describeWithRuntime,
  installIntoUserDir,
  nodeRed4,
  nodeRed5,
  packPackage,
  pkg,
  repoRoot,
  rmDir,
  startNodeRed,
} from '../helpers/package';

jest.setTimeout(60000);

let packed: Packed | undefined;
let installed: string | undefined;

beforeAll(() => {
  packed = packPackage();
  installed = installIntoUserDir(packed.tarball, 'nrsi-installed-');
}, 120000);

afterAll(() => {
  rmDir(installed);
  rmDir(packed?.dir);
});

test('the tarball holds every node with its editor files and the examples, and no Node-RED', () => {
  expect(checkTarball(packed!)).toEqual([]);
});

function contractOn(runtime: Runtime | string): void {
  describeWithRuntime(runtime, 'installed package', (rt) => {
    let nr: NodeRedInstance | undefined;
    let dir: string | undefined;
    beforeAll(async () => {
      dir = copyUserDir(installed!, 'nrsi-contract-');
      nr = await startNodeRed(rt, dir);
    }, 90000);
    afterAll(async () => {
      await nr?.stop();
      rmDir(dir);
    });

    test(`registers every type declared in package.json (${declaredTypes().length}) with no load error`, async () => {
      expect(await checkRegistration(nr!)).toEqual([]);
    });
    test('serves the icons', async () => {
      expect(await checkIcons(nr!)).toEqual([]);
    });
    test('serves en-US labels for every type and every label key the editor asks for', async () => {
      expect(await checkLocales(nr!)).toEqual([]);
    });
    test('serves help for every type', async () => {
      expect(await checkHelp(nr!)).toEqual([]);
    });
    test("serves the editor's field rules (resources/) that every dialog loads", async () => {
      // The dialogs load it before they register: were it missing, the editor would wait for it forever.
      const r = await get(`${nr!.url}/resources/${pkg.name}/intercom-editor.js`, '*/*');
      expect([r.status, r.type]).toEqual([200, expect.stringMatching(/javascript/)]);
      expect(r.body).toContain('window.IntercomEditor');
      for (const type of declaredTypes().filter((t) => !/home-assistant|ha-door|notify/.test(t))) {
        const html = fs.readFileSync(path.join(repoRoot, 'nodes', `${type}.html`), 'utf8');
        expect([type, html.includes(`src="resources/${pkg.name}/intercom-editor.js"`)]).toEqual([type, true]);
      }
    });
    test('offers every file under examples/ as an example', async () => {
      expect(await checkExamples(nr!)).toEqual([]);
    });
    test('logs no warning or error about the package', () => {
      expect(checkLog(nr!)).toEqual([]);
    });
  });
}

contractOn(nodeRed4());
contractOn(nodeRed5());

/**
 * The contract must be able to fail: the same checks against an install where one node
 * lost its labels and help, and the icons are gone, have to name what is missing.
 */
describe('the contract catches a broken install', () => {
  let nr: NodeRedInstance | undefined;
  let dir: string | undefined;
  let victim = '';
  beforeAll(async () => {
    dir = copyUserDir(installed!, 'nrsi-broken-');
    const root = path.join(dir, 'node_modules', pkg.name);
    const localeOf = (t: string): string =>
      path.join(root, path.dirname(pkg['node-red'].nodes[t]), 'locales', 'en-US', path.basename(pkg['node-red'].nodes[t], '.js'));
    // the first type that is really installed with its files, so their loss is what is seen
    victim = declaredTypes().find((t) => fs.existsSync(localeOf(t) + '.json') && fs.existsSync(localeOf(t) + '.html')) ?? '';
    expect(victim).not.toBe('');
    const dist = path.join(root, path.dirname(pkg['node-red'].nodes[victim]));
    const base = path.basename(pkg['node-red'].nodes[victim], '.js');
    fs.rmSync(path.join(dist, 'locales', 'en-US', `${base}.json`));
    fs.rmSync(path.join(dist, 'locales', 'en-US', `${base}.html`));
    fs.rmSync(path.join(dist, 'icons'), { recursive: true, force: true });
    nr = await startNodeRed(nodeRed4(), dir);
  }, 90000);
  afterAll(async () => {
    await nr?.stop();
    rmDir(dir);
  });

  test('a missing locale, help file and icon of one node are reported', async () => {
    expect(await checkLocales(nr!)).toEqual(expect.arrayContaining([expect.stringContaining(`no en-US labels for ${victim}`)]));
    expect(await checkHelp(nr!)).toEqual(expect.arrayContaining([`/nodes: no help (data-help-name) for ${victim}`]));
    const icons = await checkIcons(nr!);
    expect(icons).toEqual(expect.arrayContaining([expect.stringContaining(`not listed for ${pkg.name}`)]));
    // the registration itself still holds: the checks are independent, not all-or-nothing
    expect(await checkRegistration(nr!)).toEqual([]);
  });
});
