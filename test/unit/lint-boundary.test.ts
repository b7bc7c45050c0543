import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// The domain core must stay free of Node-RED: the lint config enforces it, and this test
// proves the rule bites on exactly the imports it must refuse.
const root = path.resolve(__dirname, '../..');
const eslintBin = path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');

// ESLint runs as its own process: its flat config is an ES module that jest's VM cannot load.
async function problems(code: string, file: string): Promise<string[]> {
  const r = spawnSync(process.execPath, [eslintBin, '--stdin', '--stdin-filename', file, '-f', 'json'], {
    cwd: root,
    input: code,
    encoding: 'utf8',
  });
  const [res] = JSON.parse(r.stdout) as Array<{ messages: Array<{ ruleId: string; message: string }> }>;
  return res.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint boundary of nodes/lib', () => {
  jest.setTimeout(30000);
  test.each([
    ["import 'node-red';", 'node-red itself'],
    ["import '@node-red/util';", 'a Node-RED module'],
    ["import { onInput } from '../../shared/lifecycle';\nexport const x = onInput;", 'the Node-RED glue'],
    ["import x from '../../intercom-journal';\nexport const y = x;", 'a node adapter'],
  ])('refuses %s (%s)', async (code) => {
    const p = await problems(code, 'nodes/lib/sip/probe.ts');
    expect(p.some((m) => m.startsWith('no-restricted-imports'))).toBe(true);
  });

  test('allows the core to import itself and Node built-ins', async () => {
    const p = await problems("import { Journal } from '../journal/journal';\nimport * as dgram from 'node:dgram';\nexport const x = [Journal, dgram];\n", 'nodes/lib/sip/probe.ts');
    expect(p).toEqual([]);
  });

  test('flags unused code', async () => {
    const p = await problems('const unused = 1;\nexport {};\n', 'nodes/lib/sip/probe.ts');
    expect(p.some((m) => m.includes('no-unused-vars'))).toBe(true);
  });

  test('nodes outside lib may import the glue', async () => {
    const p = await problems("import { onInput } from './shared/lifecycle';\nexport const x = onInput;\n", 'nodes/intercom-probe.ts');
    expect(p).toEqual([]);
  });
});
