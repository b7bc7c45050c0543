/**
 * Vendor presets: how each panel or relay opens, as data. Paths and bodies follow the
 * vendors' published HTTP APIs (docs/doors.md lists them). Placeholders:
 * {relay} 1-based relay/door number, {relay0} 0-based, {pulse} seconds the relay stays on,
 * {userId} (Dahua), {user}; values are URL-encoded where they land in a URL.
 */

import { IntercomError } from '../core/errors';

export type PresetAuth =
  | 'none'
  | 'basic'
  /** digest only: a device that should speak digest but asks for Basic (a downgrade by
   *  whoever sits in between) is never sent the password in clear */
  | 'digest'
  | 'auto'
  /** BAS-IP: GET /api/v0/login?username=&password=<md5> gives a bearer token (~2 h) */
  | 'basip-token'
  /** Grandstream GDS: cmd=0 returns ChallengeCode/IDCode, authcode = md5(challenge:pin:password) */
  | 'gds-challenge';

/** How the device says yes in its answer body (beyond a 2xx status). */
export type SuccessCheck =
  | { kind: 'json'; path: string; equals: string | number | boolean }
  | { kind: 'xml'; tag: string; equals: string; optional?: boolean }
  | { kind: 'text'; match: string };

export interface RequestTemplate {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: string;
  contentType?: string;
}

export interface Preset {
  id: string;
  label: string;
  open: RequestTemplate;
  auth: PresetAuth;
  /** repeating the request leaves the door in the same state (sets "on", not "toggle") */
  idempotent: boolean;
  success?: SuccessCheck;
  /** snapshot path on the same host, when the device has a camera */
  snapshot?: string;
}

export const PRESETS: readonly Preset[] = [
  {
    id: '2n',
    label: '2N IP (switch trigger)',
    // 2N IP Intercoms HTTP API, /api/switch/ctrl: action=trigger runs the switch's
    // configured pulse; the answer is {"success": true}.
    open: { method: 'GET', path: '/api/switch/ctrl?switch={relay}&action=trigger' },
    auth: 'auto',
    idempotent: false,
    success: { kind: 'json', path: 'success', equals: true },
    snapshot: '/api/camera/snapshot?width=640&height=480',
  },
  {
    id: 'bas-ip',
    label: 'BAS-IP (token, lock open)',
    open: { method: 'GET', path: '/api/v0/access/general/lock/open/remote/accepted/{relay}' },
    auth: 'basip-token',
    idempotent: false,
  },
  {
    id: 'hikvision',
    label: 'Hikvision ISAPI door',
    // ISAPI AccessControl RemoteControl: PUT, answer <ResponseStatus> with statusCode 1 (OK).
    open: {
      method: 'PUT',
      path: '/ISAPI/AccessControl/RemoteControl/door/{relay}',
      body: '<RemoteControlDoor><cmd>open</cmd></RemoteControlDoor>',
      contentType: 'application/xml',
    },
    auth: 'digest',
    idempotent: true,
    success: { kind: 'xml', tag: 'statusCode', equals: '1', optional: true },
    snapshot: '/ISAPI/Streaming/channels/101/picture',
  },
  {
    id: 'dahua',
    label: 'Dahua VTO accessControl',
    open: { method: 'GET', path: '/cgi-bin/accessControl.cgi?action=openDoor&channel={relay}&UserID={userId}&Type=Remote' },
    auth: 'digest',
    idempotent: false,
    success: { kind: 'text', match: '^\\s*OK\\s*$' },
    snapshot: '/cgi-bin/snapshot.cgi?channel=1',
  },
  {
    id: 'akuvox',
    label: 'Akuvox (fcgi OpenDoor)',
    open: { method: 'GET', path: '/fcgi/do?action=OpenDoor&UserName={user}&Password={password}&DoorNum={relay}' },
    auth: 'auto',
    idempotent: false,
  },
  {
    id: 'doorbird',
    label: 'DoorBird',
    // LAN API: open-door.cgi answers {"BHA":{"RETURNCODE":"1"}} on success.
    open: { method: 'GET', path: '/bha-api/open-door.cgi?r={relay}' },
    auth: 'basic',
    idempotent: false,
    success: { kind: 'json', path: 'BHA.RETURNCODE', equals: '1' },
    snapshot: '/bha-api/image.cgi',
  },
  {
    id: 'grandstream-gds',
    label: 'Grandstream GDS (challenge)',
    // GDS37xx HTTP API "HTTP API to open door": cmd=0 challenge, cmd=1 with authcode;
    // type=1 opens. ResCode 0 = OK (the device answers 200 either way).
    open: { method: 'GET', path: '/goform/apicmd?cmd=1&user={user}&authcode={authcode}&idcode={idcode}&type=1' },
    auth: 'gds-challenge',
    idempotent: false,
    success: { kind: 'xml', tag: 'ResCode', equals: '0' },
    snapshot: '/snapshot/view0.jpg',
  },
  {
    id: 'beward',
    label: 'Beward (intercom_cgi maindoor)',
    open: { method: 'GET', path: '/cgi-bin/intercom_cgi?action={bewardDoor}' },
    auth: 'basic',
    idempotent: false,
    success: { kind: 'text', match: 'OK' },
    snapshot: '/cgi-bin/images_cgi?channel=0',
  },
  {
    id: 'shelly-gen1',
    label: 'Shelly Gen1 relay',
    // Gen1 HTTP API /relay/{id}?turn=on&timer=N: on, then off after N seconds by itself.
    open: { method: 'GET', path: '/relay/{relay0}?turn=on&timer={pulse}' },
    auth: 'basic',
    idempotent: true,
    success: { kind: 'json', path: 'ison', equals: true },
  },
  {
    id: 'shelly-gen2',
    label: 'Shelly Gen2+/Plus/Pro (RPC Switch.Set)',
    // Gen2 RPC over HTTP; auth is digest SHA-256 with user "admin" and realm = device id.
    open: {
      method: 'POST',
      path: '/rpc/Switch.Set',
      body: '{"id":{relay0},"on":true,"toggle_after":{pulse}}',
      contentType: 'application/json',
    },
    auth: 'digest',
    idempotent: true,
  },
];

