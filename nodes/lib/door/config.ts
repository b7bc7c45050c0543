/**
 * A door's settings as the editor stores them (intercom-door), checked and turned into the
 * opener's and the camera's options once, at deploy. Empty means the default; anything
 * else must be valid, or an IntercomError names the field (its label in the door's dialog)
 * and the door refuses to open until it is fixed. Nothing is clamped or quietly replaced.
 */
import { errorText, IntercomError } from '../core/errors';
import { choiceSetting, jsonObjectSetting, numberSetting } from '../core/settings';
import type { AuthMode } from '../http/client';
import type { SnapshotSource, SnapshotterOptions } from '../camera/snapshotter';
import type { DoorAction } from './action';
import type { Confirmation } from './confirm';
import { checkBrokerUrl, type BrokerAddress } from './mqtt-clients';
import type { OpenerOptions } from './opener';
import { findPreset } from './presets';

export interface DoorDef {
  id: string;
  name?: string;
  doorId?: string;
  panel?: string;
  openKind?: string;
  preset?: string;
  host?: string;
  relay?: string | number;
  pulse?: string | number;
  userId?: string;
  method?: string;
  url?: string;
  headers?: string;
  body?: string;
  auth?: string;
  idempotent?: boolean;
  successMatch?: string;
  /** how an MQTT door reaches its broker: a config node ("broker", "ha") or its own URL ("url", doors saved before) */
  mqttVia?: string;
  /** id of a Node-RED mqtt-broker config node */
  mqttBroker?: string;
  /** id of an intercom-home-assistant config node */
  mqttHa?: string;
  /** the broker URL of a door saved before it named a broker config node */
  broker?: string;
  topic?: string;
  mqttPayload?: string;
  qos?: string | number;
  retain?: boolean;
  digits?: string;
  haService?: string;
  haEntity?: string;
  haServer?: string;
  insecureTls?: boolean;
  timeout?: string | number;
  retries?: string | number;
  minInterval?: string | number;
  confirm?: string;
  confirmUrl?: string;
  confirmMatch?: string;
  confirmTimeout?: string | number;
  camera?: string;
  snapshotUrl?: string;
  rtspUrl?: string;
  ffmpegPath?: string;
  snapshotTimeout?: string | number;
  snapshotCache?: string | number;
  snapshotWidth?: string | number;
}

export interface DoorCredentials {
  user?: string;
  password?: string;
  pin?: string;
  mqttUser?: string;
  mqttPassword?: string;
}

/** Where an MQTT door's connection comes from. */
export type MqttRoute = { via: 'broker'; node: string } | { via: 'ha'; node: string } | { via: 'url'; address: BrokerAddress };

export interface OpenConfig {
  /** the opener's options, but for what the node supplies (providers, the MQTT connection) */
  opener: Omit<OpenerOptions, 'dtmfSenders' | 'haCallers' | 'mqtt' | 'now' | 'sleep'>;
  mqtt?: MqttRoute;
}

const KINDS = ['preset', 'http', 'mqtt', 'dtmf', 'ha'] as const;
const AUTH: readonly AuthMode[] = ['none', 'basic', 'digest', 'auto'];
const CONFIRM = ['none', 'poll', 'event'] as const;
const CAMERA = ['none', 'http', 'rtsp'] as const;
const MQTT_VIA = ['broker', 'ha', 'url'] as const;

/** "Front door" → "front_door": the id topics, entities and the journal use. */
export function slug(s: string): string {
  return (
    s
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 48) || 'door'
  );
}

export function doorIdentity(def: DoorDef): { doorId: string; doorName: string; panel?: string } {
  return { doorName: def.name || def.doorId || 'Door', doorId: slug(def.doorId || def.name || def.id), panel: def.panel || undefined };
}

const text = (v: string | undefined): string => (v ?? '').trim();

function required(v: string | undefined, field: string): string {
  const s = text(v);
  if (!s) throw new IntercomError('door.required', { field });
  return s;
}

function pattern(v: string, field: string): string {
  try {
    new RegExp(v);
  } catch (err) {
    throw new IntercomError('door.pattern', { field, detail: errorText(err).slice(0, 80) });
  }
  return v;
}

function action(def: DoorDef): DoorAction {
  const kind = choiceSetting(def.openKind, 'openKind', KINDS, 'preset');
  switch (kind) {
    case 'preset':
      return {
        kind,
        preset: def.preset || '',
        baseUrl: text(def.host),
        relay: numberSetting(def.relay, { field: 'relay', default: 1, min: 1, max: 16, integer: true }),
        pulseSeconds: numberSetting(def.pulse, { field: 'pulseSeconds', default: 2, min: 1, max: 60 }),
        userId: def.userId || undefined,
      };
    case 'http':
      return {
        kind,
        method: (def.method || 'GET').toUpperCase(),
        url: text(def.url),
        headers: jsonObjectSetting(def.headers, 'headers'),
        body: def.body || undefined,
        auth: choiceSetting(def.auth, 'auth', AUTH, 'auto'),
        idempotent: def.idempotent === true,
        successMatch: def.successMatch ? pattern(def.successMatch, 'successMatch') : undefined,
      };
    case 'mqtt':
      return {
        kind,
        topic: text(def.topic),
        payload: def.mqttPayload ?? 'open',
        qos: numberSetting(def.qos, { field: 'qos', default: 1, min: 0, max: 2, integer: true }) as 0 | 1 | 2,
        retain: def.retain === true,
      };
    case 'dtmf':
      return { kind, digits: text(def.digits) };
    case 'ha':
      return { kind, service: text(def.haService) || 'lock.open', entityId: text(def.haEntity), server: def.haServer || undefined };
  }
}

