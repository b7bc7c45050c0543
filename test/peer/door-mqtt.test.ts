/**
 * The MQTT way to open, against a real mosquitto on a free loopback port: the publish and
 * its acknowledgement, a broker that is down, and the connections a house of doors holds at
 * the broker (counted by the broker itself, $SYS/broker/clients/connected): one per broker
 * config node, or one per URL and user for doors saved with their own broker URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { shareClient, sharedClientCount } from '../../nodes/lib/door/mqtt-clients';
import { DoorOpener } from '../../nodes/lib/door/opener';
import { getNode, helper, nextMessage } from '../helpers/node-red';
import { describeWithPeers, which } from '../helpers/peers';
import { freeTcpPort } from '../helpers/ports';
import { says } from '../helpers/says';
import { delay, waitFor } from '../helpers/wait';
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import haNode = require('../../nodes/intercom-home-assistant');
const coreMqtt = require('@node-red/nodes/core/network/10-mqtt.js');

jest.setTimeout(20000);

describeWithPeers(['mosquitto'], 'MQTT door action against mosquitto', () => {
  let dir: string;
  let port: number;
  let broker: ChildProcess;
  /** the test's own client: counts the broker's connections and receives the doors' commands */
  let watcher: MqttClient;
  let connected = -1;
  const received: Array<{ topic: string; payload: string }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'door-mqtt-'));
    port = await freeTcpPort();
    writeFileSync(path.join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 1\n`);
    broker = spawn(which('mosquitto') as string, ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      'mosquitto listening',
    );
    watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
    watcher.on('message', (topic, m) => {
      if (topic === '$SYS/broker/clients/connected') connected = Number(m.toString());
      else received.push({ topic, payload: m.toString() });
    });
    await watcher.subscribeAsync(['$SYS/broker/clients/connected', 'house/#'], { qos: 1 });
  });
  afterAll(async () => {
    await watcher.endAsync();
    if (broker.exitCode === null) {
      const gone = new Promise((r) => broker.once('exit', r));
      broker.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    received.length = 0;
  });

  /** The broker's count of connected clients, ours excluded, once it has held for a while. */
  async function clientsBesidesOurs(expected: number): Promise<number> {
    // mosquitto publishes the count once a second when it changed: wait for it, then make
    // sure no further connection comes in.
    await waitFor(() => connected === expected + 1, `${expected} client(s) besides the watcher (broker says ${connected - 1})`, 5000).catch(() => undefined);
    await delay(1500);
    return connected - 1;
  }

  describe('the core', () => {
    test('publishes the payload template on the topic and reports ok once acknowledged', async () => {
      const shared = shareClient({ url: `mqtt://127.0.0.1:${port}` });
      const o = new DoorOpener({
        doorId: 'front',
        doorName: 'Front',
        action: { kind: 'mqtt', topic: 'house/door/front/set', payload: '{"open":true,"by":"{{msg.call.from.user}}","door":"{{door.id}}"}' },
        mqtt: () => shared.connection,
        minIntervalMs: 0,
      });
      const r = await o.open({ msg: { call: { from: { user: '201' } } } });
      expect(r).toMatchObject({ ok: true, attempts: 1, outcome: 'ok' });
      await waitFor(() => received.length > 0, 'the command at the subscriber');
      expect(received.map((m) => m.topic)).toEqual(['house/door/front/set']);
      expect(JSON.parse(received[0].payload)).toEqual({ open: true, by: '201', door: 'front' });
      await o.close();
      await shared.release();
      expect(sharedClientCount()).toBe(0);
    });

    test('broker down: a clear failure within the timeout, and nothing left queued', async () => {
      const dead = await freeTcpPort();
      const shared = shareClient({ url: `mqtt://127.0.0.1:${dead}` });
      const o = new DoorOpener({
        doorId: 'front',
        doorName: 'Front',
        action: { kind: 'mqtt', topic: 't', payload: 'open' },
        mqtt: () => shared.connection,
        timeoutMs: 400,
        minIntervalMs: 0,
      });
      const t0 = Date.now();
      const r = await o.open();
      expect(r).toMatchObject({ ok: false, outcome: 'failed', error: { code: 'door.mqttUnreachable' } });
      expect(says(r.error)).toMatch(/MQTT publish failed: broker mqtt:\/\/127\.0\.0\.1:\d+ not reachable within 400 ms/);
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(shared.connection.connected).toBe(false);
      await o.close();
      await shared.release();
    });
  });

  describe('doors in Node-RED', () => {
    beforeEach((done) => {
      helper.startServer(done);
    });
    afterEach(async () => {
      await helper.unload();
      await new Promise((r) => helper.stopServer(r));
    });

    const doors = (extra: (i: number) => Record<string, unknown>) =>
      [1, 2, 3, 4, 5].map((i) => ({ id: `d${i}`, type: 'intercom-door', name: `Gate ${i}`, openKind: 'mqtt', topic: `house/gate${i}/set`, mqttPayload: '{"open":true,"by":"{{msg.call.from.user}}"}', minInterval: 0, ...extra(i) }));
    const openers = [1, 2, 3, 4, 5].map((i) => ({ id: `o${i}`, type: 'intercom-door-open', door: `d${i}`, wires: [['out']] }));

    async function openAll(): Promise<Array<Record<string, any>>> {
      const results: Array<Record<string, any>> = [];
      for (let i = 1; i <= 5; i++) {
        const got = nextMessage(getNode('out'), 6000);
        getNode(`o${i}`).receive({ call: { id: `c${i}`, from: { user: `20${i}` } } });
        results.push(await got);
      }
      return results;
    }

    test('five doors on one core mqtt-broker node: one connection, and an open reaches the subscriber exactly once', async () => {
      const flow = [
        { id: 'b1', type: 'mqtt-broker', name: 'house', broker: '127.0.0.1', port: String(port), clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
        ...doors(() => ({ mqttVia: 'broker', mqttBroker: 'b1' })),
        ...openers,
        { id: 'out', type: 'helper' },
      ];
      await helper.load([coreMqtt, doorNode, doorOpenNode], flow);
      expect(await clientsBesidesOurs(1)).toBe(1);
      const got = nextMessage(getNode('out'), 6000);
      getNode('o1').receive({ call: { id: 'c1', from: { user: '201' } } });
      const msg = await got;
      expect(msg.payload).toBe('ok');
      expect(msg.door).toMatchObject({ id: 'gate_1', outcome: 'ok', attempts: 1 });
      // the subscriber gets it from the broker a moment later; then a moment for any second one
      await waitFor(() => received.length > 0, 'the command at the subscriber');
      await delay(300);
      expect(received).toEqual([{ topic: 'house/gate1/set', payload: '{"open":true,"by":"201"}' }]);
      const rest = await openAll();
      expect(rest.every((m) => m.payload === 'ok')).toBe(true);
      expect(await clientsBesidesOurs(1)).toBe(1);
    });

    test('five doors saved with their own broker URL share one connection per URL and user', async () => {
      const url = `mqtt://127.0.0.1:${port}`;
      const flow = [...doors(() => ({ broker: url })), ...openers, { id: 'out', type: 'helper' }];
      await helper.load([doorNode, doorOpenNode], flow);
      const results = await openAll();
      expect(results.map((m) => m.payload)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      // the broker's acknowledgement may come before the subscriber has the last command
      await waitFor(() => received.length >= 5, 'the five commands at the subscriber', 5000);
      expect(received.map((m) => m.topic).sort()).toEqual([1, 2, 3, 4, 5].map((i) => `house/gate${i}/set`));
      expect(await clientsBesidesOurs(1)).toBe(1);
      expect(sharedClientCount()).toBe(1);
      await helper.unload();
      expect(sharedClientCount()).toBe(0);
      expect(await clientsBesidesOurs(0)).toBe(0);
    });

    test('doors through an intercom-home-assistant node use its connection', async () => {
      const flow = [
        { id: 'ha1', type: 'intercom-home-assistant', name: 'HA', broker: `mqtt://127.0.0.1:${port}`, baseTopic: 'intercom', discoveryPrefix: 'homeassistant' },
        ...doors(() => ({ mqttVia: 'ha', mqttHa: 'ha1' })),
        ...openers,
        { id: 'out', type: 'helper' },
      ];
      await helper.load([haNode, doorNode, doorOpenNode], flow);
      const results = await openAll();
      expect(results.map((m) => m.payload)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
      await waitFor(() => received.length >= 5, 'the five commands at the subscriber', 5000);
      expect(received.filter((m) => m.topic === 'house/gate3/set')).toEqual([{ topic: 'house/gate3/set', payload: '{"open":true,"by":"203"}' }]);
      expect(await clientsBesidesOurs(1)).toBe(1);
    });

    test('a door naming a broker node that is not there is red at deploy, and says so when asked to open', async () => {
      const flow = [...doors(() => ({ mqttVia: 'broker', mqttBroker: 'nowhere' })).slice(0, 1), openers[0], { id: 'out', type: 'helper' }];
      await helper.load([doorNode, doorOpenNode], flow);
      const door = getNode('d1');
      const errors = (door.error as { args: unknown[][] }).args.map((a) => String(a[0]));
      expect(errors).toContain('door "Gate 1" not usable: the MQTT broker config node nowhere does not exist');
      const status = (getNode('o1').status as unknown as { args: Array<Array<Record<string, string>>> }).args.at(-1)?.[0];
      expect(status).toMatchObject({ fill: 'red', text: 'door not usable: the MQTT broker config node nowhere does not exist' });
      const got = nextMessage(getNode('out'));
      getNode('o1').receive({});
      expect((await got).door).toMatchObject({ outcome: 'failed', error: 'door not usable: the MQTT broker config node nowhere does not exist' });
    });
  });
});
