/**
 * The Home Assistant nodes against a real mosquitto, without Home Assistant: broker
 * credentials refused, a redeploy that must free the connection, and configuration errors
 * that must show as red status and input errors instead of silence.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { getNode, helper } from '../helpers/node-red';
import { describeWithPeers } from '../helpers/peers';
import { freeTcpPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import haConfigNode = require('../../nodes/intercom-home-assistant');
import haDoorNode = require('../../nodes/intercom-ha-door');
import notifyNode = require('../../nodes/intercom-notify');
import doorNode = require('../../nodes/intercom-door');

const NODES = [doorNode, haConfigNode, haDoorNode, notifyNode];

describeWithPeers(['mosquitto', 'mosquitto_passwd'], 'Home Assistant nodes with mosquitto', () => {
  let dir: string;
  let port: number;
  let broker: ChildProcess;
  const connects: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ha-node-'));
    port = await freeTcpPort();
    const pw = path.join(dir, 'passwd');
    writeFileSync(pw, '');
    execFileSync('mosquitto_passwd', ['-b', pw, 'nodered', 'right-pass']);
    // Started as root, mosquitto drops to its own user before reading the password file.
    chmodSync(dir, 0o755);
    chmodSync(pw, 0o644);
    const conf = path.join(dir, 'm.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous false\npassword_file ${pw}\npersistence false\nlog_type all\nlog_dest stderr\n`);
    broker = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Count connection attempts as the broker sees them.
    broker.stderr?.on('data', (b: Buffer) => {
      for (const line of b.toString().split('\n')) if (/New connection from/.test(line)) connects.push(Date.now());
    });
    await waitFor(async () => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username: 'nodered', password: 'right-pass', reconnectPeriod: 0 });
      const ok = await new Promise<boolean>((r) => {
        c.once('connect', () => r(true));
        c.once('error', () => r(false));
        c.once('close', () => r(false));
      });
      c.end(true);
      return ok;
    }, 'mosquitto', 5000, 50);
    await new Promise<void>((r) => helper.startServer(r));
  }, 20000);
  afterAll(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    broker.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => helper.unload());

  /** The status calls of one node (the helper's spies sit on the shared Node prototype). */
  const statuses = (id: string): any[] => {
    const n = getNode(id) as any;
    return n.status.getCalls().filter((c: any) => c.thisValue === n).map((c: any) => c.args[0]);
  };
  const flow = (extra: Record<string, unknown> = {}) => [
    { id: 'door1', type: 'intercom-door', doorId: 'front_door', name: 'Front door' },
    { id: 'ha1', type: 'intercom-home-assistant', broker: `mqtt://127.0.0.1:${port}`, ...extra },
    { id: 'hd', type: 'intercom-ha-door', server: 'ha1', door: 'door1', wires: [[]] },
  ];

  test('refused broker credentials: red status, one attempt, no reconnect storm', async () => {
    connects.length = 0;
    await helper.load(NODES, flow(), { ha1: { mqttUser: 'nodered', mqttPassword: 'wrong' } });
    const statuses: any[] = [];
    getNode('hd').on('call:status', (c: any) => statuses.push(c.args[0]));
    await waitFor(() => statuses.some((s) => /auth rejected/.test(s.text)), 'auth rejected status', 5000);
    await delay(3000);
    expect(connects.length).toBe(1);
    expect(statuses.at(-1)).toMatchObject({ fill: 'red' });
  }, 15000);

  test('good credentials: discovery is retained on the broker; a redeploy frees the connection', async () => {
    await helper.load(NODES, flow(), { ha1: { mqttUser: 'nodered', mqttPassword: 'right-pass' } });
    const probe = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username: 'nodered', password: 'right-pass' });
    const seen = new Map<string, string>();
    probe.on('message', (t, p) => seen.set(t, p.toString()));
    await new Promise((r) => probe.once('connect', r));
    await probe.subscribeAsync(['homeassistant/#', 'intercom/#']);
    await waitFor(() => seen.get('intercom/front_door/available') === 'online', 'door online', 5000);
    expect(JSON.parse(seen.get('homeassistant/lock/intercom_front_door/lock/config')!).payload_open).toBe('OPEN');
    expect(seen.get('intercom/bridge/status')).toBe('online');
    // Redeploy (not removed): offline, but the retained config stays.
    await helper.unload();
    await waitFor(() => seen.get('intercom/bridge/status') === 'offline', 'bridge offline', 5000);
    expect(seen.get('intercom/front_door/available')).toBe('offline');
    expect(seen.get('homeassistant/lock/intercom_front_door/lock/config')).not.toBe('');
    await probe.endAsync();
  });

  test('configuration mistakes are red at deploy, in full, and clear input errors', async () => {
    await helper.load(NODES, [
      { id: 'ha0', type: 'intercom-home-assistant' },
      { id: 'hd0', type: 'intercom-ha-door', server: 'ha0', door: 'nodoor', wires: [[]] },
      { id: 'nt0', type: 'intercom-notify', server: 'ha0', service: 'mobile_app_x', wires: [[], []] },
    ]);
    // At deploy, before any message: the node says why in red, and logs it whole.
    const atDeploy = ((getNode('hd0') as any).error.args as unknown[][]).map((a) => String(a[0]));
    expect(atDeploy).toEqual(expect.arrayContaining(['not exposed to Home Assistant: no MQTT broker configured', 'cannot notify: no Home Assistant websocket configured']));
    expect(statuses('hd0').at(-1)).toEqual({ fill: 'red', shape: 'ring', text: 'no MQTT broker configured' });
    expect(statuses('nt0').at(-1)).toEqual({ fill: 'red', shape: 'ring', text: 'no Home Assistant websocket configured' });
    const errs: string[] = [];
    getNode('hd0').on('call:error', (c: any) => errs.push(String(c.args[0])));
    getNode('nt0').on('call:error', (c: any) => errs.push(String(c.args[0])));
    getNode('hd0').receive({ topic: 'ring' });
    getNode('nt0').receive({ topic: 'ring' });
    await waitFor(() => errs.filter((e) => e.startsWith('Error:')).length >= 2, 'two input errors', 2000);
    expect(errs.join('\n')).toMatch(/not exposed to Home Assistant: no MQTT broker configured/);
    expect(errs.join('\n')).toMatch(/cannot notify: no Home Assistant websocket configured/);
  });

  test('add-on mode outside an add-on: says there is no Supervisor token and what to do', async () => {
    const saved = process.env.SUPERVISOR_TOKEN;
    delete process.env.SUPERVISOR_TOKEN;
    try {
      await helper.load(NODES, [
        { id: 'door1', type: 'intercom-door', doorId: 'front_door', name: 'Front door' },
        { id: 'ha0', type: 'intercom-home-assistant', addon: true, broker: '' },
        { id: 'nt0', type: 'intercom-notify', server: 'ha0', door: 'door1', service: 'mobile_app_x', wires: [[], []] },
        { id: 'hd0', type: 'intercom-ha-door', server: 'ha0', door: 'door1', wires: [[]] },
      ]);
      expect(statuses('nt0').at(-1)).toMatchObject({ fill: 'red', text: expect.stringMatching(/no SUPERVISOR_TOKEN .*not running as a Home Assistant add-on/) });
      await waitFor(() => /SUPERVISOR_TOKEN/.test(statuses('hd0').at(-1)?.text), 'the door says why too', 3000);
      expect(statuses('hd0').at(-1).fill).toBe('red');
    } finally {
      if (saved !== undefined) process.env.SUPERVISOR_TOKEN = saved;
    }
  });

  test('a full redeploy keeps the last caller; a reconnect does not send the same picture again', async () => {
    const creds = { ha1: { mqttUser: 'nodered', mqttPassword: 'right-pass' } };
    await helper.load(NODES, flow(), creds);
    const probe = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username: 'nodered', password: 'right-pass' });
    const seen: Array<{ topic: string; payload: string; retain: boolean }> = [];
    probe.on('message', (t, p, pk) => seen.push({ topic: t, payload: t.endsWith('/image') ? `[${p.length} bytes]` : p.toString(), retain: pk.retain }));
    await new Promise((r) => probe.once('connect', r));
    await probe.subscribeAsync(['intercom/front_door/caller', 'intercom/front_door/image']);
    await waitFor(() => (getNode('ha1') as any).mqtt.connected, 'connected', 5000);
    getNode('hd').receive({ topic: 'ring', call: { id: 'c1', from: { user: '100', display: 'Guest 101' } } });
    getNode('hd').receive({ topic: 'ring', payload: Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]) });
    await waitFor(() => seen.some((m) => m.topic.endsWith('/image')), 'the picture on the broker', 5000);
    // The broker connection drops (not the broker): the client reconnects on its own.
    const link = (getNode('ha1') as any).mqtt;
    seen.length = 0;
    link.client.stream.destroy();
    await waitFor(() => !link.connected, 'dropped', 5000);
    await waitFor(() => link.connected, 'reconnected within about a second', 3000);
    await delay(500);
    // Full redeploy: a new config node and door device on the same broker.
    await helper.unload();
    await helper.load(NODES, flow(), creds);
    await waitFor(() => (getNode('ha1') as any).mqtt.connected, 'connected again', 5000);
    await delay(800);
    expect(seen.filter((m) => m.topic.endsWith('/image'))).toEqual([]);
    expect(seen.filter((m) => m.topic.endsWith('/caller')).map((m) => m.payload)).not.toContain('');
    await probe.endAsync();
    // What a new subscriber (HA after a restart) gets: the caller of the last run.
    const late = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username: 'nodered', password: 'right-pass' });
    const retained = new Map<string, string>();
    late.on('message', (t, p) => retained.set(t, p.toString()));
    await new Promise((r) => late.once('connect', r));
    await late.subscribeAsync('intercom/front_door/caller');
    await waitFor(() => retained.get('intercom/front_door/caller') === 'Guest 101 (100)', 'the retained last caller', 3000);
    await late.endAsync();
  });
});
