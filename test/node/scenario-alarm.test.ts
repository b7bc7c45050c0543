/**
 * examples/Security/"Alarm - call the guard group and confirm" with real peers: a real
 * mosquitto carries the ACS alarm into the real `mqtt in` node, the flow dials the guard
 * group on both SIP accounts at once (msg.accounts) and a baresip guard phone answers.
 * The guard's key 2 confirms nothing; key 1 publishes exactly one "confirmed" on
 * acs/alarm/ack and the call is hung up after the goodbye prompt.
 * Changed for the test: addresses; and the two client accounts become P2P, because parallel
 * ringing only uses registered client accounts and there is no PBX on loopback here, so the
 * group number becomes the guard's URI and both accounts' legs go to that one phone (the
 * first answer wins, the other leg is cancelled or hung up).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { helper } from '../helpers/node-red';
import { describeWithPeers, which } from '../helpers/peers';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from '../peer/media-baresip';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');
import dtmfNode = require('../../nodes/intercom-dtmf');
import journalNode = require('../../nodes/intercom-journal');
const switchNode = require('@node-red/nodes/core/function/10-switch.js');
const changeNode = require('@node-red/nodes/core/function/15-change.js');
const commentNode = require('@node-red/nodes/core/common/90-comment.js');
const mqttNode = require('@node-red/nodes/core/network/10-mqtt.js');

jest.setTimeout(40000);
const file = path.join(__dirname, '..', '..', 'examples', 'Security', 'Alarm - call the guard group and confirm.json');

describeWithPeers(['baresip', 'sox', 'mosquitto'], 'alarm scenario: call the guard group, confirm by 1', () => {
  let dir: string;
  let broker: ChildProcess | undefined;
  let sub: mqtt.MqttClient | undefined;
  const guards: Baresip[] = [];
  afterEach(async () => {
    await Promise.all(guards.splice(0).map((g) => g.stop()));
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    await sub?.endAsync();
    if (broker && broker.exitCode === null) {
      const gone = new Promise((r) => broker!.once('exit', r));
      broker.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('alarm → the guard group rings on both accounts, the guard answers, 2 does nothing, 1 publishes one ack', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'scenario-alarm-'));
    const mqttPort = await freeTcpPort();
    writeFileSync(path.join(dir, 'm.conf'), `listener ${mqttPort} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
    broker = spawn(which('mosquitto') as string, ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(mqttPort, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      'mosquitto listening',
    );
    const guardA = await startBaresip(mkdtempSync(path.join(dir, 'a-')), undefined, [], 'auto');
    guards.push(guardA);
    await new Promise<void>((r) => helper.startServer(() => r()));

    const flow = JSON.parse(readFileSync(file, 'utf8')) as Array<Record<string, any>>;
    const journalFile = path.join(dir, 'journal.jsonl');
    let brokerId = '';
    for (const n of flow) {
      if (n.type === 'intercom-sip-account') {
        Object.assign(n, { mode: 'p2p', bindAddress: '127.0.0.1', bindPort: await freeSipPort(), server: '', allowedSources: '127.0.0.1' });
      }
      if (n.type === 'mqtt-broker') {
        Object.assign(n, { broker: '127.0.0.1', port: String(mqttPort) });
        brokerId = n.id;
      }
      if (n.type === 'intercom-journal') n.file = journalFile;
      if (n.type === 'change') for (const r of n.rules) if (r.p === 'payload' && r.to === '300') r.to = `sip:phone@127.0.0.1:${guardA.sipPort}`;
    }
    await helper.load([accountNode, inNode, callNode, dtmfNode, journalNode, switchNode, changeNode, commentNode, mqttNode], flow);
    for (const n of flow.filter((x) => x.type === 'intercom-sip-account')) await (helper.getNode(n.id) as any).ready;
    await waitFor(() => (helper.getNode(brokerId) as any)?.connected || undefined, 'the flow connected to mosquitto', 5000);

    sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`);
    await sub.subscribeAsync('acs/alarm/ack', { qos: 1 });
    const acks: string[] = [];
    sub.on('message', (_t, m) => acks.push(m.toString()));
    await delay(300); // the flow's own subscription to acs/alarm is in by now
    await sub.publishAsync('acs/alarm', JSON.stringify({ zone: 'server room', state: 'alarm' }), { qos: 1 });

    const types = (b: Baresip): string[] => b.events.map((e) => String(e.type));
    await waitFor(() => types(guardA).includes('CALL_ESTABLISHED') || undefined, 'guard A answers', 8000);
    await delay(800); // the losing leg is gone and the prompt has played

    const press = async (d: string): Promise<void> => {
      guardA.command('sndcode', d);
      await delay(200);
      guardA.command('sndcode', '');
    };
    await press('2');
    await delay(1000);
    expect(acks).toEqual([]);
    await press('1');
    await waitFor(() => acks.length > 0 || undefined, 'ack on acs/alarm/ack', 5000);
    await waitFor(() => types(guardA).includes('CALL_CLOSED') || undefined, 'guard A hung up after goodbye', 8000);
    expect(acks).toEqual(['confirmed']);

    const lines = readFileSync(journalFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((e) => e.event)).toEqual(expect.arrayContaining(['alarm', 'answered', 'alarm-ack']));
    expect(lines.find((e) => e.event === 'alarm-ack')).toMatchObject({ result: 'confirmed' });
  });
});
