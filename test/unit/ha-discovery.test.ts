import { discoveryMessages, doorTopics, parseCommand, validConfigurationUrl, validDoorId } from '../../nodes/lib/homeassistant/discovery';

const d = { doorId: 'front_door', doorName: 'Front door', baseTopic: 'intercom', discoveryPrefix: 'homeassistant' };

describe('MQTT discovery for a door', () => {
  const msgs = discoveryMessages(d);
  const byComponent = Object.fromEntries(msgs.map((m) => [m.component, { ...m, config: JSON.parse(m.payload) }]));

  test('one retained config per entity, under the discovery prefix and one device', () => {
    expect(msgs.map((m) => m.topic)).toEqual([
      'homeassistant/lock/intercom_front_door/lock/config',
      'homeassistant/event/intercom_front_door/doorbell/config',
      'homeassistant/image/intercom_front_door/snapshot/config',
      'homeassistant/sensor/intercom_front_door/last_caller/config',
      'homeassistant/binary_sensor/intercom_front_door/ringing/config',
      'homeassistant/button/intercom_front_door/open/config',
    ]);
    const ids = new Set(msgs.map((m) => JSON.stringify(JSON.parse(m.payload).device.identifiers)));
    expect(ids.size).toBe(1);
    expect(new Set(msgs.map((m) => JSON.parse(m.payload).unique_id)).size).toBe(6);
  });

  test('the lock announces payload_open (what makes HA show Open) and reports state', () => {
    const lock = byComponent.lock.config;
    expect(lock.payload_open).toBe('OPEN');
    expect(lock.state_topic).toBe('intercom/front_door/lock/state');
    expect(lock.command_topic).toBe('intercom/front_door/lock/set');
    expect(lock.optimistic).toBe(false);
  });

  test('the device page: package version, a link to the editor, the panel as the model', () => {
    const [lock] = discoveryMessages({ ...d, device: { swVersion: '0.1.0', configurationUrl: 'http://192.168.1.20:1880/#flow/ha_tab', panel: '2N Verso' } });
    expect(JSON.parse(lock.payload).device).toEqual({
      identifiers: ['intercom_front_door'],
      name: 'Front door',
      manufacturer: 'node-red-contrib-sip-intercom',
      model: '2N Verso',
      sw_version: '0.1.0',
      configuration_url: 'http://192.168.1.20:1880/#flow/ha_tab',
    });
    expect(JSON.parse(lock.payload).origin).toEqual({ name: 'node-red-contrib-sip-intercom', sw_version: '0.1.0' });
    // A URL HA would refuse is left out: HA drops the whole entity over a bad one.
    const [bad] = discoveryMessages({ ...d, device: { configurationUrl: 'javascript:alert(1)' } });
    expect(JSON.parse(bad.payload).device.configuration_url).toBeUndefined();
    expect(JSON.parse(bad.payload).device.model).toBe('SIP door');
    expect(validConfigurationUrl('homeassistant://hassio/ingress/a0d7b954_nodered')).toBe(true);
    expect(validConfigurationUrl('http://')).toBe(false);
  });

  test('the event entity is a doorbell with the five event types; availability needs bridge and door', () => {
    expect(byComponent.event.config).toMatchObject({ device_class: 'doorbell', event_types: ['ring', 'answered', 'missed', 'opened', 'denied'] });
    expect(byComponent.event.config.availability_mode).toBe('all');
    expect(byComponent.event.config.availability.map((a: { topic: string }) => a.topic)).toEqual(['intercom/bridge/status', 'intercom/front_door/available']);
    expect(byComponent.image.config.image_topic).toBe(doorTopics('intercom', 'front_door').image);
  });
});

describe('parsing commands from Home Assistant', () => {
  const p = (topic: string, payload: string | Buffer) => parseCommand('intercom', topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload));

  test('exactly the announced payloads are commands', () => {
    expect(p('intercom/front_door/lock/set', 'OPEN')).toEqual({ ok: true, doorId: 'front_door', command: 'open', via: 'lock' });
    expect(p('intercom/front_door/lock/set', 'LOCK')).toMatchObject({ ok: true, command: 'lock' });
    expect(p('intercom/front_door/lock/set', 'UNLOCK')).toMatchObject({ ok: true, command: 'unlock' });
    expect(p('intercom/front_door/open/set', 'PRESS')).toEqual({ ok: true, doorId: 'front_door', command: 'open', via: 'button' });
  });

  test.each([
    ['intercom/front_door/lock/set', 'open', 'unknown-lock-command'],
    ['intercom/front_door/lock/set', ' OPEN', 'unknown-lock-command'],
    ['intercom/front_door/lock/set', '{"state":"OPEN"}', 'unknown-lock-command'],
    ['intercom/front_door/open/set', 'OPEN', 'unknown-button-payload'],
    ['intercom/front_door/relay/set', 'OPEN', 'unknown-command-kind'],
    ['intercom/Front-Door/lock/set', 'OPEN', 'bad-door-id'],
    ['intercom/front_door/lock/set/x', 'OPEN', 'not-a-command-topic'],
    ['other/front_door/lock/set', 'OPEN', 'not-under-base'],
    ['intercom/front_door/lock/set', Buffer.alloc(100, 0x4f), 'payload-too-long'],
    ['intercom/front_door/lock/set', Buffer.from([0xff, 0xfe, 0x00]), 'unknown-lock-command'],
  ])('%s %s is rejected: %s', (topic, payload, reason) => {
    expect(p(topic, payload as string)).toMatchObject({ ok: false, reason });
  });

  test('door ids are slugs that cannot add a topic level or a wildcard', () => {
    expect(validDoorId('front_door')).toBe(true);
    for (const bad of ['', 'a/b', '+', '#', 'Front', 'x'.repeat(65), 'é', undefined, 3]) expect(validDoorId(bad)).toBe(false);
  });
});
