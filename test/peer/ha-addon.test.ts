/**
 * Node-RED as the Home Assistant add-on: the Guest example with one change, the
 * "Home Assistant add-on" checkbox ticked. A loopback stand-in of the Supervisor endpoints
 * an add-on uses (test/helpers/homeassistant.ts) sits in front of the real HA 2024.3.3 and
 * a mosquitto that wants a login: it checks SUPERVISOR_TOKEN on every call, proxies the core
 * API and websocket with its own token, and hands out the broker of its mqtt service. No
 * URL, token, broker or password is typed: the door still appears in HA, a ring still
 * pushes this ring's picture, Open still opens, and the device page links the add-on's panel.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { getNode, helper } from '../helpers/node-red';
import { describeWithHomeAssistant, HomeAssistant, Mosquitto, SupervisorStandIn, type Phone } from '../helpers/homeassistant';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from './media-baresip';

const NODES = ['intercom-sip-account', 'intercom-sip-in', 'intercom-door', 'intercom-snapshot', 'intercom-home-assistant', 'intercom-ha-door', 'intercom-notify', 'intercom-door-open', 'intercom-journal'].map((n) => require(`../../nodes/${n}`));
const CORE = ['function/10-switch.js', 'function/15-change.js', 'common/25-catch.js', 'common/90-comment.js'].map((f) => require(`@node-red/nodes/core/${f}`));
const file = path.join(__dirname, '..', '..', 'examples', 'Home Assistant', 'Guest at the door.json');
const ADDON_TOKEN = randomBytes(24).toString('hex');

jest.setTimeout(90_000);

describeWithPeers(['mosquitto', 'mosquitto_passwd', 'baresip', 'sox'], 'the Guest example as a Home Assistant add-on', () => {
  describeWithHomeAssistant('add-on mode against a Supervisor stand-in, the real HA and mosquitto', () => {
    let broker: Mosquitto;
    let ha: HomeAssistant;
    let phone: Phone;
    let supervisor: SupervisorStandIn;
    let panel: http.Server;
    let panelUrl: string;
    let opens = 0;
    let jpeg = Buffer.alloc(0);
    let baresip: Baresip;
    let dir: string;
    let sipPort: number;
    const env = { token: process.env.SUPERVISOR_TOKEN, url: process.env.INTERCOM_SUPERVISOR_URL };

    async function deploy(mutate: (flow: Array<Record<string, any>>) => void = () => undefined): Promise<void> {
      const flow = JSON.parse(readFileSync(file, 'utf8')) as Array<Record<string, any>>;
      const byId = (id: string) => flow.find((n) => n.id === id)!;
      // The one field of the add-on case; the broker and HA URL stay as shipped (unused).
      byId('ha_cfg').addon = true;
      // What any user sets: the phone, the panel, the door.
      byId('ha_notify').service = phone.service;
      Object.assign(byId('ha_sip'), { allowedSources: '127.0.0.1', bindAddress: '127.0.0.1', bindPort: sipPort });
      byId('ha_door_cfg').host = panelUrl;
      mutate(flow);
      await helper.load([...NODES, ...CORE], flow);
      await (getNode('ha_sip') as any).ready;
    }

    beforeAll(async () => {
      broker = await Mosquitto.start({ users: { addons: 'addon-secret', homeassistant: 'ha-secret' } });
      ha = await HomeAssistant.start();
      await ha.configureMqtt(broker.port, { username: 'homeassistant', password: 'ha-secret' });
      phone = await ha.registerPhone('Pixel 8');
      supervisor = await SupervisorStandIn.start({ ha, coreToken: ha.longLivedToken, addonToken: ADDON_TOKEN, mqtt: { port: broker.port, username: 'addons', password: 'addon-secret' } });
      process.env.SUPERVISOR_TOKEN = ADDON_TOKEN;
      process.env.INTERCOM_SUPERVISOR_URL = supervisor.url;
      panel = http.createServer((req, res) => {
        if (req.url?.startsWith('/api/switch/ctrl')) {
          opens++;
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
        } else if (req.url?.startsWith('/api/camera/snapshot')) res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
        else res.writeHead(404).end();
      });
      await new Promise<void>((r) => panel.listen(0, '127.0.0.1', r));
      panelUrl = `http://127.0.0.1:${(panel.address() as AddressInfo).port}`;
      dir = mkdtempSync(path.join(tmpdir(), 'ha-addon-'));
      sipPort = await freeSipPort();
      baresip = await startBaresip(mkdtempSync(path.join(dir, 'panel-')), undefined, [], 'auto', { user: '100', display: 'Guest 101' });
      helper.settings({ userDir: dir });
      await new Promise<void>((r) => helper.startServer(r));
    }, 240_000);

    afterAll(async () => {
      if (env.token === undefined) delete process.env.SUPERVISOR_TOKEN;
      else process.env.SUPERVISOR_TOKEN = env.token;
      if (env.url === undefined) delete process.env.INTERCOM_SUPERVISOR_URL;
      else process.env.INTERCOM_SUPERVISOR_URL = env.url;
      await baresip?.stop();
      await helper.unload().catch(() => undefined);
      await new Promise((r) => helper.stopServer(r));
      await supervisor?.stop();
      phone?.close();
      await ha?.dispose();
      await broker?.dispose();
      await new Promise((r) => panel?.close(r));
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    test('one checkbox: the door appears in HA through the Supervisor’s broker, the device page links the add-on panel', async () => {
      await deploy();
      await waitFor(async () => (await ha.state('lock.front_door'))?.state === 'locked', 'lock.front_door through the Supervisor broker', 30_000, 100);
      const cfg = getNode('ha_cfg') as any;
      await waitFor(() => cfg.ws.connected, 'the websocket through the Supervisor proxy', 10_000, 50);
      const dev = (await ha.devices()).find((d) => (d.identifiers as string[][]).some((i) => i[1] === 'intercom_front_door'));
      expect(dev?.configuration_url).toBe('homeassistant://hassio/ingress/a0d7b954_nodered');
      // Every Supervisor call carried the add-on's token; the proxy, the broker service and the slug were asked.
      expect(supervisor.calls.every((c) => c.authorized)).toBe(true);
      expect(supervisor.calls.map((c) => c.path)).toEqual(expect.arrayContaining(['/services/mqtt', '/addons/self/info', '/core/websocket']));
    });

    test('a ring pushes this ring’s picture through the proxy; Open from the phone opens, with the HA user', async () => {
      jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), randomBytes(20_000), Buffer.from([0xff, 0xd9])]);
      baresip.command('dial', `sip:door@127.0.0.1:${sipPort}`);
      const push = await phone.next((m) => m.message === 'Guest 101 (100) is at the door', 15_000);
      expect((await push.picture!)?.equals(jpeg)).toBe(true);
      // The picture was confirmed through the Supervisor's core API proxy.
      expect(supervisor.calls.some((c) => c.path === '/core/api/image_proxy/image.front_door_snapshot')).toBe(true);
      await phone.press((push.data!.actions as Array<{ action: string; title: string }>)[0].action);
      await waitFor(() => opens === 1, 'the door opened', 10_000, 20);
      baresip.command('hangup');
      await waitFor(async () => (await ha.state('binary_sensor.front_door_ringing'))?.state === 'off', 'ringing off', 10_000, 50);
      // the open is journaled after the relay answered, in the journal's next write
      const lines = (await waitFor(() => {
        const l = readFileSync(path.join(dir, 'intercom-journal.jsonl'), 'utf8').split('\n').filter(Boolean).map((x) => JSON.parse(x));
        return l.some((x) => x.event === 'open') ? l : undefined;
      }, 'the open in the journal', 5000, 50))!;
      expect(lines.find((l) => l.event === 'open')).toMatchObject({ via: 'push', user: 'Owner', result: 'ok' });
    });

    test('a wrong SUPERVISOR_TOKEN: refused by the Supervisor, said in red on the nodes, nothing retried in a loop', async () => {
      await helper.unload();
      process.env.SUPERVISOR_TOKEN = 'not-the-token';
      const before = supervisor.calls.length;
      try {
        await deploy();
        const statusOf = (id: string) => {
          const n = getNode(id) as any;
          return n.status.getCalls().filter((c: any) => c.thisValue === n).map((c: any) => c.args[0]).at(-1);
        };
        await waitFor(() => statusOf('ha_door')?.fill === 'red', 'the door red', 10_000, 50);
        expect(statusOf('ha_door').text).toMatch(/Supervisor refused the add-on's token/);
        await waitFor(() => statusOf('ha_notify')?.fill === 'red', 'the push red', 10_000, 50);
        await new Promise((r) => setTimeout(r, 3000));
        const refused = supervisor.calls.slice(before).filter((c) => !c.authorized);
        expect(refused.length).toBeGreaterThan(0);
        expect(refused.length).toBeLessThan(6);
      } finally {
        process.env.SUPERVISOR_TOKEN = ADDON_TOKEN;
        await helper.unload();
      }
    });

    test('a Supervisor that gives this add-on no broker: the broker typed in the config node is used', async () => {
      const noMqtt = await SupervisorStandIn.start({ ha, coreToken: ha.longLivedToken, addonToken: ADDON_TOKEN, mqtt: null });
      process.env.INTERCOM_SUPERVISOR_URL = noMqtt.url;
      try {
        await deploy((flow) => {
          const cfg = flow.find((n) => n.id === 'ha_cfg')!;
          cfg.broker = broker.url;
        });
        // The typed broker without its login: refused by mosquitto, and said so (not a silent retry).
        const cfg = getNode('ha_cfg') as any;
        await waitFor(() => cfg.mqtt.state === 'auth-rejected', 'the typed broker tried', 10_000, 50);
        expect(noMqtt.calls.map((c) => c.path)).toContain('/services/mqtt');
        await helper.unload();
        const flow = JSON.parse(readFileSync(file, 'utf8')) as Array<Record<string, any>>;
        expect(flow.find((n) => n.id === 'ha_setup')!.info).toMatch(/core-mosquitto/);
      } finally {
        process.env.INTERCOM_SUPERVISOR_URL = supervisor.url;
        await noMqtt.stop();
      }
    });
  });
});
