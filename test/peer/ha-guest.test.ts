/**
 * examples/Home Assistant/"Guest at the door", loaded from the file as a user imports it,
 * with only the fields its setup comment names changed, against a real Home Assistant
 * 2024.3.3 and a mosquitto with its default settings: a baresip panel ("Guest 101",
 * extension 100) rings 20 times while the panel's camera stand-in serves a different JPEG
 * each time; the phone stand-in (the companion app's websocket push channel) must get 20
 * pushes whose picture, loaded the moment the push arrives, is that ring's. Open from the
 * push opens the door once (the relay stand-in counts), a second press, a press after the
 * visitor hung up and a press after the expiry do not; Ringing goes off at the hang-up and
 * an unanswered ring is a `missed` doorbell event; the dashboard's lock Open and Unlock and
 * the Open button open with the HA user; the journal has ring, push, open with the user,
 * and the refused presses with their reason. Then the broker and HA restart under it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { getNode, helper } from '../helpers/node-red';
import { describeWithHomeAssistant, HomeAssistant, Mosquitto, type Phone, type PushMessage } from '../helpers/homeassistant';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from './media-baresip';
import { packageVersion } from '../../nodes/shared/home-assistant';

const NODES = [
  'intercom-sip-account',
  'intercom-sip-in',
  'intercom-door',
  'intercom-snapshot',
  'intercom-home-assistant',
  'intercom-ha-door',
  'intercom-notify',
  'intercom-door-open',
  'intercom-journal',
].map((n) => require(`../../nodes/${n}`));
const CORE = ['function/10-switch.js', 'function/15-change.js', 'common/25-catch.js', 'common/90-comment.js'].map((f) => require(`@node-red/nodes/core/${f}`));
const file = path.join(__dirname, '..', '..', 'examples', 'Home Assistant', 'Guest at the door.json');

jest.setTimeout(120_000);

/** A JPEG of ~40 KB that says which ring it is (SOI, comment segments, EOI). */
function jpegFor(ring: number): Buffer {
  const segs = [Buffer.from([0xff, 0xd8])];
  for (let i = 0; i < 3; i++) {
    const body = Buffer.concat([Buffer.from(`ring ${ring} part ${i} `), randomBytes(13_000)]);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(body.length + 2);
    segs.push(Buffer.from([0xff, 0xfe]), len, body);
  }
  segs.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(segs);
}

