/**
 * MQTT discovery for one door: the topics it uses and the retained config payloads that
 * make Home Assistant create a device with a lock, a doorbell event, a snapshot image, a
 * last-caller sensor, a ringing binary sensor and an open button. Pure functions: the
 * connection that publishes them lives in mqtt-link.ts.
 *
 * Topic scheme (HA docs "MQTT Discovery"): <prefix>/<component>/<node_id>/<object_id>/config
 * with node_id = intercom_<doorId>. State and command topics live under <baseTopic>/<doorId>/.
 */

/** Door ids become MQTT topic levels and HA object ids: a slug, nothing that could add a level. */
const DOOR_ID = /^[a-z0-9][a-z0-9_]{0,63}$/;
/** Base topics and discovery prefixes: plain levels, no wildcards, no leading/trailing slash. */
const TOPIC_BASE = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

export const EVENT_TYPES = ['ring', 'answered', 'missed', 'opened', 'denied'] as const;
export type DoorEventType = (typeof EVENT_TYPES)[number];

export function isDoorEventType(v: unknown): v is DoorEventType {
  return typeof v === 'string' && (EVENT_TYPES as readonly string[]).includes(v);
}

export function validDoorId(id: unknown): id is string {
  return typeof id === 'string' && DOOR_ID.test(id);
}

export function validTopicBase(t: unknown): t is string {
  return typeof t === 'string' && TOPIC_BASE.test(t);
}

export interface DoorTopics {
  lockState: string;
  lockCommand: string;
  event: string;
  image: string;
  caller: string;
  ringing: string;
  buttonCommand: string;
  /** per-door availability: offline while the flow node is stopped */
  available: string;
}

export function doorTopics(baseTopic: string, doorId: string): DoorTopics {
  const b = `${baseTopic}/${doorId}`;
  return {
    lockState: `${b}/lock/state`,
    lockCommand: `${b}/lock/set`,
    event: `${b}/event`,
    image: `${b}/image`,
    caller: `${b}/caller`,
    ringing: `${b}/ringing`,
    buttonCommand: `${b}/open/set`,
    available: `${b}/available`,
  };
}

/** The wildcard every command topic of every door under baseTopic matches. */
export function commandWildcard(baseTopic: string): string {
  return `${baseTopic}/+/+/set`;
}

/** The availability topic carried by the broker connection's last will. */
export function bridgeAvailabilityTopic(baseTopic: string): string {
  return `${baseTopic}/bridge/status`;
}

export type Component = 'lock' | 'event' | 'image' | 'sensor' | 'binary_sensor' | 'button';

export interface DiscoveryMessage {
  topic: string;
  payload: string;
  component: Component;
  /** the entity id HA derives from object_id: <component>.<objectId> */
  entityId: string;
}

export interface DoorDescription {
  doorId: string;
  doorName: string;
  baseTopic: string;
  discoveryPrefix: string;
  /** what HA's device page shows about the node and the door */
  device?: DeviceInfo;
}

/** Device page details: the package version, where to configure it, the panel. */
export interface DeviceInfo {
  /** this package's version, shown as the firmware */
  swVersion?: string;
  /** the Node-RED editor (http(s)://… or homeassistant://hassio/ingress/<slug>) */
  configurationUrl?: string;
  /** the door's panel as the door config names it, shown as the model */
  panel?: string;
}

/** A configuration_url HA accepts (cv.configuration_url): http, https or homeassistant. */
export function validConfigurationUrl(u: unknown): u is string {
  if (typeof u !== 'string' || u.length > 500) return false;
  try {
    const p = new URL(u);
    return ((p.protocol === 'http:' || p.protocol === 'https:') && p.hostname !== '') || p.protocol === 'homeassistant:';
  } catch {
    return false;
  }
}

export const PACKAGE = 'node-red-contrib-sip-intercom';

export const PAYLOAD = { lock: 'LOCK', unlock: 'UNLOCK', open: 'OPEN', press: 'PRESS' } as const;
export const LOCK_STATE = { locked: 'LOCKED', unlocked: 'UNLOCKED' } as const;

export function entityIds(doorId: string): Record<Component, string> {
  return {
    lock: `lock.${doorId}`,
    event: `event.${doorId}_doorbell`,
    image: `image.${doorId}_snapshot`,
    sensor: `sensor.${doorId}_last_caller`,
    binary_sensor: `binary_sensor.${doorId}_ringing`,
    button: `button.${doorId}_open`,
  };
}

