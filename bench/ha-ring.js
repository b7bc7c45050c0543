'use strict';
// The Guest example (examples/Home Assistant/Guest at the door.json, the compiled nodes in
// dist/) against a real Home Assistant 2024.3.3 and a mosquitto with default settings; a
// baresip panel rings RINGS times (default 20) while the camera stand-in serves a new JPEG
// for each ring. Measured from the ring (intercom-sip-in's ring message):
//   ring -> HA event   the doorbell event's state change, seen on HA's websocket
//   ring -> push       the push on the phone stand-in (the companion app's channel), which
//                      must show that ring's picture (the bench fails on a wrong one)
// Floors in the same run, nothing of ours in the path (the bare peer):
//   bare event         a plain MQTT publish to a plain MQTT event entity -> its state change
//   bare push          a plain MQTT image publish -> HA's image state change -> notify over
//                      the websocket -> the phone: the least any correct "picture then push" does
require('./_ts-register');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const mqtt = require('mqtt');
const helper = require('node-red-node-test-helper');
const { HomeAssistant, Mosquitto, haPython } = require('../test/helpers/homeassistant.ts');
const { which } = require('../test/helpers/peers.ts');
const { freeSipPort } = require('../test/helpers/ports.ts');
const { startBaresip } = require('../test/peer/media-baresip.ts');

const N = Number(process.env.RINGS || 20);
const root = path.join(__dirname, '..');
const dist = path.join(root, 'dist', 'nodes');
const NODES = ['intercom-sip-account', 'intercom-sip-in', 'intercom-door', 'intercom-snapshot', 'intercom-home-assistant', 'intercom-ha-door', 'intercom-notify', 'intercom-door-open', 'intercom-journal'].map((n) => require(path.join(dist, n)));
const CORE = ['function/10-switch.js', 'function/15-change.js', 'common/25-catch.js', 'common/90-comment.js'].map((f) => require(`@node-red/nodes/core/${f}`));

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
// The phone stand-in stamps pushes with Date.now(): one clock for everything (1 ms is plenty here).
const now = () => Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, what, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await sleep(5);
  }
}
function jpeg(i) {
  const body = Buffer.concat([Buffer.from(`ring ${i}`), randomBytes(40000)]);
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xfe, 0x9c, 0x4a]), body.subarray(0, 0x9c4a - 2), Buffer.from([0xff, 0xd9])]);
}