/** The panel's HTTP API as the 2N preset uses it: the switch (counted) and the camera snapshot. */
async function panelApi(): Promise<{ url: string; opens: () => number; camera: (jpeg: Buffer) => void; close: () => Promise<void> }> {
  let opens = 0;
  let jpeg = jpegFor(-1);
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/api/switch/ctrl' && u.searchParams.get('switch') === '1' && u.searchParams.get('action') === 'trigger') {
      opens++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
    } else if (u.pathname === '/api/camera/snapshot') {
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    opens: () => opens,
    camera: (j) => (jpeg = j),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describeWithPeers(['mosquitto', 'baresip', 'sox'], 'the Guest example with Home Assistant', () => {
  describeWithHomeAssistant('Guest at the door, as shipped, against HA 2024.3.3 and a default mosquitto', () => {
    let broker: Mosquitto;
    let ha: HomeAssistant;
    let phone: Phone;
    let panel: Awaited<ReturnType<typeof panelApi>>;
    let baresip: Baresip;
    let dir: string;
    let sipPort: number;
    let flow: Array<Record<string, any>>;
    const journal = (): Array<Record<string, any>> =>
      readFileSync(path.join(dir, 'intercom-journal.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));

    beforeAll(async () => {
      broker = await Mosquitto.start();
      ha = await HomeAssistant.start();
      await ha.configureMqtt(broker.port);
      phone = await ha.registerPhone('Pixel 8');
      panel = await panelApi();
      dir = mkdtempSync(path.join(tmpdir(), 'ha-guest-'));
      sipPort = await freeSipPort();
      baresip = await startBaresip(mkdtempSync(path.join(dir, 'panel-')), undefined, [], 'auto', { user: '100', display: 'Guest 101' });

      // The file as shipped; then exactly what its "What to set after import" comment names.
      flow = JSON.parse(readFileSync(file, 'utf8'));
      const setup = flow.find((n) => n.type === 'comment' && /What to set/.test(n.name))!;
      const byId = (id: string) => flow.find((n) => n.id === id)!;
      for (const field of ['Broker URL', 'HA URL', 'long-lived access token', 'Service', 'Allowed sources', 'Listen on', 'Port', 'Device URL']) expect(setup.info).toContain(field);
      Object.assign(byId('ha_cfg'), { broker: broker.url, haUrl: ha.url });
      byId('ha_notify').service = phone.service;
      Object.assign(byId('ha_sip'), { allowedSources: '127.0.0.1', bindAddress: '127.0.0.1', bindPort: sipPort });
      byId('ha_door_cfg').host = panel.url;
      helper.settings({ userDir: dir });
      await new Promise<void>((r) => helper.startServer(r));
      await helper.load([...NODES, ...CORE], flow, { ha_cfg: { token: ha.longLivedToken } });
      await (getNode('ha_sip') as any).ready;
    }, 240_000);

    afterAll(async () => {
      await baresip?.stop();
      await helper.unload().catch(() => undefined);
      await new Promise((r) => helper.stopServer(r));
      phone?.close();
      await ha?.dispose();
      await broker?.dispose();
      await panel?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    const state = async (id: string) => (await ha.state(id)) ?? {};
    let rings = 0;
    /** The panel rings; resolves with this ring's push and its call id. */
    async function ring(): Promise<{ push: PushMessage; jpeg: Buffer; callId: string }> {
      const n = rings++;
      const jpeg = jpegFor(n);
      panel.camera(jpeg);
      const before = phone.received.length;
      baresip.command('dial', `sip:door@127.0.0.1:${sipPort}`);
      const push = await phone.next((m) => phone.received.indexOf(m) >= before && m.message !== 'clear_notification', 15_000);
      const ev = await waitFor(async () => {
        const s = await state('event.front_door_doorbell');
        return s.attributes?.event_type === 'ring' && s.attributes.call_id && !seenCalls.has(s.attributes.call_id) ? s : null;
      }, `the ring ${n} in HA`, 10_000, 50);
      seenCalls.add(ev.attributes.call_id);
      return { push, jpeg, callId: ev.attributes.call_id };
    }
    const seenCalls = new Set<string>();
    async function hangUp(): Promise<void> {
      baresip.command('hangup');
      await waitFor(async () => (await state('binary_sensor.front_door_ringing')).state === 'off', 'Ringing off after the hang-up', 10_000, 50);
      await waitFor(() => baresip.events.filter((e) => e.type === 'CALL_CLOSED').length >= rings, 'the panel call closed', 10_000, 50);
    }
    const openAction = (p: PushMessage): string => (p.data?.actions as Array<{ action: string; title: string }>).find((a) => a.title === 'Open')!.action;

    test('the door is a device in HA with the package version, a link to the flow and the panel', async () => {
      await waitFor(async () => (await state('lock.front_door')).state === 'locked', 'lock.front_door', 30_000, 100);
      const dev = (await ha.devices()).find((d) => (d.identifiers as string[][]).some((i) => i[1] === 'intercom_front_door'));
      expect(dev).toMatchObject({ name: 'Front door', manufacturer: 'node-red-contrib-sip-intercom', model: '2N Verso', sw_version: packageVersion() });
      if (dev!.configuration_url !== null) expect(dev!.configuration_url).toMatch(/^http:\/\/[^/]+:\d+\/#flow\/ha_tab$/);
    });

    test('20 rings: 20 pushes, each with that ring’s picture; Open opens once; hang-ups are missed rings', async () => {
      const wrongPicture: number[] = [];
      for (let i = 0; i < 20; i++) {
        const opensBefore = panel.opens();
        const { push, jpeg, callId } = await ring();
        expect(push.title).toBe('Front door');
        expect(push.message).toBe('Guest 101 (100) is at the door');
        expect(push.data?.image).toBe('/api/image_proxy/image.front_door_snapshot');
        const shown = await push.picture!;
        if (!shown || !shown.equals(jpeg)) wrongPicture.push(i);
        // HA may take these from the broker a moment after the doorbell event
        await waitFor(async () => (await state('binary_sensor.front_door_ringing')).state === 'on', `ringing on in HA (ring ${i})`, 5000, 50);
        await waitFor(async () => (await state('sensor.front_door_last_caller')).state === 'Guest 101 (100)', `the last caller in HA (ring ${i})`, 5000, 50);
        const open = openAction(push);
        if (i % 2 === 0) {
          // Open from the phone: the door opens once; the same button again does nothing.
          await phone.press(open);
          await waitFor(() => panel.opens() === opensBefore + 1, 'the relay switched', 10_000, 20);
          await waitFor(async () => (await state('event.front_door_doorbell')).attributes?.event_type === 'opened', 'opened in HA', 5000, 50);
          await phone.press(open);
          await delay(300);
          await hangUp();
          expect((await state('event.front_door_doorbell')).attributes?.event_type).toBe('opened');
        } else {
          // Nobody answers: the visitor gives up; then a late Open from the phone does nothing.
          await hangUp();
          await waitFor(async () => {
            const s = await state('event.front_door_doorbell');
            return s.attributes?.event_type === 'missed' && s.attributes.call_id === callId;
          }, 'missed in HA', 5000, 50);
          await phone.press(open);
          await delay(300);
        }
        expect(panel.opens()).toBe(opensBefore + (i % 2 === 0 ? 1 : 0));
        // The door's minimum interval between opens is 2 s.
        await delay(i % 2 === 0 ? 1200 : 100);
      }
      expect(wrongPicture).toEqual([]);
    }, 300_000);

    test('the dashboard: lock Open, lock Unlock and the Open button open, with the HA user; a push pressed after its expiry does not', async () => {
      const { push } = await ring();
      const opens = panel.opens();
      await ha.rest('POST', '/api/services/lock/open', { entity_id: 'lock.front_door' });
      await waitFor(() => panel.opens() === opens + 1, 'lock Open opened', 10_000, 20);
      await delay(2100);
      await ha.rest('POST', '/api/services/lock/unlock', { entity_id: 'lock.front_door' });
      await waitFor(() => panel.opens() === opens + 2, 'lock Unlock opened', 10_000, 20);
      await delay(2100);
      await ha.rest('POST', '/api/services/button/press', { entity_id: 'button.front_door_open' });
      await waitFor(() => panel.opens() === opens + 3, 'the Open button opened', 10_000, 20);
      // The push is valid for 60 s (the example's "Valid for"); the panel still rings.
      await delay(Math.max(0, push.at! + 61_000 - Date.now()));
      await phone.press(openAction(push));
      await delay(500);
      expect(panel.opens()).toBe(opens + 3);
      await hangUp();
    }, 120_000);

    test('the journal: every ring, push, open (with the HA user and how) and refused press (with the reason)', async () => {
      const lines = (await waitFor(() => {
        const j = journal();
        return j.filter((l) => l.event === 'refused').length >= 21 ? j : null;
      }, 'the refused presses journaled', 10_000, 100))!;
      const rings = lines.filter((l) => l.event === 'ring');
      expect(rings).toHaveLength(21);
      expect(rings[0]).toMatchObject({ caller: '100', callerName: 'Guest 101', callId: expect.any(String), source: expect.stringMatching(/^127\.0\.0\.1:/) });
      const pushes = lines.filter((l) => l.event === 'push');
      expect(pushes).toHaveLength(21);
      expect(pushes.every((l) => l.result === 'sent')).toBe(true);
      const opens = lines.filter((l) => l.event === 'open');
      expect(opens.filter((l) => l.via === 'push')).toHaveLength(10);
      expect(opens.filter((l) => l.via === 'push').every((l) => l.result === 'ok' && l.user === 'Owner' && l.action === 'open')).toBe(true);
      expect(opens.filter((l) => l.via === 'lock').map((l) => [l.result, l.user, l.action])).toEqual([
        ['ok', 'Owner', undefined],
        ['ok', 'Owner', 'unlock'],
      ]);
      expect(opens.filter((l) => l.via === 'button').map((l) => [l.result, l.user])).toEqual([['ok', 'Owner']]);
      const refused = lines.filter((l) => l.event === 'refused');
      expect(refused.every((l) => l.result === 'refused' && l.via === 'push' && l.action === 'open' && l.user === 'Owner')).toBe(true);
      const reasons = refused.map((l) => l.reason);
      expect(reasons.filter((r) => r === 'already-used')).toHaveLength(10);
      expect(reasons.filter((r) => r === 'call-ended')).toHaveLength(10);
      expect(reasons.filter((r) => r === 'timeout')).toHaveLength(1);
    });

    test('a broker restart: the node is back within about a second of the broker, the entities as soon as HA is, the picture not sent again', async () => {
      const cfg = getNode('ha_cfg') as any;
      await waitFor(async () => (await state('lock.front_door')).state === 'locked', 'the door in HA before', 30_000, 100);
      await broker.stop();
      try {
        await waitFor(async () => (await state('lock.front_door')).state === 'unavailable', 'unavailable while the broker is down', 20_000, 200);
        // Long enough down that a doubling backoff (1, 2, 4, 8 s) would wait ~7 s more.
        await delay(8000);
      } finally {
        await broker.start();
      }
      const up = Date.now();
      // What reaches the broker from now on: HA's birth, and any picture sent again.
      const watcher = mqtt.connect(broker.url, { clientId: 'mqttjs_watcher' });
      const imagePublishes: number[] = [];
      watcher.on('message', (t) => t === 'intercom/front_door/image' && imagePublishes.push(Date.now()));
      try {
        await new Promise((r) => watcher.once('connect', r));
        await watcher.subscribeAsync(['intercom/front_door/image']);
        await waitFor(() => cfg.mqtt.connected, 'our broker link back', 20_000, 10);
        const ours = Date.now() - up;
        await waitFor(async () => (await state('lock.front_door')).state === 'locked', 'lock back after the broker restart', 60_000, 50);
        const back = Date.now();
        // HA's own client (paho, its own doubling backoff) is whoever else connected.
        const haBack = broker.connections.find((c) => c.at >= up && !/^(intercom_|mqttjs_)/.test(c.clientId))?.at ?? 0;
        process.stdout.write(
          `\n[ha-guest] broker restart: our link back ${ours} ms after mosquitto was up; HA's client ${haBack - up} ms (its paho backoff); lock.front_door available ${back - up} ms after mosquitto, ${back - haBack} ms after HA reconnected\n`,
        );
        expect(ours).toBeLessThan(2500);
        expect(haBack).toBeGreaterThan(0);
        expect(back - haBack).toBeLessThan(2500);
        // The broker lost the retained picture (no persistence): sent once, for HA's next restart.
        await delay(1000);
        expect(imagePublishes.length).toBeLessThanOrEqual(1);
      } finally {
        await watcher.endAsync();
      }
    }, 90_000);

    test('an HA restart: the entities come back from what the broker retained, our websocket within about a second of HA answering', async () => {
      const cfg = getNode('ha_cfg') as any;
      await waitFor(async () => (await state('lock.front_door')).state === 'locked', 'the door in HA before', 30_000, 100);
      await ha.stop();
      const stopped = Date.now();
      // Watch from the moment HA starts: its API answering, the entity, our websocket, HA running.
      const seen = { api: 0, entity: 0, ws: 0, running: 0 };
      const onState = (st: string): void => {
        if (st === 'connected' && !seen.ws) seen.ws = Date.now();
      };
      cfg.ws.on('state', onState);
      let watching = true;
      const auth = { headers: { Authorization: `Bearer ${ha.longLivedToken}` } };
      const apiWatch = (async () => {
        while (watching && !seen.api) {
          if (await fetch(`${ha.url}/api/`).catch(() => null)) seen.api = Date.now();
          await delay(10);
        }
      })();
      const entityWatch = (async () => {
        while (watching && !(seen.entity && seen.running)) {
          const r = seen.api ? await fetch(`${ha.url}/api/states/lock.front_door`, auth).catch(() => null) : null;
          if (r?.ok && !seen.entity && ((await r.json()) as { state: string }).state === 'locked') seen.entity = Date.now();
          if (r && !seen.running) {
            const c = await fetch(`${ha.url}/api/config`, auth).catch(() => null);
            if (c?.ok && ((await c.json()) as { state: string }).state === 'RUNNING') seen.running = Date.now();
          }
          await delay(20);
        }
      })();
      try {
        await ha.launch();
        await waitFor(() => seen.entity && seen.ws && seen.running, 'lock and websocket back after the HA restart', 60_000, 50);
      } finally {
        watching = false;
        await Promise.all([apiWatch, entityWatch]);
        cfg.ws.off('state', onState);
      }
      const haOnBroker = broker.connections.find((c) => c.at >= stopped && !/^(intercom_|mqttjs_)/.test(c.clientId))?.at ?? 0;
      process.stdout.write(
        `\n[ha-guest] HA restart: lock.front_door available ${seen.entity - seen.api} ms after HA's API first answered, ${seen.entity - seen.running} ms after HA was running, ${seen.entity - haOnBroker} ms after it connected to the broker (HA's own subscribe and discovery delays); our websocket ${seen.ws - seen.api} ms after HA's API first answered\n`,
      );
      // Nothing of ours is in the entities' path (HA reads the retained discovery and states);
      // the websocket is ours: pushes and "who asked" work again about a second after HA does.
      expect(seen.ws - seen.api).toBeLessThan(3000);
      // The phone's push channel lives in HA: connect it again as the app does.
      phone.close();
      await phone.connect();
      const { push, jpeg } = await ring();
      expect((await push.picture!)?.equals(jpeg)).toBe(true);
      await hangUp();
    }, 180_000);
  });
});
