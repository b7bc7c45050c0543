'use strict';
// How fast a door is back after its peers restart, against a real Home Assistant 2024.3.3
// and a mosquitto with default settings, ROUNDS times each (default 3), with the compiled
// links (dist/) the nodes use:
//   broker restart (down DOWN_MS, default 8 s): our MQTT link back after mosquitto is up;
//     HA's own client (paho, its own doubling backoff) back; the lock available after that.
//     Bare peer: a plain mqtt.js client with its default reconnect (every 1 s).
//   HA restart (down HA_DOWN_MS, default 20 s, then its start): our websocket back after HA's API first answers; the lock available after
//     HA's API answers (HA reads the retained discovery and states: nothing of ours).
//     Bare peer: home-assistant-js-websocket's own reconnect (createConnection's default).
/* global fetch */
require('./_ts-register');
const path = require('node:path');
const mqtt = require('mqtt');
const WebSocket = require('ws');
const { createConnection, createLongLivedTokenAuth } = require('home-assistant-js-websocket');
const { HomeAssistant, Mosquitto, haPython } = require('../test/helpers/homeassistant.ts');
const { which } = require('../test/helpers/peers.ts');

const dist = path.join(__dirname, '..', 'dist', 'nodes', 'lib', 'homeassistant');
const { MqttLink } = require(path.join(dist, 'mqtt-link.js'));
const { DoorDevice } = require(path.join(dist, 'door-device.js'));
const { HaWsLink, haEndpoint } = require(path.join(dist, 'ws-link.js'));

const ROUNDS = Number(process.env.ROUNDS || 3);
const DOWN_MS = Number(process.env.DOWN_MS || 8000);
// HA on a small box takes tens of seconds to restart; the stand-in starts in ~10 s, so it stays down longer.
const HA_DOWN_MS = Number(process.env.HA_DOWN_MS || 20000);
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, what, timeoutMs = 60000, step = 10) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await sleep(step);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs) => Math.max(...xs);

async function main() {
  if (!haPython() || !which('mosquitto')) {
    console.log('SKIP: needs the Home Assistant venv (.ha/ or $HA_PYTHON) and mosquitto');
    return;
  }
  const broker = await Mosquitto.start();
  const ha = await HomeAssistant.start();
  let link;
  let ws;
  let bareMqtt;
  let bareWs;
  try {
    await ha.configureMqtt(broker.port);
    link = new MqttLink({ url: broker.url, baseTopic: 'intercom', discoveryPrefix: 'homeassistant', logger: quiet });
    const door = new DoorDevice({ doorId: 'bench_door', doorName: 'Bench door', baseTopic: 'intercom', discoveryPrefix: 'homeassistant', publisher: link, logger: quiet });
    link.addDoor('bench_door', { onCommand() {}, onAnnounce: (r) => door.linkUp(r) });
    ws = new HaWsLink({ endpoint: haEndpoint(ha.url), token: ha.longLivedToken, logger: quiet });
    ws.start();
    bareMqtt = mqtt.connect(broker.url, { clientId: 'mqttjs_bare' });
    globalThis.WebSocket = WebSocket; // home-assistant-js-websocket's own socket factory wants the global
    bareWs = await createConnection({ auth: createLongLivedTokenAuth(ha.url, ha.longLivedToken) });
    let bareWsUp = 0;
    bareWs.addEventListener('ready', () => (bareWsUp = Date.now()));
    const lockState = async () => (await fetch(`${ha.url}/api/states/lock.bench_door`, { headers: { Authorization: `Bearer ${ha.longLivedToken}` } }).then((r) => (r.ok ? r.json() : null)).catch(() => null))?.state;
    await until(async () => (await lockState()) === 'locked', 'the door in HA');

    const b = { ours: [], bare: [], haClient: [], entity: [] };
    for (let i = 0; i < ROUNDS; i++) {
      await broker.stop();
      await until(async () => (await lockState()) === 'unavailable', 'unavailable', 30000, 100);
      await sleep(DOWN_MS);
      const from = broker.connections.length;
      await broker.start();
      const up = Date.now();
      await until(() => link.connected && bareMqtt.connected, 'both clients back');
      const seen = (re) => broker.connections.slice(from).find((c) => re.test(c.clientId))?.at;
      b.ours.push(seen(/^intercom_/) - up);
      b.bare.push(seen(/^mqttjs_bare$/) - up);
      await until(async () => (await lockState()) === 'locked', 'the lock back', 60000, 20);
      const entity = Date.now();
      const haAt = seen(/^(?!intercom_|mqttjs_)/);
      b.haClient.push(haAt - up);
      b.entity.push(entity - haAt);
    }
    const h = { ours: [], bare: [], entity: [] };
    for (let i = 0; i < ROUNDS; i++) {
      await ha.stop();
      await sleep(HA_DOWN_MS);
      let api = 0;
      let entity = 0;
      let ours = 0;
      bareWsUp = 0;
      const onState = (s) => s === 'connected' && !ours && (ours = Date.now());
      ws.on('state', onState);
      let watching = true;
      const watch = (async () => {
        while (watching) {
          const r = await fetch(`${ha.url}/api/`).catch(() => null);
          if (r && !api) api = Date.now();
          if (api && !entity && (await lockState()) === 'locked') entity = Date.now();
          await sleep(10);
        }
      })();
      await ha.launch();
      await until(() => api && entity && ours && bareWsUp, 'HA, the lock and both websockets back', 60000, 20);
      watching = false;
      await watch;
      ws.off('state', onState);
      h.ours.push(ours - api);
      h.bare.push(bareWsUp - api);
      h.entity.push(entity - api);
    }
    const f = (xs) => `median ${String(median(xs)).padStart(5)} ms, max ${String(max(xs)).padStart(5)} ms`;
    console.log(`broker restart, down ${DOWN_MS / 1000} s, ${ROUNDS} rounds (ms after mosquitto is up):`);
    console.log(`  our MQTT link back                       ${f(b.ours)}`);
    console.log(`  bare mqtt.js client (reconnect every 1 s) ${f(b.bare)}`);
    console.log(`  HA's own MQTT client (paho backoff)      ${f(b.haClient)}`);
    console.log(`  lock available, after HA reconnected     ${f(b.entity)}`);
    console.log(`HA restart, down ${HA_DOWN_MS / 1000} s + its start, ${ROUNDS} rounds (ms after HA's API first answers):`);
    console.log(`  our websocket back                       ${f(h.ours)}`);
    console.log(`  bare home-assistant-js-websocket         ${f(h.bare)}`);
    console.log(`  lock available (HA's own startup)        ${f(h.entity)}`);
    console.log(`ratio ours/bare: broker ${(median(b.ours) / Math.max(1, median(b.bare))).toFixed(2)}x, websocket ${(median(h.ours) / Math.max(1, median(h.bare))).toFixed(2)}x`);
  } finally {
    bareWs?.close();
    bareMqtt?.end(true);
    ws?.close();
    await link?.close();
    await ha.dispose();
    await broker.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
