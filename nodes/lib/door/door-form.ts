/**
 * The intercom-door dialog as rules (core/fields.ts): what each field may hold, for
 * config.ts at deploy and for the editor. Rows the chosen way of opening, broker choice,
 * confirmation or camera hide are not checked. OPEN_FIELDS decide whether the door can
 * open at all, CAMERA_FIELDS only whether it can take a picture.
 */
import { IntercomError } from '../core/errors';
import { anything, choice, isEmpty, jsonObject, matching, number, pattern, required, textOf, when, type Check, type Form, type Values } from '../core/fields';
import type { NumberRule } from '../core/settings';
import { url } from '../net/host';
import { findPreset, PRESETS } from './presets';

export const KINDS = ['preset', 'http', 'mqtt', 'dtmf', 'ha'] as const;
export const METHODS = ['GET', 'POST', 'PUT'] as const;
export const AUTH = ['auto', 'none', 'basic', 'digest'] as const;
export const CONFIRM = ['none', 'poll', 'event'] as const;
export const CAMERA = ['none', 'http', 'rtsp'] as const;
export const MQTT_VIA = ['broker', 'ha', 'url'] as const;
export const BROKER_SCHEMES = ['mqtt', 'mqtts', 'ws', 'wss', 'tcp'] as const;

type Rule = Omit<NumberRule, 'field'>;
export const NUMBERS = {
  relay: { default: 1, min: 1, max: 16, integer: true },
  pulse: { default: 2, min: 1, max: 60 },
  qos: { default: 1, min: 0, max: 2, integer: true },
  timeout: { default: 5000, min: 200, max: 60000 },
  retries: { default: 2, min: 0, max: 5, integer: true },
  minInterval: { default: 1000, min: 0, max: 600000 },
  confirmTimeout: { default: 5000, min: 100, max: 60000 },
  snapshotTimeout: { default: 5000, min: 500, max: 60000 },
  snapshotCache: { default: 3000, min: 0, max: 60000 },
  snapshotWidth: { default: 0, min: 0, max: 4096, integer: true },
} satisfies Record<string, Rule>;