export function findPreset(id: string): Preset | undefined {
  return PRESETS.find((p) => p.id === id);
}

export interface PresetParams {
  relay: number;
  pulseSeconds: number;
  userId?: string;
  user?: string;
  password?: string;
  [extra: string]: string | number | undefined;
}

/** Fill a preset's placeholders; in paths every value is URL-encoded. */
export function fillTemplate(template: string, params: Record<string, string | number | undefined>, encode: boolean): string {
  return template.replace(/\{([A-Za-z0-9]+)\}/g, (whole, key: string) => {
    const v = params[key];
    if (v === undefined) return whole;
    return encode ? encodeURIComponent(String(v)) : String(v);
  });
}

export function presetParams(p: PresetParams): Record<string, string | number | undefined> {
  return {
    ...p,
    relay0: p.relay - 1,
    pulse: p.pulseSeconds,
    userId: p.userId ?? '101',
    // Beward: relay 1 is the main door, relay 2 the alternative door.
    bewardDoor: p.relay === 2 ? 'altdoor' : 'maindoor',
  };
}

/** Does the answer body say yes? undefined when it does, else why not (a code, not thrown). */
export function checkSuccess(check: SuccessCheck | undefined, body: string): IntercomError | undefined {
  if (!check) return undefined;
  const snippet = body.slice(0, 120).replace(/\s+/g, ' ');
  if (check.kind === 'json') {
    let v: unknown;
    try {
      v = JSON.parse(body);
    } catch {
      return new IntercomError('door.answerNotJson', { snippet });
    }
    for (const k of check.path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    return v === check.equals ? undefined : new IntercomError('door.answered', { field: check.path, value: String(JSON.stringify(v)).slice(0, 60) });
  }
  if (check.kind === 'xml') {
    const m = new RegExp(`<${check.tag}>\\s*([^<]*?)\\s*</${check.tag}>`).exec(body);
    if (!m) return check.optional ? undefined : new IntercomError('door.answerNoTag', { tag: check.tag, snippet });
    // Vendors explain a refusal in RetMsg (Grandstream) or statusString (Hikvision).
    const why = /<(?:RetMsg|statusString|subStatusCode)>([^<]{1,80})</.exec(body)?.[1];
    if (m[1] === check.equals) return undefined;
    return why ? new IntercomError('door.answeredWhy', { field: check.tag, value: m[1], why }) : new IntercomError('door.answered', { field: check.tag, value: m[1] });
  }
  return new RegExp(check.match).test(body) ? undefined : new IntercomError('door.answeredText', { snippet });
}
