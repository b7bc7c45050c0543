'use strict';
// Ring → Home Assistant doorbell event state change, seen over HA's websocket, p50/p99 over
// 200 rings, through the same MQTT link and door device the intercom-ha-door node uses.
// Floors in the same run: a bare MQTT publish to a plain MQTT sensor, and to a plain MQTT
// event entity (the ratio's floor: same entity type, nothing of ours in the path).
require('./_ts-register');
const mqtt = require('mqtt');
const { HomeAssistant, Mosquitto, haPython } = require('../test/helpers/homeassistant.ts');
const { MqttLink } = require('../dist/nodes/lib/homeassistant/mqtt-link');
const { DoorDevice } = require('../dist/nodes/lib/homeassistant/door-device');

const N = Number(process.env.RINGS || 200);
const quiet = { debug() {}, info() {}, warn: (code, params) => console.warn(code, params ?? ''), error: (code, params) => console.error(code, params ?? '') };

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const ms = (ns) => Number(ns) / 1e6;

async function waitState(ha, entityId, pred, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await ha.state(entityId);
    if (s && pred(s)) return s;
    if (Date.now() > end) throw new Error(`timeout waiting for ${entityId}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main() {
  if (!haPython()) {
    console.log('SKIP: no Home Assistant venv (.ha/bin/python or $HA_PYTHON)');
    return;
  }
  const broker = await Mosquitto.start();
  const ha = await HomeAssistant.start();
  let link;
  let bare;
  let sock;
  try {
    await ha.configureMqtt(broker.port);
    link = new MqttLink({ url: broker.url, baseTopic: 'intercom', discoveryPrefix: 'homeassistant', logger: quiet });
    const door = new DoorDevice({ doorId: 'bench_door', doorName: 'Bench door', baseTopic: 'intercom', discoveryPrefix: 'homeassistant', publisher: link, logger: quiet });
    link.addDoor('bench_door', { onCommand() {}, onAnnounce: (reason) => door.linkUp(reason) });
    bare = mqtt.connect(broker.url);
    await new Promise((r) => bare.once('connect', r));
    // Same socket option as the link (TCP_NODELAY), so the floor is not Nagle's delay.
    bare.stream.setNoDelay(true);
    await bare.publishAsync('homeassistant/sensor/bench_floor/config', JSON.stringify({ name: 'Bench floor', unique_id: 'bench_floor', object_id: 'bench_floor', state_topic: 'bench/floor' }), { retain: true, qos: 1 });
    await bare.publishAsync('homeassistant/event/bench_floor_event/config', JSON.stringify({ name: 'Bench floor event', unique_id: 'bench_floor_event', object_id: 'bench_floor_event', state_topic: 'bench/floor_event', event_types: ['ring'] }), { retain: true, qos: 1 });
    await waitState(ha, 'event.bench_door_doorbell', (s) => s.state !== 'unavailable');
    await waitState(ha, 'event.bench_floor_event', () => true);
    await waitState(ha, 'sensor.bench_floor', () => true);

    // One websocket listener resolves whichever change we are waiting for.
    sock = await ha.socket();
    let waiting = null;
    await sock.subscribe({ type: 'subscribe_events', event_type: 'state_changed' }, (ev) => {
      const ns = ev.data.new_state;
      if (waiting && ns && waiting.match(ev.data.entity_id, ns)) {
        const w = waiting;
        waiting = null;
        w.resolve(process.hrtime.bigint());
      }
    });
    const seen = (match) => new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no state change within 10 s')), 10000);
      waiting = { match, resolve: (v) => { clearTimeout(t); resolve(v); } };
    });

    const ring = [];
    const floor = [];
    const floorEvent = [];
    for (let i = 0; i < N; i++) {
      const id = `b${i}`;
      let p = seen((e, s) => e === 'event.bench_door_doorbell' && s.attributes.call_id === id);
      let t0 = process.hrtime.bigint();
      door.event('ring', { caller: '200', callId: id }).catch((e) => console.error(e.message));
      ring.push(ms((await p) - t0));
      p = seen((e, s) => e === 'sensor.bench_floor' && s.state === id);
      t0 = process.hrtime.bigint();
      bare.publish('bench/floor', id, { qos: 1 });
      floor.push(ms((await p) - t0));
      p = seen((e, s) => e === 'event.bench_floor_event' && s.attributes.n === id);
      t0 = process.hrtime.bigint();
      bare.publish('bench/floor_event', JSON.stringify({ event_type: 'ring', n: id }), { qos: 1 });
      floorEvent.push(ms((await p) - t0));
    }
    const r50 = pct(ring, 50), r99 = pct(ring, 99), f50 = pct(floorEvent, 50), f99 = pct(floorEvent, 99);
    console.log(`ring → HA event state change   (${N}): p50 ${r50.toFixed(2)} ms  p99 ${r99.toFixed(2)} ms`);
    console.log(`bare MQTT publish → HA state   (${N}): p50 ${pct(floor, 50).toFixed(2)} ms  p99 ${pct(floor, 99).toFixed(2)} ms`);
    console.log(`bare MQTT event → HA event     (${N}): p50 ${f50.toFixed(2)} ms  p99 ${f99.toFixed(2)} ms`);
    console.log(`ratio ring / bare event: p50 ${(r50 / f50).toFixed(2)}x  p99 ${(r99 / f99).toFixed(2)}x`);
  } finally {
    sock?.close();
    bare?.end(true);
    await link?.close();
    await ha.dispose();
    await broker.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
