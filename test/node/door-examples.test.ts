/**
 * The Doors example flows import and deploy: every intercom-door in them starts without a
 * configuration error (with the broker config nodes they name, kept off the network), and
 * the editor's preset list matches the presets the runtime has.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { helper } from '../helpers/node-red';
import { PRESETS } from '../../nodes/lib/door/presets';
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import snapshotNode = require('../../nodes/intercom-snapshot');
const coreMqtt = require('@node-red/nodes/core/network/10-mqtt.js');

const dir = path.join(__dirname, '..', '..', 'examples', 'Doors');
const examples = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('Doors examples', () => {
  beforeEach((done) => {
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
  });

  test.each(examples)('%s deploys its door nodes without a configuration error', async (file) => {
    const flow = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Array<Record<string, any>>;
    const ours = flow.filter((n) => String(n.type).startsWith('intercom-'));
    // a broker config node stays, but does not connect anywhere
    const brokers = flow.filter((n) => n.type === 'mqtt-broker').map((n) => ({ ...n, broker: '127.0.0.1', port: '1', autoConnect: false }));
    const ids = new Set(ours.map((n) => n.id));
    expect(ours.some((n) => n.type === 'intercom-door')).toBe(true);
    for (const n of ours) {
      if (n.type !== 'intercom-door') expect(ids.has(n.door)).toBe(true);
      if (n.wires) n.wires = n.wires.map((w: string[]) => w.filter((id) => ids.has(id)));
    }
    await helper.load([coreMqtt, doorNode, doorOpenNode, snapshotNode], [...ours, ...brokers]);
    for (const n of ours.filter((x) => x.type === 'intercom-door')) {
      const node = helper.getNode(n.id) as any;
      expect(node).toBeTruthy();
      // the helper records every node.error call (a sinon spy)
      const errors = (node.error as { args?: unknown[][] }).args;
      expect(Array.isArray(errors)).toBe(true);
      expect(errors).toEqual([]);
    }
  });

  test('no shipped door opens over MQTT with its own broker URL: they name a broker config node', () => {
    const doors = examples.flatMap((f) => (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Array<Record<string, any>>).filter((n) => n.type === 'intercom-door' && n.openKind === 'mqtt'));
    expect(doors.length).toBeGreaterThan(0);
    for (const d of doors) expect(d).toMatchObject({ mqttVia: 'broker', mqttBroker: expect.any(String) });
  });

  test('the editor lists exactly the runtime presets', () => {
    const html = readFileSync(path.join(__dirname, '..', '..', 'nodes', 'intercom-door.html'), 'utf8');
    const select = /<select id="node-config-input-preset">([\s\S]*?)<\/select>/.exec(html)?.[1] ?? '';
    const listed = [...select.matchAll(/value="([^"]+)"/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual(PRESETS.map((p) => p.id).sort());
  });
});
