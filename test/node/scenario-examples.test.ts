/**
 * Every shipped example deploys with the real intercom nodes: each file is loaded into the
 * test helper with every intercom node module and the core nodes the examples use, after
 * moving everything that would talk to the network onto loopback (SIP accounts to
 * 127.0.0.1:<free port>, PBX servers, door hosts, cameras and MQTT brokers to a closed
 * loopback port), and no intercom node may report a configuration error.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { helper } from '../helpers/node-red';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { delay } from '../helpers/wait';
import journalNode = require('../../nodes/intercom-journal');
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import snapshotNode = require('../../nodes/intercom-snapshot');
import whitelistNode = require('../../nodes/intercom-whitelist');
import timeWindowNode = require('../../nodes/intercom-time-window');
import dtmfNode = require('../../nodes/intercom-dtmf');
import accountNode = require('../../nodes/intercom-sip-account');
import sipInNode = require('../../nodes/intercom-sip-in');
import sipCallNode = require('../../nodes/intercom-sip-call');
import haNode = require('../../nodes/intercom-home-assistant');
import haDoorNode = require('../../nodes/intercom-ha-door');
import notifyNode = require('../../nodes/intercom-notify');
import doorPageNode = require('../../nodes/intercom-door-page');

const core = [
  'common/20-inject.js',
  'common/21-debug.js',
  'common/25-catch.js',
  'common/60-link.js',
  'common/90-comment.js',
  'function/10-function.js',
  'function/10-switch.js',
  'function/15-change.js',
  'function/89-delay.js',
  'network/21-httpin.js',
  'network/10-mqtt.js',
].map((f) => require(`@node-red/nodes/core/${f}`));
const intercom = [journalNode, doorNode, doorOpenNode, snapshotNode, whitelistNode, timeWindowNode, dtmfNode, accountNode, sipInNode, sipCallNode, haNode, haDoorNode, notifyNode, doorPageNode];

jest.setTimeout(20000);
const root = path.join(__dirname, '..', '..', 'examples');
const files = readdirSync(root).flatMap((d) => readdirSync(path.join(root, d)).filter((f) => f.endsWith('.json')).map((f) => `${d}/${f}`));
type Flow = Array<Record<string, any>>;
const load = (f: string): Flow => JSON.parse(readFileSync(path.join(root, f), 'utf8')) as Flow;

/** Any scheme://host[:port] in a string value now points at the closed loopback port. */
function toLoopback(node: Record<string, any>, closed: number): void {
  for (const [k, v] of Object.entries(node)) {
    if (typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(v)) node[k] = v.replace(/^([a-z][a-z0-9+.-]*:\/\/)(?:[^@/]*@)?[^/:?#]+(?::\d+)?/i, `$1127.0.0.1:${closed}`);
  }
}

describe('every example deploys with the real intercom nodes', () => {
  let dir: string;
  beforeEach(async () => {
    await new Promise<void>((r) => helper.startServer(() => r()));
    dir = mkdtempSync(path.join(tmpdir(), 'scenario-examples-'));
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('the package registers every intercom node type the examples use', () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
    const used = new Set(files.flatMap((f) => load(f).map((n) => String(n.type)).filter((t) => t.startsWith('intercom-'))));
    for (const t of used) expect(pkg['node-red'].nodes[t]).toBe(`dist/nodes/${t}.js`);
  });

  test('the scenario examples use ids no other example uses', () => {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    for (const f of files) {
      for (const n of load(f)) {
        const prev = owner.get(n.id);
        if (prev && prev !== f) clashes.push(`${n.id}: ${prev} and ${f}`);
        owner.set(n.id, f);
      }
    }
    expect(clashes).toEqual([]);
  });

  const deploys = async (file: string): Promise<void> => {
    const flow = load(file);
    const closed = await freeTcpPort();
    let journals = 0;
    // Passwords are credentials, never in an example: fill the ones a comment tells the user to set.
    const credentials: Record<string, Record<string, string>> = {};
    for (const n of flow) {
      switch (n.type) {
        case 'intercom-sip-account':
          if (n.mode === 'registrar') {
            const users = String(n.registrarUsers ?? '').split('\n').map((l: string) => l.trim().split(/\s+/)[0]).filter(Boolean);
            credentials[n.id] = { registrarPasswords: users.map((u: string) => `${u}:test-${u}`).join(', ') };
          }
          Object.assign(n, { bindAddress: '127.0.0.1', bindPort: await freeSipPort(), allowedSources: '127.0.0.1', publicAddress: '' });
          if (n.server) n.server = `127.0.0.1:${closed}`;
          if (n.domain) n.domain = '127.0.0.1';
          break;
        case 'intercom-door':
          if (n.host) n.host = `http://127.0.0.1:${closed}`;
          toLoopback(n, closed);
          break;
        case 'intercom-home-assistant':
          toLoopback(n, closed);
          break;
        case 'mqtt-broker':
          Object.assign(n, { broker: '127.0.0.1', port: String(closed), autoConnect: false });
          break;
        case 'intercom-journal':
          n.file = path.join(dir, `journal-${journals++}.jsonl`);
          break;
      }
    }
    // examples may leave their flow nodes without a tab (z); the helper starts only nodes on one
    if (!flow.some((n) => n.type === 'tab')) {
      flow.unshift({ id: 'scenario-test-tab', type: 'tab', label: file });
      for (const n of flow) if (Array.isArray(n.wires) || n.type === 'comment') n.z ??= 'scenario-test-tab';
    }
    await helper.load([...intercom, ...core], flow, credentials);
    await delay(300);
    const ours = flow.filter((n) => String(n.type).startsWith('intercom-'));
    expect(ours.length).toBeGreaterThan(0);
    const missing = ours.filter((n) => !helper.getNode(n.id)).map((n) => `${n.type} ${n.id}`);
    expect(missing).toEqual([]);
    // the helper's node.error spy is one sinon spy shared by all nodes: thisValues names who
    const spy = (helper.getNode(ours[0].id) as any).error as { args?: unknown[][]; thisValues?: Array<{ type?: string; name?: string; id?: string }> };
    expect(Array.isArray(spy.args)).toBe(true);
    const errors = (spy.args ?? []).map((a, i) => ({ node: spy.thisValues?.[i], text: String(a[0]) }));
    expect(errors.filter((e) => String(e.node?.type).startsWith('intercom-')).map((e) => `${e.node?.type} ${e.node?.name || e.node?.id}: ${e.text}`)).toEqual([]);
  };
  test.each(files)('%s', deploys);
});