/** Retained discovery configs for one door; publish each retained, remove with an empty retained payload. */
export function discoveryMessages(d: DoorDescription): DiscoveryMessage[] {
  const t = doorTopics(d.baseTopic, d.doorId);
  const nodeId = `intercom_${d.doorId}`;
  const ids = entityIds(d.doorId);
  const info = d.device ?? {};
  const device: Record<string, unknown> = {
    identifiers: [nodeId],
    name: d.doorName,
    manufacturer: PACKAGE,
    model: info.panel ? info.panel.slice(0, 100) : 'SIP door',
  };
  if (info.swVersion) device.sw_version = info.swVersion;
  // A URL HA refuses would make it drop the whole entity: only a valid one goes out.
  if (validConfigurationUrl(info.configurationUrl)) device.configuration_url = info.configurationUrl;
  // HA logs which software announced an entity (MQTT discovery "origin").
  const origin = { name: PACKAGE, ...(info.swVersion ? { sw_version: info.swVersion } : {}) };
  // Both must be online: the broker connection (last will) and this door's flow node.
  const availability = {
    availability: [
      { topic: bridgeAvailabilityTopic(d.baseTopic) },
      { topic: t.available },
    ],
    availability_mode: 'all',
    payload_available: 'online',
    payload_not_available: 'offline',
  };
  const common = (key: string, objectId: string) => ({
    unique_id: `${nodeId}_${key}`,
    object_id: objectId,
    device,
    origin,
    ...availability,
  });
  const entries: Array<[Component, string, Record<string, unknown>]> = [
    [
      'lock',
      'lock',
      {
        // name null: the lock is the device's main feature and takes the device name.
        name: null,
        ...common('lock', d.doorId),
        command_topic: t.lockCommand,
        state_topic: t.lockState,
        payload_lock: PAYLOAD.lock,
        payload_unlock: PAYLOAD.unlock,
        // Setting payload_open is what makes HA advertise the OPEN feature (and show "Open").
        payload_open: PAYLOAD.open,
        state_locked: LOCK_STATE.locked,
        state_unlocked: LOCK_STATE.unlocked,
        optimistic: false,
        qos: 1,
      },
    ],
    [
      'event',
      'doorbell',
      {
        name: 'Doorbell',
        ...common('doorbell', `${d.doorId}_doorbell`),
        state_topic: t.event,
        device_class: 'doorbell',
        event_types: [...EVENT_TYPES],
        qos: 1,
      },
    ],
    [
      'image',
      'snapshot',
      {
        name: 'Snapshot',
        ...common('snapshot', `${d.doorId}_snapshot`),
        image_topic: t.image,
        content_type: 'image/jpeg',
      },
    ],
    [
      'sensor',
      'last_caller',
      {
        name: 'Last caller',
        ...common('last_caller', `${d.doorId}_last_caller`),
        state_topic: t.caller,
        icon: 'mdi:account-voice',
      },
    ],
    [
      'binary_sensor',
      'ringing',
      {
        name: 'Ringing',
        ...common('ringing', `${d.doorId}_ringing`),
        state_topic: t.ringing,
        payload_on: 'ON',
        payload_off: 'OFF',
        device_class: 'sound',
      },
    ],
    [
      'button',
      'open',
      {
        name: 'Open',
        ...common('open', `${d.doorId}_open`),
        command_topic: t.buttonCommand,
        payload_press: PAYLOAD.press,
        icon: 'mdi:door-open',
        qos: 1,
      },
    ],
  ];
  return entries.map(([component, objectId, config]) => ({
    component,
    topic: `${d.discoveryPrefix}/${component}/${nodeId}/${objectId}/config`,
    payload: JSON.stringify(config),
    entityId: ids[component],
  }));
}

export type DoorCommand = 'open' | 'lock' | 'unlock';

/** Why a message on a command topic is not a command: stable codes, for the log and the 'rejected' event. */
export type CommandRejection =
  | 'not-under-base'
  | 'not-a-command-topic'
  | 'bad-door-id'
  | 'payload-too-long'
  | 'unknown-lock-command'
  | 'unknown-button-payload'
  | 'unknown-command-kind';

export type ParsedCommand =
  | { ok: true; doorId: string; command: DoorCommand; via: 'lock' | 'button' }
  | { ok: false; doorId?: string; reason: CommandRejection };

/**
 * Parses a message on <baseTopic>/<doorId>/<lock|open>/set. Anything that is not exactly
 * one of the payloads we announced is rejected: a stray or garbled message never opens.
 */
export function parseCommand(baseTopic: string, topic: string, payload: Buffer): ParsedCommand {
  const prefix = baseTopic + '/';
  if (!topic.startsWith(prefix)) return { ok: false, reason: 'not-under-base' };
  const parts = topic.slice(prefix.length).split('/');
  if (parts.length !== 3 || parts[2] !== 'set') return { ok: false, reason: 'not-a-command-topic' };
  const [doorId, kind] = parts;
  if (!validDoorId(doorId)) return { ok: false, reason: 'bad-door-id' };
  if (payload.length > 32) return { ok: false, doorId, reason: 'payload-too-long' };
  const text = payload.toString('utf8');
  if (kind === 'lock') {
    if (text === PAYLOAD.open) return { ok: true, doorId, command: 'open', via: 'lock' };
    if (text === PAYLOAD.lock) return { ok: true, doorId, command: 'lock', via: 'lock' };
    if (text === PAYLOAD.unlock) return { ok: true, doorId, command: 'unlock', via: 'lock' };
    return { ok: false, doorId, reason: 'unknown-lock-command' };
  }
  if (kind === 'open') {
    if (text === PAYLOAD.press) return { ok: true, doorId, command: 'open', via: 'button' };
    return { ok: false, doorId, reason: 'unknown-button-payload' };
  }
  return { ok: false, doorId, reason: 'unknown-command-kind' };
}
