/**
 * No secret leaves the credentials (issue #13): Node-RED runs as a child with a flow that
 * uses every secret the package holds: a SIP client password (registered at kamailio), a
 * registrar panel password (baresip registers with it, a raw socket guesses wrong), a
 * door's HTTP Basic password (the relay answers 401, so errors happen), an MQTT password and
 * a Home Assistant token (mosquitto with a password file; HA unreachable), a PIN (entered
 * right and wrong), an RTSP camera password (the camera unreachable). Every place a secret
 * could end up is collected: the Node-RED log (with every status and every caught error
 * written to it), both SIP traces, the journal, the exported flows, every retained MQTT
 * message, and the Basic-auth string. None may hold any of them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { authorize, parseChallenge } from '../../nodes/lib/auth/digest';
import { describeWithPeers, which } from '../helpers/peers';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { ensureBuilt, prepareUserDir, startNodeRed, stopNodeRed, type Child } from '../node/access-node-red-child';
import { startBaresip, type Baresip } from './sip-peer-baresip';
import { startKamailio, type Kamailio } from './sip-peer-kamailio';

jest.setTimeout(120_000);

const S = {
  sip: 'Sip-Client-Pw-71x',
  panel: 'Panel-Reg-Pw-72x',
  door: 'Door-Basic-Pw-73x',
  token: 'ha-token-74-qwertyuiopasdfgh',
  mqtt: 'Mqtt-Pw-75x',
  rtsp: 'Cam-Rtsp-Pw-76x',
  pin: '864297',
};
const BASIC = Buffer.from(`admin:${S.door}`).toString('base64');

function flow(p: { client: number; kam: number; reg: number; relay: number; broker: number; ha: number; rtsp: number }) {
  const z = 'c9e0tab';
  const n = (id: string, o: Record<string, unknown>) => ({ id: `c9e0${id}`, z, ...o });
  return [
    { id: z, type: 'tab', label: 'secrets' },
    { id: 'c9e0cli', type: 'intercom-sip-account', name: 'pbx', mode: 'client', transport: 'udp', bindAddress: '127.0.0.1', bindPort: String(p.client), server: `127.0.0.1:${p.kam}`, domain: '127.0.0.1', user: 'door', expires: 60, trace: true },
    { id: 'c9e0reg', type: 'intercom-sip-account', name: 'panels', mode: 'registrar', transport: 'udp', bindAddress: '127.0.0.1', bindPort: String(p.reg), domain: '127.0.0.1', user: 'door', registrarUsers: 'panel', trace: true },
    { id: 'c9e0door', type: 'intercom-door', name: 'Gate', doorId: 'gate', openKind: 'preset', preset: 'shelly-gen1', host: `http://127.0.0.1:${p.relay}`, relay: 1, pulse: 1, timeout: 2000, retries: 0, minInterval: 0, confirm: 'none', camera: 'none' },
    { id: 'c9e0cam', type: 'intercom-door', name: 'Cam', doorId: 'cam', openKind: 'preset', preset: 'shelly-gen1', host: `http://127.0.0.1:${p.relay}`, relay: 1, pulse: 1, timeout: 2000, retries: 0, minInterval: 0, confirm: 'none', camera: 'rtsp', rtspUrl: `rtsp://127.0.0.1:${p.rtsp}/door`, snapshotTimeout: 1500 },
    { id: 'c9e0ha', type: 'intercom-home-assistant', name: 'HA', broker: `mqtt://127.0.0.1:${p.broker}`, clientId: 'nr-secrets', tlsVerify: true, baseTopic: 'intercom', discoveryPrefix: 'homeassistant', haUrl: `http://127.0.0.1:${p.ha}` },
    n('sin', { type: 'intercom-sip-in', account: 'c9e0reg', wires: [['c9e0log'], ['c9e0jr']] }),
    n('cin', { type: 'intercom-sip-in', account: 'c9e0cli', wires: [['c9e0log'], ['c9e0jr']] }),
    n('pinIn', { type: 'inject', props: [{ p: 'topic', vt: 'str' }, { p: 'payload' }, { p: 'call', v: '{"id":"x","from":{"user":"200"},"source":"127.0.0.1:5060"}', vt: 'json' }], topic: 'dtmf', payload: '', payloadType: 'str', wires: [['c9e0pin']] }),
    n('pinBad', { type: 'inject', props: [{ p: 'topic', vt: 'str' }, { p: 'payload' }, { p: 'call', v: '{"id":"y","from":{"user":"201"},"source":"127.0.0.1:5060"}', vt: 'json' }], topic: 'dtmf', payload: '111111', payloadType: 'str', wires: [['c9e0pin']] }),
    n('pin', { type: 'intercom-whitelist', name: 'PIN', mode: 'pin', callerProp: 'call.from.user', pinProp: 'payload', pinLength: 6, maxTries: 3, maxDoorTries: 10, lockoutSec: 60, maxLockoutMin: 60, wires: [['c9e0open', 'c9e0log'], ['c9e0jr', 'c9e0log']] }),
    n('open', { type: 'intercom-door-open', door: 'c9e0door', wires: [['c9e0jr', 'c9e0log']] }),
    n('snapIn', { type: 'inject', props: [{ p: 'topic', vt: 'str' }], topic: 'snapshot', wires: [['c9e0snap']] }),
    n('snap', { type: 'intercom-snapshot', door: 'c9e0cam', wires: [['c9e0log']] }),
    n('hadoor', { type: 'intercom-ha-door', server: 'c9e0ha', door: 'c9e0door', relockSeconds: 5, wires: [['c9e0log']] }),
    n('jr', { type: 'intercom-journal', file: 'journal.jsonl', wires: [['c9e0log']] }),
    n('log', { type: 'debug', active: true, tosidebar: false, console: true, complete: 'true', targetType: 'full', wires: [] }),
    n('status', { type: 'status', scope: null, wires: [['c9e0log']] }),
    n('catch', { type: 'catch', scope: null, uncaught: false, wires: [['c9e0log']] }),
  ];
}

describeWithPeers(['kamailio', 'baresip', 'mosquitto', 'mosquitto_passwd', 'ffmpeg'], 'no secret in logs, traces, journal, status, exported flows, retained MQTT or errors', () => {
  let nr: Child | null = null;
  let kam: Kamailio | undefined;
  let panel: Baresip | undefined;
  let broker: ChildProcess | undefined;
  let relay: http.Server | undefined;
  let dir = '';
  const authSeen: string[] = [];

  afterAll(async () => {
    await panel?.stop();
    await stopNodeRed(nr, 'SIGTERM');
    await kam?.stop();
    broker?.kill('SIGKILL');
    await new Promise((r) => relay?.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every secret is used, and none shows anywhere', async () => {
    ensureBuilt(['nodes/intercom-sip-account.ts', 'nodes/lib/camera/ffmpeg.ts', 'nodes/lib/sip/trace.ts']);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'secrets-'));
    const ports = { client: await freeSipPort(), kam: await freeSipPort(), reg: await freeSipPort(), relay: 0, broker: await freeTcpPort(), ha: await freeTcpPort(), rtsp: await freeTcpPort() };
    kam = await startKamailio(ports.kam, { algorithm: 'MD5', minExpires: 30, user: 'door', password: S.sip });
    relay = http.createServer((req, res) => {
      authSeen.push(String(req.headers.authorization ?? ''));
      res.statusCode = 401;
      res.setHeader('WWW-Authenticate', 'Basic realm="relay"');
      res.end('no');
    });
    await new Promise<void>((r) => relay!.listen(0, '127.0.0.1', r));
    ports.relay = (relay.address() as net.AddressInfo).port;
    // mosquitto with a password file: Node-RED's user and the test's reader
    // (in a directory of its own that mosquitto, which drops root for its own user, can read)
    const mq = fs.mkdtempSync(path.join(os.tmpdir(), 'secrets-mqtt-'));
    fs.chmodSync(mq, 0o755);
    const pw = path.join(mq, 'mqtt.pw');
    fs.writeFileSync(pw, '', { mode: 0o644 });
    execFileSync(which('mosquitto_passwd') as string, ['-b', pw, 'nr', S.mqtt]);
    execFileSync(which('mosquitto_passwd') as string, ['-b', pw, 'reader', 'reader-pw']);
    fs.chmodSync(pw, 0o644);
    fs.writeFileSync(path.join(dir, 'm.conf'), `listener ${ports.broker} 127.0.0.1\nallow_anonymous false\npassword_file ${pw}\npersistence false\n`);
    broker = spawn(which('mosquitto') as string, ['-c', path.join(dir, 'm.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let brokerLog = '';
    broker.stderr?.on('data', (d) => (brokerLog += d));
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const c = net.connect(ports.broker, '127.0.0.1', () => {
            c.destroy();
            resolve(true);
          });
          c.on('error', () => resolve(false));
        }),
      'mosquitto',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${brokerLog}`);
    });

    const uiPort = await freeTcpPort();
    prepareUserDir(dir, uiPort, flow(ports), { editor: true });
    fs.writeFileSync(
      path.join(dir, 'flows_cred.json'),
      JSON.stringify({
        c9e0cli: { password: S.sip },
        c9e0reg: { registrarPasswords: `panel:${S.panel}` },
        c9e0door: { user: 'admin', password: S.door },
        c9e0cam: { user: 'cam', password: S.rtsp },
        c9e0ha: { mqttUser: 'nr', mqttPassword: S.mqtt, token: S.token },
        c9e0pin: { pins: `alice:${S.pin}` },
      }),
    );
    nr = startNodeRed(dir);
    await waitFor(() => nr!.log.some((l) => l.includes('Started flows')), 'Node-RED started', 30_000);
    const api = (p: string, method = 'GET', body?: unknown) =>
      new Promise<string>((resolve, reject) => {
        const headers: Record<string, string> = { 'Node-RED-API-Version': 'v2', ...(body ? { 'Content-Type': 'application/json' } : {}) };
        const req = http.request({ host: '127.0.0.1', port: uiPort, path: p, method, headers }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end(body ? JSON.stringify(body) : undefined);
      });

    // Use every secret.
    await waitFor(() => nr!.log.some((l) => /registered: door@127\.0\.0\.1/.test(l)), 'the client registered at kamailio', 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${nr!.log.slice(-60).join('\n')}`);
    });
    panel = await startBaresip(`<sip:panel@127.0.0.1:${ports.reg}>;auth_pass=${S.panel};regint=60`);
    await waitFor(async () => (await api('/intercom-sip-account/c9e0reg/trace')).includes('SIP/2.0 200 OK'), 'baresip registered', 15_000);
    await wrongRegister(ports.reg);
    await api('/inject/c9e0pinBad', 'POST');
    // The PIN is typed, not stored: the inject node gets it with the click, as the editor sends it.
    await api('/inject/c9e0pinIn', 'POST', {
      __user_inject_props__: [
        { p: 'topic', v: 'dtmf', vt: 'str' },
        { p: 'payload', v: S.pin, vt: 'str' },
        { p: 'call', v: '{"id":"x","from":{"user":"200"},"source":"127.0.0.1:5060"}', vt: 'json' },
      ],
    });
    await waitFor(() => authSeen.length >= 1, 'the door was asked, with its Basic credentials', 10_000);
    await api('/inject/c9e0snapIn', 'POST');
    // refused at once, or (on a machine busy enough that ffmpeg starts late) no frame in time:
    // either way the message names the camera, without its user and password
    await waitFor(() => nr!.log.some((l) => /snapshot of Cam failed: .*\brtsp:\/\/127\.0\.0\.1:\d+\/door\b.*(not reachable \(.*Connection refused|within \d+ ms)/.test(l)), 'the snapshot failed, naming the camera without its password', 15_000);
    await delay(2000); // HA reconnect attempts, statuses, retained discovery

    // Collect everything a secret could end up in.
    const retained: string[] = [];
    const reader = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.broker}`, { username: 'reader', password: 'reader-pw' });
    reader.on('message', (topic, payload, packet) => retained.push(`${packet.retain ? 'R' : '-'} ${topic} ${payload.toString()}`));
    await reader.subscribeAsync('#');
    await delay(1000);
    await reader.endAsync();
    const places: Record<string, string> = {
      log: nr!.log.join('\n'),
      traceClient: await api('/intercom-sip-account/c9e0cli/trace'),
      traceRegistrar: await api('/intercom-sip-account/c9e0reg/trace'),
      journal: fs.readFileSync(path.join(dir, 'journal.jsonl'), 'utf8'),
      flows: await api('/flows'),
      mqtt: retained.join('\n'),
    };
    // What was collected is real: the places hold what they should.
    expect(authSeen[0]).toBe(`Basic ${BASIC}`);
    expect(places.traceClient).toMatch(/REGISTER sip:127\.0\.0\.1 SIP\/2\.0[\s\S]*Authorization: Digest/);
    expect(places.traceRegistrar).toContain('REGISTER sip:');
    expect(places.journal).toMatch(/"result":"allowed"/);
    expect(places.flows).toContain('c9e0door');
    expect(retained.some((m) => m.startsWith('R homeassistant/'))).toBe(true);
    expect(places.log).toMatch(/\[intercom-door|\[intercom-door-open|401/);
    expect(places.log).toMatch(/intercom-sip-account:panels\] .*REGISTER for "panel"/);

    if (process.env.SECRETS_DUMP) fs.writeFileSync(process.env.SECRETS_DUMP, JSON.stringify(places, null, 1));
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(places)) {
      for (const [name, secret] of Object.entries({ ...S, basic: BASIC })) if (text.includes(secret)) leaks.push(`${name} in ${where}`);
    }
    expect(leaks).toEqual([]);
  });
});

/** A REGISTER for panel with a wrong password, as a guesser sends it: the log line must name no password. */
async function wrongRegister(port: number): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const me = `127.0.0.1:${s.address().port}`;
  const reg = (cseq: number, auth?: string) =>
    ['REGISTER sip:127.0.0.1 SIP/2.0', `Via: SIP/2.0/UDP ${me};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`, 'Max-Forwards: 70', 'From: <sip:panel@127.0.0.1>;tag=w1', 'To: <sip:panel@127.0.0.1>', 'Call-ID: wrong-1', `CSeq: ${cseq} REGISTER`, `Contact: <sip:panel@${me}>`, ...(auth ? [`Authorization: ${auth}`] : []), 'Content-Length: 0', '', ''].join('\r\n');
  const next = () => new Promise<string>((r) => s.once('message', (m) => r(m.toString())));
  let p = next();
  s.send(reg(1), port, '127.0.0.1');
  const ch = parseChallenge(/\r\nWWW-Authenticate: ([^\r]+)/i.exec(await p)?.[1] ?? '');
  p = next();
  s.send(reg(2, authorize(ch!, { user: 'panel', password: 'not-it' }, 'REGISTER', 'sip:127.0.0.1', 1)), port, '127.0.0.1');
  await p;
  s.close();
}
