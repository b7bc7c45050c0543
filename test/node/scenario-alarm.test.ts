/**
 * examples/Security/"Alarm - call the guard group and confirm" with real peers: a real
 * mosquitto carries the ACS alarm into the real `mqtt in` node, the flow dials the guard
 * group on both SIP accounts at once (msg.accounts) and a baresip guard phone answers.
 * The guard's key 2 confirms nothing; key 1 publishes exactly one "confirmed" on
 * acs/alarm/ack and the call is hung up after the goodbye prompt.
 * Changed for the test: only what the example's comment names. The two accounts register at
 * two kamailio registrars (the PBX and the second SIP service), where a guard phone each is
 * number 300: guard A answers, guard B's ringing is cancelled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { loadExample, nodeOf, setAfterImport } from '../helpers/examples';
import { helper } from '../helpers/node-red';
import { describeWithPeers, which } from '../helpers/peers';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from '../peer/media-baresip';
import { startKamailio, type Kamailio } from '../peer/sip-peer-kamailio';
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
const file = 'Security/Alarm - call the guard group and confirm.json';

describeWithPeers(['baresip', 'sox', 'mosquitto', 'kamailio'], 'alarm scenario: call the guard group, confirm by 1', () => {
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

  const kamailios: Kamailio[] = [];
  afterAll(async () => {
    for (const k of kamailios.splice(0)) await k.stop();
  });
  const kamailio = async (): Promise<Kamailio> => {
    const k = await startKamailio(await freeSipPort(), { algorithm: 'MD5', minExpires: 10, user: '*', password: 'pw' });
    kamailios.push(k);
    return k;
  };
  /** baresip registers before its control socket is up: ask it (reginfo) until it reads OK */
  const registered = (b: Baresip): Promise<unknown> =>
    waitFor(async () => {
      const before = b.events.length;
      b.command('reginfo');
      const answer = await waitFor(() => b.events.slice(before).find((e) => e.response === true), 'reginfo', 2000);
      return String(answer?.data).includes('OK');
    }, 'guard phone registered', 10000, 200);

  test('alarm → the guard group rings on both accounts, the guard answers, 2 does nothing, 1 publishes one ack', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'scenario-alarm-'));
    const mqttPort = await freeTcpPort();
    // it logs each subscription it has taken (on stderr, which is not buffered)
    writeFileSync(path.join(dir, 'm.conf'), `listener ${mqttPort} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type subscribe\n`);
    broker = spawn(which('mosquitto') as string, ['-c', path.join(dir, 'm.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let brokerLog = '';
    broker.stderr!.on('data', (d: Buffer) => (brokerLog += d.toString()));
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
    // the PBX and the second SIP service, each with a guard phone registered as 300
    const [pbx, service] = [await kamailio(), await kamailio()];
    const guardA = await startBaresip(mkdtempSync(path.join(dir, 'a-')), undefined, [], 'auto', () => `<sip:300@127.0.0.1:${pbx.port}>;auth_pass=pw;regint=60`);
    const guardB = await startBaresip(mkdtempSync(path.join(dir, 'b-')), undefined, [], 'manual', () => `<sip:300@127.0.0.1:${service.port}>;auth_pass=pw;regint=60`);
    guards.push(guardA, guardB);
    await registered(guardA);
    await registered(guardB);
    await new Promise<void>((r) => helper.startServer(() => r()));

    const ex = loadExample(file);
    helper.settings({ userDir: dir });
    const journalFile = path.join(dir, 'intercom-journal.jsonl');
    const brokerId = nodeOf(ex, 'mqtt-broker').id;
    // only what the example's comment says to set; the group number 300 stays as shipped
    const creds = setAfterImport(ex, {
      'ACS broker': { broker: '127.0.0.1', port: String(mqttPort) },
      'guard-a': { server: `127.0.0.1:${pbx.port}`, user: '260', authUser: '260', password: 'pw', bindAddress: '127.0.0.1', bindPort: await freeSipPort() },
      'guard-b': { server: `127.0.0.1:${service.port}`, user: '260b', authUser: '260b', password: 'pw', bindAddress: '127.0.0.1', bindPort: await freeSipPort() },
    });
    await helper.load([accountNode, inNode, callNode, dtmfNode, journalNode, switchNode, changeNode, commentNode, mqttNode], ex.flow, creds);
    for (const name of ['guard-a', 'guard-b']) await waitFor(() => (helper.getNode(nodeOf(ex, 'intercom-sip-account', name).id) as any).account.status === 'registered', `${name} registered`, 10000);
    await waitFor(() => (helper.getNode(brokerId) as any)?.connected || undefined, 'the flow connected to mosquitto', 5000);

    sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`);
    await sub.subscribeAsync('acs/alarm/ack', { qos: 1 });
    const acks: string[] = [];
    sub.on('message', (_t, m) => acks.push(m.toString()));
    // the flow's own subscription to acs/alarm is in (else the alarm is published to no one)
    await waitFor(() => / acs\/alarm\n/.test(brokerLog), "the flow's subscription to acs/alarm", 5000);
    await sub.publishAsync('acs/alarm', JSON.stringify({ zone: 'server room', state: 'alarm' }), { qos: 1 });

    const types = (b: Baresip): string[] => b.events.map((e) => String(e.type));
    await waitFor(() => types(guardA).includes('CALL_ESTABLISHED') || undefined, 'guard A answers', 8000);
    // guard B's phone rang too; the first answer won and its ringing was cancelled
    await waitFor(() => types(guardB).includes('CALL_CLOSED') || undefined, "guard B's ringing cancelled", 8000);
    expect(types(guardB)).not.toContain('CALL_ESTABLISHED');
    await delay(800); // the prompt has played

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

    // the journal writes in batches: the ack may come in the next one
    const lines = (await waitFor(() => {
      const l = readFileSync(journalFile, 'utf8').trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
      return l.some((e) => e.event === 'alarm-ack') ? l : undefined;
    }, 'the ack in the journal', 5000))!;
    expect(lines.map((e) => e.event)).toEqual(expect.arrayContaining(['alarm', 'answered', 'alarm-ack']));
    expect(lines.find((e) => e.event === 'alarm-ack')).toMatchObject({ result: 'confirmed' });
  });
});
