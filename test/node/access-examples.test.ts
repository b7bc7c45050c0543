/**
 * The examples a user tries by pressing inject buttons (Access/*, Getting started), loaded
 * from their files with only what their comments say to set changed, do what they say.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadExample, setAfterImport } from '../helpers/examples';
import { getNode, helper } from '../helpers/node-red';
import { waitFor } from '../helpers/wait';
import journalNode = require('../../nodes/intercom-journal');
import timeWindowNode = require('../../nodes/intercom-time-window');
import whitelistNode = require('../../nodes/intercom-whitelist');

const core = ['common/20-inject', 'common/21-debug', 'common/90-comment', 'function/10-function'].map((f) =>
  require(require.resolve(`@node-red/nodes/core/${f}.js`, { paths: [path.dirname(require.resolve('node-red'))] })),
);
const ours = [journalNode, timeWindowNode, whitelistNode];
const known = new Set(['tab', 'inject', 'debug', 'comment', 'function', 'intercom-journal', 'intercom-time-window', 'intercom-whitelist']);
const example = (title: string) => JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'examples', 'Access', `${title}.json`), 'utf8')) as Array<Record<string, any>>;

describe('examples/Access and Getting started', () => {
  let dir: string;
  beforeEach((done) => {
    dir = mkdtempSync(path.join(tmpdir(), 'access-examples-'));
    helper.settings({ userDir: dir });
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const journal = () => {
    try {
      return readFileSync(path.join(dir, 'intercom-journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  };

  test.each(['Parking time-based whitelist', 'PIN before open'])('%s uses only core nodes and ours, and every node starts', async (title) => {
    const flow = example(title);
    expect(flow.filter((n) => !known.has(n.type)).map((n) => n.type)).toEqual([]);
    expect(JSON.stringify(flow)).not.toMatch(/"pins"/); // PINs never in a flow
    await helper.load([...core, ...ours], flow);
    for (const n of flow) if (n.type !== 'tab') getNode(n.id);
  });

  test('Parking: a ring is journaled as opened, busy or diverted, whatever the hour', async () => {
    await helper.load([...core, ...ours], example('Parking time-based whitelist'));
    getNode('ac1_i1').receive({});
    getNode('ac1_i3').receive({});
    await waitFor(() => journal().length === 2, 'two journal lines');
    const [listed, anon] = journal();
    expect(['open', 'divert']).toContain(listed.event);
    expect(['reject', 'divert']).toContain(anon.event);
    if (anon.event === 'reject') expect(anon).toMatchObject({ result: '486', reason: 'missing-caller', door: 'parking' });
    if (anon.event === 'divert') expect(anon).toMatchObject({ result: 'security', door: 'parking' });
  });

  test('PIN before open: right PIN opens, wrong ones lock out, the journal has no PIN', async () => {
    const ex = loadExample('Access/PIN before open.json');
    const creds = setAfterImport(ex, { 'PIN check': { pins: 'guard:2580' } });
    await helper.load([...core, ...ours], ex.flow, creds);
    getNode('ac2_i1').receive({});
    await waitFor(() => journal().some((e) => e.event === 'answered'), 'the listed caller answered and asked for the PIN');
    getNode('ac2_i2').receive({});
    await waitFor(() => journal().some((e) => e.event === 'open'), 'door opened');
    for (let i = 0; i < 3; i++) getNode('ac2_i3').receive({});
    await waitFor(() => journal().some((e) => e.reason === 'lockout'), 'lockout journaled');
    expect(readFileSync(path.join(dir, 'intercom-journal.jsonl'), 'utf8')).not.toMatch(/2580|7777/);
  });
});

describe('examples/Getting started', () => {
  let dir: string;
  beforeEach((done) => {
    dir = mkdtempSync(path.join(tmpdir(), 'getting-started-'));
    helper.settings({ userDir: dir });
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('nothing to set: the button journals a ring in the user directory and shows it', async () => {
    const ex = loadExample('Getting started/Journal every event.json');
    expect([...ex.todo.keys()]).toEqual([]);
    await helper.load([...core, ...ours], ex.flow);
    const shown: Array<Record<string, any>> = [];
    getNode('gs_debug').on('input', (m: Record<string, any>) => shown.push(m));
    getNode('gs_inject').receive({});
    await waitFor(() => shown.length > 0, 'the journaled ring in the debug sidebar');
    const line = JSON.parse(readFileSync(path.join(dir, 'intercom-journal.jsonl'), 'utf8').trim());
    expect(line).toMatchObject({ event: 'ring', caller: '200', note: 'getting started' });
    expect(shown[0].journal).toMatchObject({ event: { event: 'ring', caller: '200' } });
  });
});
