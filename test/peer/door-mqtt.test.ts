/** The MQTT way to open, against a real mosquitto on a free loopback port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { MqttBrokerPublisher } from '../../nodes/lib/door/mqtt-publisher';
import { DoorOpener } from '../../nodes/lib/door/opener';
import { describeWithPeers, which } from '../helpers/peers';
import { freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

describeWithPeers(['mosquitto'], 'MQTT door action against mosquitto', () => {
  let dir: string;
  let port: number;
  let broker: ChildProcess;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'door-mqtt-'));
    port = await freeTcpPort();
    writeFileSync(path.join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
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
  });
  afterAll(async () => {
    if (broker.exitCode === null) {
      const gone = new Promise((r) => broker.once('exit', r));
      broker.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('publishes the payload template on the topic and reports ok once acknowledged', async () => {
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
    await sub.subscribeAsync('house/door/front/set', { qos: 1 });
    const got = new Promise<string>((resolve) => sub.on('message', (_t, m) => resolve(m.toString())));
    const publisher = new MqttBrokerPublisher({ url: `mqtt://127.0.0.1:${port}` });
    const o = new DoorOpener({
      doorId: 'front',
      doorName: 'Front',
      action: { kind: 'mqtt', topic: 'house/door/front/set', payload: '{"open":true,"by":"{{msg.call.from.user}}","door":"{{door.id}}"}' },
      mqtt: () => publisher,
      minIntervalMs: 0,
    });
    const r = await o.open({ msg: { call: { from: { user: '201' } } } });
    expect(r).toMatchObject({ ok: true, attempts: 1 });
    expect(JSON.parse(await got)).toEqual({ open: true, by: '201', door: 'front' });
    await o.close();
    await sub.endAsync();
  });

  test('broker down: a clear failure within the timeout', async () => {
    const dead = await freeTcpPort();
    const o = new DoorOpener({
      doorId: 'front',
      doorName: 'Front',
      action: { kind: 'mqtt', topic: 't', payload: 'open' },
      mqtt: () => new MqttBrokerPublisher({ url: `mqtt://127.0.0.1:${dead}` }),
      timeoutMs: 400,
      minIntervalMs: 0,
    });
    const t0 = Date.now();
    const r = await o.open();
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/MQTT publish failed: broker mqtt:\/\/127\.0\.0\.1:\d+ not reachable within 400 ms/);
    expect(Date.now() - t0).toBeLessThan(1500);
    await o.close();
  });
});
