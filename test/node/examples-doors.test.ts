/**
 * examples/Doors/*, each loaded from its file with only what its comment says to set
 * changed (test/helpers/examples.ts refuses anything else), run end to end against the
 * peers it names: HTTP stand-ins of the 2N and Shelly APIs on 127.0.0.1 (digest / Basic as
 * the devices ask), a default mosquitto, the GStreamer RTSP server with ffmpeg, and a
 * baresip panel for the door that opens by DTMF.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { exampleFiles, loadExample, nodeOf, setAfterImport } from '../helpers/examples';
import { inputsOf, intercomErrors, JPEG, press, startMosquitto, startRtsp, type Peer } from '../helpers/example-peers';
import { helper } from '../helpers/node-red';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from '../peer/media-baresip';
import { json, opened, startServer, startVendor, withDigest, type VendorServer } from '../peer/door-vendors';
import { PRESETS } from '../../nodes/lib/door/presets';
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import snapshotNode = require('../../nodes/intercom-snapshot');
import accountNode = require('../../nodes/intercom-sip-account');
import sipInNode = require('../../nodes/intercom-sip-in');
import sipCallNode = require('../../nodes/intercom-sip-call');
const core = ['common/20-inject.js', 'common/21-debug.js', 'common/25-catch.js', 'common/90-comment.js', 'function/15-change.js', 'function/89-delay.js', 'network/10-mqtt.js'].map((f) =>
  require(`@node-red/nodes/core/${f}`),
);
const nodes = [doorNode, doorOpenNode, snapshotNode, accountNode, sipInNode, sipCallNode, ...core];

jest.setTimeout(40000);

let dir: string;
const stops: Array<() => Promise<void>> = [];
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'examples-doors-'));
  // journals and saved pictures go to the user directory, as in a real install
  helper.settings({ userDir: dir });
  await new Promise<void>((r) => helper.startServer(() => r()));
});
afterEach(async () => {
  await helper.unload();
  await new Promise((r) => helper.stopServer(r));
  for (const s of stops.splice(0).reverse()) await s();
  rmSync(dir, { recursive: true, force: true });
});

describe('Doors/Open a 2N door with a camera check', () => {
  test('the button opens switch 1 by digest, the switch state confirms it, the picture comes from the 2N camera', async () => {
    const auth = { user: 'api', password: 'api-pw' };
    let active = false;
    const twoN: VendorServer = await startServer(
      withDigest(auth, (req, body, res, s) => {
        const url = req.url ?? '';
        if (/^\/api\/switch\/ctrl\?switch=1&action=trigger$/.test(url)) {
          opened(s, req, body);
          json(res, 200, { success: true });
          setTimeout(() => (active = true), 100); // the lock takes a moment
        } else if (url === '/api/switch/status?switch=1') json(res, 200, { success: true, result: { switches: [{ switch: 1, active, locked: false }] } });
        else if (url.startsWith('/api/camera/snapshot')) {
          res.writeHead(200, { 'content-type': 'image/jpeg' });
          res.end(JPEG);
        } else json(res, 404, { success: false });
      }),
    );
    stops.push(() => twoN.close());
    const ex = loadExample('Doors/Open a 2N door with a camera check.json');
    const creds = setAfterImport(ex, { 'Front door': { host: twoN.url, confirmUrl: `${twoN.url}/api/switch/status?switch=1`, user: auth.user, password: auth.password } });
    await helper.load(nodes, ex.flow, creds);
    const result = inputsOf(nodeOf(ex, 'debug', 'open result').id);
    const picture = inputsOf(nodeOf(ex, 'debug', 'picture').id);
    press(nodeOf(ex, 'inject').id);
    await waitFor(() => picture.length > 0, 'the picture after the open', 10000);
    expect(result[0]).toMatchObject({ payload: 'ok', door: { id: 'front_door', outcome: 'ok' } });
    expect(twoN.opens.map((h) => h.url)).toEqual(['/api/switch/ctrl?switch=1&action=trigger']);
    expect(twoN.hits.some((h) => h.url === '/api/switch/status?switch=1')).toBe(true);
    expect((picture[0].payload as Buffer).equals(JPEG)).toBe(true);
    // saved where the snapshot node says, in the user directory
    expect(readdirSync(path.join(dir, 'snapshots')).filter((f) => f.endsWith('.jpg'))).toHaveLength(1);
    expect(intercomErrors(nodeOf(ex, 'intercom-door').id)).toEqual([]);
  });
});

describe('Doors/Open a Shelly relay from a button', () => {
  test('the button turns relay 0 on for 2 s, with the login from the credentials', async () => {
    const shelly = await startVendor('shelly-gen1', { user: 'admin', password: 'shelly-pw' });
    stops.push(() => shelly.close());
    const ex = loadExample('Doors/Open a Shelly relay from a button.json');
    const creds = setAfterImport(ex, { 'Garden gate': { host: shelly.url, user: 'admin', password: 'shelly-pw' } });
    await helper.load(nodes, ex.flow, creds);
    const result = inputsOf(nodeOf(ex, 'debug', 'result').id);
    press(nodeOf(ex, 'inject').id);
    await waitFor(() => result.length > 0, 'the result');
    expect(result[0]).toMatchObject({ payload: 'ok', door: { id: 'garden_gate', outcome: 'ok', status: 200 } });
    expect(shelly.opens.map((h) => h.url)).toEqual(['/relay/0?turn=on&timer=2']);
  });
});

describeWithPeers(['mosquitto'], 'Doors/Open a gate over MQTT', () => {
  test('the button publishes ON on cmnd/gate/POWER through the broker config node; ok once mosquitto acknowledged', async () => {
    const broker: Peer = await startMosquitto();
    stops.push(() => broker.stop());
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    stops.push(() => watcher.endAsync());
    const seen: Array<[string, string]> = [];
    watcher.on('message', (t, p) => seen.push([t, p.toString()]));
    await watcher.subscribeAsync('cmnd/#', { qos: 1 });
    const ex = loadExample('Doors/Open a gate over MQTT.json');
    setAfterImport(ex, { 'House broker': { broker: '127.0.0.1', port: String(broker.port) } });
    await helper.load(nodes, ex.flow);
    const result = inputsOf(nodeOf(ex, 'debug', 'result').id);
    await waitFor(() => (helper.getNode(nodeOf(ex, 'mqtt-broker').id) as any).connected, 'the broker config node connected', 10000);
    press(nodeOf(ex, 'inject').id);
    await waitFor(() => result.length > 0 && seen.length > 0, 'the publish and the result', 10000);
    expect(result[0]).toMatchObject({ payload: 'ok', door: { id: 'driveway_gate', outcome: 'ok' } });
    expect(seen).toEqual([['cmnd/gate/POWER', 'ON']]);
  });
});

describeWithPeers(['ffmpeg', 'python3'], 'Doors/Snapshot on ring', () => {
  test('the ring starts the grab, the ask after the delay gets that picture from the cache', async () => {
    const rtsp = await startRtsp('mjpeg');
    stops.push(() => rtsp.stop());
    const ex = loadExample('Doors/Snapshot on ring.json');
    setAfterImport(ex, { 'Front door': { rtspUrl: rtsp.url } });
    await helper.load(nodes, ex.flow);
    const pictures = inputsOf(nodeOf(ex, 'debug', 'snapshot').id);
    const why = inputsOf(nodeOf(ex, 'debug', 'why').id);
    press(nodeOf(ex, 'inject').id);
    await waitFor(() => pictures.length > 0 || why.length > 0, 'a picture (or the reason there is none)', 15000);
    expect(why).toEqual([]);
    const m = pictures[0];
    expect((m.payload as Buffer).subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(m.snapshot).toMatchObject({ door: 'front_door', width: 320, height: 240, shared: true });
    expect(m.snapshot.dataUrl).toMatch(/^data:image\/jpeg;base64,\/9j\//);
    expect(readFileSync(m.snapshot.file).equals(m.payload)).toBe(true);
  });
});

describeWithPeers(['baresip', 'sox'], 'Doors/Open the panel by DTMF 9', () => {
  test('a panel calls: answered, a second later the door sends 9 into the call, then hangs up', async () => {
    const panel: Baresip = await startBaresip(mkdtempSync(path.join(dir, 'panel-')));
    stops.push(() => panel.stop());
    const port = await freeSipPort();
    const ex = loadExample('Doors/Open the panel by DTMF 9.json');
    setAfterImport(ex, { entrance: { allowedSources: '127.0.0.1', bindAddress: '127.0.0.1', bindPort: port } });
    await helper.load(nodes, ex.flow);
    await (helper.getNode(nodeOf(ex, 'intercom-sip-account').id) as any).ready;
    const result = inputsOf(nodeOf(ex, 'debug', 'result').id);
    panel.command('dial', `sip:door@127.0.0.1:${port}`);
    const ev = (t: string) => panel.events.filter((e) => e.type === t);
    await waitFor(() => ev('CALL_CLOSED').length > 0, 'the call ends', 15000);
    expect(ev('CALL_ESTABLISHED')).toHaveLength(1);
    expect(ev('CALL_DTMF_START').map((e) => String(e.param))).toEqual(['9']);
    expect(result[0]).toMatchObject({ payload: 'ok', door: { id: 'entrance', outcome: 'ok' } });
  });
});

describe('the Doors examples as shipped', () => {
  test('no door opens over MQTT with its own broker URL: they name a broker config node', () => {
    const doors = exampleFiles().flatMap((f) => loadExample(f).flow.filter((n) => n.type === 'intercom-door' && n.openKind === 'mqtt'));
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
