/**
 * One door as a Home Assistant device, against a recording publisher (the MQTT seam): what
 * a call's life publishes (ring, hang-up → missed, answered → no missed), that an unknown
 * last caller is never published as empty, and that a picture the broker already holds is
 * not sent again on a reconnect.
 */
import { callerOf, callerText } from '../../nodes/lib/homeassistant/caller';
import { DoorDevice, type Publisher } from '../../nodes/lib/homeassistant/door-device';
import type { PublishOptions } from '../../nodes/lib/homeassistant/mqtt-link';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

class Recorder implements Publisher {
  sent: Array<{ topic: string; payload: string | Buffer; retain: boolean }> = [];
  retained = new Map<string, Buffer>();
  connected = true;
  haOnline: boolean | undefined = true;
  async publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    this.sent.push({ topic, payload, retain: opts.retain === true });
    if (opts.retain) {
      if (payload.length === 0) this.retained.delete(topic);
      else this.retained.set(topic, Buffer.from(payload));
    }
  }
  async readRetained(topics: string[]): Promise<Map<string, Buffer>> {
    return new Map(topics.filter((t) => this.retained.has(t)).map((t) => [t, this.retained.get(t)!]));
  }
  on(topic: string): Array<string | Buffer> {
    return this.sent.filter((s) => s.topic === topic).map((s) => s.payload);
  }
  events(): Array<Record<string, unknown>> {
    return this.on('intercom/front_door/event').map((p) => JSON.parse(String(p)));
  }
  clear(): void {
    this.sent = [];
  }
}

const flush = () => new Promise((r) => setImmediate(r));

function device(pub: Recorder) {
  return new DoorDevice({ doorId: 'front_door', doorName: 'Front door', baseTopic: 'intercom', discoveryPrefix: 'homeassistant', publisher: pub, logger: quiet, now: () => new Date(0) });
}
const guest = { name: 'Guest 101', number: '100' };

describe('who rang', () => {
  test('the display name from msg.call.from.display, with the number', () => {
    const c = callerOf({ call: { from: { user: '100', display: 'Guest 101', uri: 'sip:100@10.0.0.5' } } });
    expect(c).toEqual({ name: 'Guest 101', number: '100' });
    expect(callerText(c)).toBe('Guest 101 (100)');
    expect(callerText(callerOf({ call: { from: { user: '100', display: '' } } }))).toBe('100');
    expect(callerText(callerOf({ call: { from: '200' } }))).toBe('200');
    expect(callerText(callerOf({ caller: 'Postman' }))).toBe('Postman');
    expect(callerOf({ call: { from: { user: '', display: '' } } })).toBeUndefined();
    // A display name is one line on a lock screen.
    expect(callerText(callerOf({ call: { from: { user: '1', display: 'A\r\nB' } } }))).toBe('A B (1)');
  });
});