function confirmation(def: DoorDef): Confirmation {
  const kind = choiceSetting(def.confirm, 'confirm', CONFIRM, 'none');
  if (kind === 'none') return { kind };
  const timeoutMs = numberSetting(def.confirmTimeout, { field: 'confirmTimeout', default: 5000, min: 100, max: 60000 });
  if (kind === 'event') return { kind, timeoutMs };
  const url = required(def.confirmUrl, 'confirmUrl');
  required(def.confirmMatch, 'confirmMatch');
  // a bad pattern fails at deploy, not at the door
  return { kind, url, match: pattern(def.confirmMatch as string, 'confirmMatch'), timeoutMs };
}

function mqttRoute(def: DoorDef, creds: DoorCredentials, qos: number | undefined): MqttRoute {
  // Doors saved before the choice existed carry only their URL: they keep it.
  const dflt = def.mqttBroker ? 'broker' : def.mqttHa ? 'ha' : 'url';
  const via = choiceSetting(def.mqttVia, 'mqttVia', MQTT_VIA, dflt);
  if (via === 'broker') return { via, node: required(def.mqttBroker, 'mqttBroker') };
  if (via === 'ha') {
    // The Home Assistant connection publishes with QoS 0 or 1 (lib/homeassistant/mqtt-link.ts).
    if (qos === 2) throw new IntercomError('door.mqttQosHa', { field: 'qos' });
    return { via, node: required(def.mqttHa, 'mqttHa') };
  }
  const url = required(def.broker, 'broker');
  checkBrokerUrl(url);
  return { via, address: { url, username: creds.mqttUser, password: creds.mqttPassword, insecureTls: def.insecureTls === true } };
}

/** How the door opens; throws an IntercomError naming the first bad field. */
export function openConfig(def: DoorDef, creds: DoorCredentials): OpenConfig {
  const { doorId, doorName } = doorIdentity(def);
  const act = action(def);
  return {
    opener: {
      doorId,
      doorName,
      action: act,
      credentials: { user: creds.user, password: creds.password, pin: creds.pin },
      insecureTls: def.insecureTls === true,
      timeoutMs: numberSetting(def.timeout, { field: 'timeout', default: 5000, min: 200, max: 60000 }),
      retries: numberSetting(def.retries, { field: 'retries', default: 2, min: 0, max: 5, integer: true }),
      minIntervalMs: numberSetting(def.minInterval, { field: 'minInterval', default: 1000, min: 0, max: 600000 }),
      confirm: confirmation(def),
    },
    mqtt: act.kind === 'mqtt' ? mqttRoute(def, creds, act.qos) : undefined,
  };
}

function cameraSource(def: DoorDef, kind: 'http' | 'rtsp'): SnapshotSource {
  if (kind === 'rtsp') return { kind, url: required(def.rtspUrl, 'rtspUrl'), ffmpeg: text(def.ffmpegPath) || undefined };
  let url = text(def.snapshotUrl);
  // Empty URL: the preset's own snapshot path on the same host.
  if (!url && (def.openKind || 'preset') === 'preset') {
    const p = findPreset(def.preset || '');
    if (p?.snapshot && text(def.host)) url = text(def.host).replace(/\/+$/, '') + p.snapshot;
  }
  if (!url) throw new IntercomError('door.required', { field: 'snapshotUrl' });
  return { kind, url };
}

/** How the door is seen: undefined without a camera; throws an IntercomError naming the first bad field. */
export function cameraConfig(def: DoorDef, creds: DoorCredentials): SnapshotterOptions | undefined {
  const kind = choiceSetting(def.camera, 'camera', CAMERA, 'none');
  if (kind === 'none') return undefined;
  return {
    source: cameraSource(def, kind),
    credentials: creds.user ? { user: creds.user, password: creds.password ?? '' } : undefined,
    insecureTls: def.insecureTls === true,
    timeoutMs: numberSetting(def.snapshotTimeout, { field: 'snapshotTimeout', default: 5000, min: 500, max: 60000 }),
    cacheMs: numberSetting(def.snapshotCache, { field: 'snapshotCache', default: 3000, min: 0, max: 60000 }),
    width: numberSetting(def.snapshotWidth, { field: 'snapshotWidth', default: 0, min: 0, max: 4096, integer: true }) || undefined,
  };
}