/** The id topics, entity ids and the journal use: lower case letters, digits, underscores. */
export const DOOR_ID = /^[a-z0-9_]{1,48}$/;
/** DTMF digits a door sends into the call. */
export const DTMF_DIGITS = /^[0-9*#A-D]{1,8}$/;
/** A Home Assistant service (`lock.open`) and entity id (`lock.front_door`): domain.object_id. */
export const HA_NAME = /^[a-z0-9_]+\.[a-z0-9_]+$/;

export const kindOf = (all: Values): string => textOf(all.openKind) || 'preset';
/** How an MQTT door reaches its broker; doors saved before the choice keep their own URL. */
export const viaOf = (all: Values): string => textOf(all.mqttVia) || (textOf(all.mqttBroker) ? 'broker' : textOf(all.mqttHa) ? 'ha' : 'url');
const cameraOf = (all: Values): string => textOf(all.camera) || 'none';
const confirmOf = (all: Values): string => textOf(all.confirm) || 'none';

const kind = (k: string) => (all: Values) => kindOf(all) === k;
const mqttVia = (v: string) => (all: Values) => kindOf(all) === 'mqtt' && viaOf(all) === v;

const httpUrl = url({ schemes: ['http', 'https'] });

/** An MQTT topic to publish to: set, no wildcards (MQTT 3.1.1 §4.7.1), no NUL. */
const mqttTopic: Check = (v, field) => {
  const t = typeof v === 'string' ? v : '';
  if (!t.trim() || /[#+]/.test(t) || t.includes('\u0000')) throw new IntercomError('setting.mqttTopic', { field, value: t.slice(0, 60) });
};

const qos: Check = (v, field, all) => {
  number(NUMBERS.qos)(v, field, all);
  // The Home Assistant connection publishes with QoS 0 or 1 (lib/homeassistant/mqtt-link.ts).
  if (viaOf(all) === 'ha' && textOf(v) === '2') throw new IntercomError('door.mqttQosHa', { field });
};

/** Empty is the preset's own snapshot path on the device's host, when the preset has one. */
const snapshotUrl: Check = (v, field, all) => {
  if (!isEmpty(v)) return httpUrl(v, field, all);
  const p = kindOf(all) === 'preset' ? findPreset(textOf(all.preset)) : undefined;
  if (!p?.snapshot || isEmpty(all.host)) throw new IntercomError('setting.required', { field });
};

export const OPEN_FIELDS = {
  name: anything,
  doorId: matching(DOOR_ID, 'setting.doorId'),
  panel: anything,
  openKind: choice(KINDS),
  preset: when(kind('preset'), required(choice(PRESETS.map((p) => p.id)))),
  host: when(kind('preset'), required(url({ schemes: ['http', 'https'], originOnly: true }))),
  relay: when(kind('preset'), number(NUMBERS.relay)),
  pulse: when(kind('preset'), number(NUMBERS.pulse)),
  userId: anything,
  method: when(kind('http'), matching(/^(GET|POST|PUT)$/i, 'setting.httpMethod')),
  idempotent: anything,
  url: when(kind('http'), required(url({ schemes: ['http', 'https'], templates: true }))),
  headers: when(kind('http'), jsonObject),
  body: anything,
  successMatch: when(kind('http'), pattern),
  auth: when(kind('http'), choice(AUTH)),
  mqttVia: when(kind('mqtt'), choice(MQTT_VIA)),
  mqttBroker: when(mqttVia('broker'), required()),
  mqttHa: when(mqttVia('ha'), required()),
  broker: when(mqttVia('url'), required(url({ schemes: BROKER_SCHEMES }))),
  topic: when(kind('mqtt'), mqttTopic),
  mqttPayload: anything,
  qos: when(kind('mqtt'), qos),
  retain: anything,
  digits: when(kind('dtmf'), required(matching(DTMF_DIGITS, 'setting.dtmfDigits'))),
  haService: when(kind('ha'), matching(HA_NAME, 'setting.haService')),
  haEntity: when(kind('ha'), matching(HA_NAME, 'setting.haEntity')),
  haServer: anything,
  insecureTls: anything,
  timeout: number(NUMBERS.timeout),
  retries: number(NUMBERS.retries),
  minInterval: number(NUMBERS.minInterval),
  confirm: choice(CONFIRM),
  confirmUrl: when((all) => confirmOf(all) === 'poll', required(httpUrl)),
  confirmMatch: when((all) => confirmOf(all) === 'poll', required(pattern)),
  confirmTimeout: when((all) => confirmOf(all) !== 'none', number(NUMBERS.confirmTimeout)),
} satisfies Record<string, Check>;

export const CAMERA_FIELDS = {
  camera: choice(CAMERA),
  snapshotUrl: when((all) => cameraOf(all) === 'http', snapshotUrl),
  rtspUrl: when((all) => cameraOf(all) === 'rtsp', required(url({ schemes: ['rtsp', 'rtsps'] }))),
  ffmpegPath: anything,
  snapshotTimeout: when((all) => cameraOf(all) !== 'none', number(NUMBERS.snapshotTimeout)),
  snapshotCache: when((all) => cameraOf(all) !== 'none', number(NUMBERS.snapshotCache)),
  snapshotWidth: when((all) => cameraOf(all) === 'rtsp', number(NUMBERS.snapshotWidth)),
} satisfies Record<string, Check>;

export const DOOR_FORM: Form = {
  fields: { ...OPEN_FIELDS, ...CAMERA_FIELDS },
  credentials: { user: anything, password: anything, pin: anything, mqttUser: anything, mqttPassword: anything },
};

/** The door's open settings alone, and its camera's alone: a camera problem does not stop the door. */
export const OPEN_FORM: Form = { fields: OPEN_FIELDS };
export const CAMERA_FORM: Form = { fields: CAMERA_FIELDS };