describe('a call as the door sees it', () => {
  test('ring: doorbell event with caller, Ringing on, Last caller "Guest 101 (100)"', async () => {
    const pub = new Recorder();
    const d = device(pub);
    await d.event('ring', { caller: guest, callId: 'c1' });
    expect(pub.events()).toEqual([{ event_type: 'ring', time: new Date(0).toISOString(), caller: 'Guest 101 (100)', caller_name: 'Guest 101', caller_number: '100', call_id: 'c1' }]);
    expect(pub.on('intercom/front_door/ringing')).toEqual(['ON']);
    expect(pub.on('intercom/front_door/caller')).toEqual(['Guest 101 (100)']);
  });

  test('the visitor hangs up (cancelled, then ended): one missed event, Ringing off', async () => {
    const pub = new Recorder();
    const d = device(pub);
    await d.event('ring', { caller: guest, callId: 'c1' });
    expect(await d.event('cancelled', { callId: 'c1' })).toBe('missed');
    expect(await d.event('ended', { callId: 'c1' })).toBeUndefined();
    expect(pub.events().map((e) => e.event_type)).toEqual(['ring', 'missed']);
    expect(pub.on('intercom/front_door/ringing')).toEqual(['ON', 'OFF']);
  });

  test('answered or opened during the ring: no missed when the call ends', async () => {
    const pub = new Recorder();
    const d = device(pub);
    await d.event('ring', { callId: 'a' });
    await d.event('answered', { callId: 'a' });
    await d.event('ended', { callId: 'a' });
    await d.event('ring', { callId: 'b' });
    // Opened from the dashboard: no call id, every ringing call is taken care of.
    await d.event('opened', {});
    await d.event('ended', { callId: 'b' });
    expect(pub.events().map((e) => e.event_type)).toEqual(['ring', 'answered', 'ring', 'opened']);
    expect(pub.on('intercom/front_door/ringing')).toEqual(['ON', 'OFF', 'ON', 'OFF']);
    await d.stop(false); // the relock timer of "opened"
  });

  test('two calls at once: Ringing stays on until both are over', async () => {
    const pub = new Recorder();
    const d = device(pub);
    await d.event('ring', { callId: 'a' });
    await d.event('ring', { callId: 'b' });
    await d.event('ended', { callId: 'a' });
    expect(d.ringing).toBe(true);
    await d.event('ended', { callId: 'b' });
    expect(d.ringing).toBe(false);
    expect(pub.events().map((e) => e.event_type)).toEqual(['ring', 'ring', 'missed', 'missed']);
    expect(pub.on('intercom/front_door/ringing')).toEqual(['ON', 'OFF']);
  });
});

describe('what a redeploy and a reconnect publish', () => {
  test('a new run does not know the last caller: it keeps the retained one and never blanks it', async () => {
    const pub = new Recorder();
    const first = device(pub);
    first.linkUp('connected');
    await first.event('ring', { caller: guest, callId: 'c1' });
    await first.stop(false);
    pub.clear();
    // Full redeploy: a fresh device on the same broker.
    const second = device(pub);
    second.linkUp('connected');
    await flush();
    await second.announce();
    expect(pub.on('intercom/front_door/caller').every((p) => String(p) === 'Guest 101 (100)')).toBe(true);
    expect(second.lastCaller).toBe('Guest 101 (100)');
    expect(pub.retained.get('intercom/front_door/caller')?.toString()).toBe('Guest 101 (100)');
  });

  test('with nothing retained and nothing rung, no caller is published at all', async () => {
    const pub = new Recorder();
    const d = device(pub);
    d.linkUp('connected');
    await d.announce();
    expect(pub.on('intercom/front_door/caller')).toEqual([]);
  });

  test('a reconnect to a broker that kept the picture does not send it again; one that lost it does', async () => {
    const pub = new Recorder();
    const d = device(pub);
    d.linkUp('connected');
    const jpeg = Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
    await d.setImage(jpeg);
    pub.clear();
    d.linkUp('connected'); // reconnect, broker kept it
    await d.announce();
    d.linkUp('ha-online'); // HA restarted: it got the picture from the broker itself
    await d.announce();
    expect(pub.on('intercom/front_door/image')).toEqual([]);
    pub.retained.clear(); // broker restarted without persistence
    d.linkUp('connected');
    await d.announce();
    expect(pub.on('intercom/front_door/image')).toHaveLength(1);
  });

  test('a picture from an earlier run, read back, is kept for a broker that loses it later', async () => {
    const pub = new Recorder();
    const jpeg = Buffer.from([0xff, 0xd8, 9, 0xff, 0xd9]);
    pub.retained.set('intercom/front_door/image', jpeg);
    const d = device(pub);
    d.linkUp('connected');
    await d.announce();
    expect(pub.on('intercom/front_door/image')).toEqual([]);
    pub.retained.clear();
    d.linkUp('connected');
    await d.announce();
    expect(pub.on('intercom/front_door/image')).toEqual([jpeg]);
  });
});