async function main() {
  if (!haPython() || !which('baresip') || !which('mosquitto') || !which('sox')) {
    console.log('SKIP: needs the Home Assistant venv (.ha/ or $HA_PYTHON), mosquitto, baresip and sox');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ha-'));
  const broker = await Mosquitto.start();
  const ha = await HomeAssistant.start();
  let baresip;
  let sock;
  let bare;
  let camera;
  try {
    await ha.configureMqtt(broker.port);
    const phone = await ha.registerPhone('Bench phone');
    let picture = jpeg(-1);
    camera = http.createServer((req, res) => {
      if (req.url.startsWith('/api/camera/snapshot')) res.writeHead(200, { 'content-type': 'image/jpeg' }).end(picture);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
    });
    await new Promise((r) => camera.listen(0, '127.0.0.1', r));
    const sipPort = await freeSipPort();
    baresip = await startBaresip(fs.mkdtempSync(path.join(dir, 'panel-')), undefined, [], 'auto', { user: '100', display: 'Guest 101' });

    // The example as shipped, with what its comment names.
    const flow = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'Home Assistant', 'Guest at the door.json'), 'utf8'));
    const byId = (id) => flow.find((n) => n.id === id);
    Object.assign(byId('ha_cfg'), { broker: broker.url, haUrl: ha.url });
    byId('ha_notify').service = phone.service;
    Object.assign(byId('ha_sip'), { allowedSources: '127.0.0.1', bindAddress: '127.0.0.1', bindPort: sipPort });
    byId('ha_door_cfg').host = `http://127.0.0.1:${camera.address().port}`;
    helper.init(require.resolve('node-red'));
    helper.settings({ userDir: dir });
    await new Promise((r) => helper.startServer(r));
    await helper.load([...NODES, ...CORE], flow, { ha_cfg: { token: ha.longLivedToken } });
    await helper.getNode('ha_sip').ready;
    let ringAt = 0;
    helper.getNode('ha_by_event').on('input', (msg) => msg.topic === 'ring' && (ringAt = now()));

    // The bare peer's entities: a plain MQTT event and a plain MQTT image.
    bare = mqtt.connect(broker.url);
    await new Promise((r) => bare.once('connect', r));
    await bare.publishAsync('homeassistant/event/bench_floor/config', JSON.stringify({ name: 'Bench floor', unique_id: 'bench_floor', object_id: 'bench_floor', state_topic: 'bench/event', event_types: ['ring'] }), { retain: true, qos: 1 });
    await bare.publishAsync('homeassistant/image/bench_floor_image/config', JSON.stringify({ name: 'Bench floor image', unique_id: 'bench_floor_image', object_id: 'bench_floor_image', image_topic: 'bench/image', content_type: 'image/jpeg' }), { retain: true, qos: 1 });
    await until(async () => (await ha.state('lock.front_door'))?.state === 'locked', 'the door in HA', 30000);
    await until(async () => (await ha.state('event.bench_floor')) && (await ha.state('image.bench_floor_image')), 'the floor entities', 30000);

    // Every state change HA makes, on its websocket.
    sock = await ha.socket();
    const changes = [];
    await sock.subscribe({ type: 'subscribe_events', event_type: 'state_changed' }, (ev) => changes.push({ at: now(), id: ev.data.entity_id, s: ev.data.new_state }));
    const changed = (pred) => until(() => changes.find((c) => pred(c.id, c.s)), 'a state change');
    const pushes = () => phone.received.length;

    const ringEvent = [];
    const ringPush = [];
    const floorEvent = [];
    const floorPush = [];
    let wrong = 0;
    let lastDial = 0;
    for (let i = 0; i < N; i++) {
      picture = jpeg(i);
      // A panel rings at a person's pace: the account admits a source's new calls at one a
      // second after a burst of five (flood protection), so the rings are paced to that.
      await sleep(Math.max(0, lastDial + 1100 - now()));
      lastDial = now();
      changes.length = 0;
      const before = pushes();
      baresip.command('dial', `sip:door@127.0.0.1:${sipPort}`);
      const ev = await changed((id, s) => id === 'event.front_door_doorbell' && s?.attributes?.event_type === 'ring');
      const push = await until(() => phone.received.slice(before).find((m) => m.message !== 'clear_notification'), 'the push');
      const shown = await push.picture;
      if (!shown || !shown.equals(picture)) wrong++;
      ringEvent.push(ev.at - ringAt);
      ringPush.push(push.at - ringAt);
      baresip.command('hangup');
      await until(async () => (await ha.state('binary_sensor.front_door_ringing'))?.state === 'off', 'ringing off');

      // The bare peer, same broker, same HA, same phone.
      changes.length = 0;
      let t0 = now();
      bare.publish('bench/event', JSON.stringify({ event_type: 'ring', n: i }), { qos: 1 });
      const fe = await changed((id, s) => id === 'event.bench_floor' && s?.attributes?.n === i);
      floorEvent.push(fe.at - t0);
      changes.length = 0;
      const img = jpeg(1000 + i);
      const pushesBefore = pushes();
      t0 = now();
      bare.publish('bench/image', img, { qos: 1 });
      await changed((id) => id === 'image.bench_floor_image');
      await sock.call({ type: 'call_service', domain: 'notify', service: phone.service, service_data: { message: `floor ${i}`, data: { image: '/api/image_proxy/image.bench_floor_image' } } });
      const fp = await until(() => phone.received.slice(pushesBefore).find((m) => m.message === `floor ${i}`), 'the floor push');
      floorPush.push(fp.at - t0);
      await sleep(300);
    }
    const line = (label, xs) => `${label.padEnd(44)} p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms  p99 ${pct(xs, 99).toFixed(1).padStart(7)} ms`;
    console.log(`${N} rings of the Guest example, default mosquitto, HA 2024.3.3 (pictures wrong: ${wrong})`);
    console.log(line('ring -> HA doorbell event', ringEvent));
    console.log(line("ring -> push with this ring's picture", ringPush));
    console.log(line('bare: MQTT event -> HA event', floorEvent));
    console.log(line('bare: MQTT image -> HA -> notify -> phone', floorPush));
    console.log(`ratio ring/bare: event p50 ${(pct(ringEvent, 50) / pct(floorEvent, 50)).toFixed(2)}x p99 ${(pct(ringEvent, 99) / pct(floorEvent, 99)).toFixed(2)}x; push p50 ${(pct(ringPush, 50) / pct(floorPush, 50)).toFixed(2)}x p99 ${(pct(ringPush, 99) / pct(floorPush, 99)).toFixed(2)}x`);
    if (wrong) process.exitCode = 1;
  } finally {
    sock?.close();
    bare?.end(true);
    await baresip?.stop();
    await helper.unload().catch(() => undefined);
    await new Promise((r) => helper.stopServer(r));
    await new Promise((r) => (camera ? camera.close(r) : r()));
    await ha.dispose();
    await broker.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
