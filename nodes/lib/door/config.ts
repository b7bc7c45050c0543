/**
 * A door's settings as the editor stores them (intercom-door), checked by the dialog's
 * rules (door-form.ts, the same the editor flags fields with) and turned into the opener's
 * and the camera's options once, at deploy. Empty means the default; anything else must be
 * valid, or an IntercomError names the field (its label in the door's dialog) and the door
 * refuses to open until it is fixed. Nothing is clamped or quietly replaced.
 */
import { checkForm, type Values } from '../core/fields';
import { choiceSetting, jsonObjectSetting, numberSetting } from '../core/settings';
import type { SnapshotSource, SnapshotterOptions } from '../camera/snapshotter';
import type { DoorAction } from './action';
import type { Confirmation } from './confirm';
import { AUTH, CAMERA, CAMERA_FORM, CONFIRM, KINDS, METHODS, MQTT_VIA, NUMBERS, OPEN_FORM, viaOf } from './door-form';
import type { BrokerAddress } from './mqtt-clients';
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

const text = (v: string | undefined): string => (v ?? '').trim();

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

/** The door's id as typed (door-form.ts checks it), else made from its name or node id. */
export function doorIdentity(def: DoorDef): { doorId: string; doorName: string; panel?: string } {
  const typed = text(def.doorId);
  return { doorName: def.name || typed || 'Door', doorId: typed || slug(def.name || def.id), panel: def.panel || undefined };
}

const values = (def: DoorDef, creds: DoorCredentials = {}): Values => ({ ...def, ...creds }) as unknown as Values;

/** The action, from settings OPEN_FORM has checked. */
function action(def: DoorDef): DoorAction {
  const kind = choiceSetting(def.openKind, 'openKind', KINDS, 'preset');
  switch (kind) {
    case 'preset':
      return {
        kind,
        preset: text(def.preset),
        baseUrl: text(def.host),
        relay: numberSetting(def.relay, { field: 'relay', ...NUMBERS.relay }),
        pulseSeconds: numberSetting(def.pulse, { field: 'pulse', ...NUMBERS.pulse }),
        userId: def.userId || undefined,
      };
    case 'http':
      return {
        kind,
        method: choiceSetting(text(def.method).toUpperCase(), 'method', METHODS, 'GET'),
        url: text(def.url),
        headers: jsonObjectSetting(def.headers, 'headers'),
        body: def.body || undefined,
        auth: choiceSetting(def.auth, 'auth', AUTH, 'auto'),
        idempotent: def.idempotent === true,
        successMatch: def.successMatch || undefined,
      };
    case 'mqtt':
      return {
        kind,
        topic: def.topic ?? '',
        payload: def.mqttPayload ?? 'open',
        qos: numberSetting(def.qos, { field: 'qos', ...NUMBERS.qos }) as 0 | 1 | 2,
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
  const timeoutMs = numberSetting(def.confirmTimeout, { field: 'confirmTimeout', ...NUMBERS.confirmTimeout });
  if (kind === 'event') return { kind, timeoutMs };
  return { kind, url: text(def.confirmUrl), match: def.confirmMatch as string, timeoutMs };
}

function mqttRoute(def: DoorDef, creds: DoorCredentials): MqttRoute {
  const via = choiceSetting(viaOf(values(def)), 'mqttVia', MQTT_VIA, 'url');
  if (via === 'broker') return { via, node: text(def.mqttBroker) };
  if (via === 'ha') return { via, node: text(def.mqttHa) };
  return { via, address: { url: text(def.broker), username: creds.mqttUser, password: creds.mqttPassword, insecureTls: def.insecureTls === true } };
}

/** How the door opens; throws an IntercomError naming the first bad field. */
export function openConfig(def: DoorDef, creds: DoorCredentials): OpenConfig {
  checkForm(OPEN_FORM, values(def, creds));
  const { doorId, doorName } = doorIdentity(def);
  const act = action(def);
  return {
    opener: {
      doorId,
      doorName,
      action: act,
      credentials: { user: creds.user, password: creds.password, pin: creds.pin },
      insecureTls: def.insecureTls === true,
      timeoutMs: numberSetting(def.timeout, { field: 'timeout', ...NUMBERS.timeout }),
      retries: numberSetting(def.retries, { field: 'retries', ...NUMBERS.retries }),
      minIntervalMs: numberSetting(def.minInterval, { field: 'minInterval', ...NUMBERS.minInterval }),
      confirm: confirmation(def),
    },
    mqtt: act.kind === 'mqtt' ? mqttRoute(def, creds) : undefined,
  };
}

function cameraSource(def: DoorDef, kind: 'http' | 'rtsp'): SnapshotSource {
  if (kind === 'rtsp') return { kind, url: text(def.rtspUrl), ffmpeg: text(def.ffmpegPath) || undefined };
  // Empty URL: the preset's own snapshot path on the same host (CAMERA_FORM made sure there is one).
  const preset = findPreset(def.preset || '');
  return { kind, url: text(def.snapshotUrl) || text(def.host).replace(/\/+$/, '') + (preset?.snapshot ?? '') };
}

/** How the door is seen: undefined without a camera; throws an IntercomError naming the first bad field. */
export function cameraConfig(def: DoorDef, creds: DoorCredentials): SnapshotterOptions | undefined {
  checkForm(CAMERA_FORM, values(def, creds));
  const kind = choiceSetting(def.camera, 'camera', CAMERA, 'none');
  if (kind === 'none') return undefined;
  return {
    source: cameraSource(def, kind),
    credentials: creds.user ? { user: creds.user, password: creds.password ?? '' } : undefined,
    insecureTls: def.insecureTls === true,
    timeoutMs: numberSetting(def.snapshotTimeout, { field: 'snapshotTimeout', ...NUMBERS.snapshotTimeout }),
    cacheMs: numberSetting(def.snapshotCache, { field: 'snapshotCache', ...NUMBERS.snapshotCache }),
    width: numberSetting(def.snapshotWidth, { field: 'snapshotWidth', ...NUMBERS.snapshotWidth }) || undefined,
  };
}
