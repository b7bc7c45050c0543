/**
 * The intercom-sip-account dialog as rules (core/fields.ts): what each field may hold, for
 * account-config.ts at deploy and for the editor. Rows the mode hides are not checked.
 */
import { IntercomError } from '../core/errors';
import { anything, both, choice, isEmpty, matching, number, required, textOf, when, type Check, type Form, type Values } from '../core/fields';
import { numberSetting, type NumberRule } from '../core/settings';
import { cidrList, host, hostPort, ipAddress } from '../net/host';
import { parseCidrList } from '../net/cidr';

export const MODES = ['client', 'registrar', 'p2p', 'listen'] as const;
export const TRANSPORTS = ['udp', 'tcp'] as const;
export const DTMF_SEND = ['rfc4733', 'info'] as const;
export const WS_ON = ['off', 'node-red', 'port'] as const;

type Rule = Omit<NumberRule, 'field'>;
export const NUMBERS = {
  bindPort: { default: 5060, min: 0, max: 65535, integer: true },
  expires: { default: 600, min: 30, max: 86400, integer: true },
  ringTimeout: { default: 120, min: 0, max: 3600 },
  noAnswerTimeout: { default: 60, min: 1, max: 3600 },
  rtpTimeout: { default: 30, min: 0, max: 3600 },
  keepalive: { default: 1, min: 0, max: 3600, integer: true },
  maxCalls: { default: 16, min: 1, max: 1000, integer: true },
  sourceCalls: { default: 4, min: 1, max: 1000, integer: true },
  sourceRate: { default: 60, min: 1, max: 60000, integer: true },
  rtpPortMin: { default: 16384, min: 1024, max: 65534, integer: true },
  rtpPortMax: { default: 32766, min: 1025, max: 65535, integer: true },
  wsPort: { default: 5066, min: 0, max: 65535, integer: true },
} satisfies Record<string, Rule>;

const modeOf = (all: Values): string => textOf(all.mode) || 'p2p';
const client = (all: Values): boolean => modeOf(all) === 'client';
const registrar = (all: Values): boolean => modeOf(all) === 'registrar';

/**
 * The user part of a SIP URI (RFC 3261 §25.1 `user`: unreserved, escaped and
 * user-unreserved characters), which the account puts into From and Contact.
 */
export const SIP_USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;

/** A digest user name or a display name: printable, no quote (both go into quoted strings). */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const quotable = matching(/^[^"\\\u0000-\u001f\u007f]*$/, 'setting.quotable');

/** "user [CIDR ...]" per line: each user a SIP user, each source an address or block. */
export function readPanels(text: string): Array<{ user: string; sources: string }> {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [user, ...rest] = line.split(/\s+/);
      return { user, sources: rest.join(',') };
    });
}

/** "user:password" entries separated by commas or new lines. */
export function readPanelPasswords(text: string): Map<string, string> {
  const pw = new Map<string, string>();
  for (const part of text.split(/[,\n]/)) {
    const i = part.indexOf(':');
    if (i > 0) pw.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return pw;
}

/** The request-URI users an account answers: "door, 1 100" → ['door', '1', '100']; empty = any. */
export function acceptUsers(text: string | undefined): string[] {
  const users = (text ?? '').split(/[\s,]+/).filter(Boolean);
  for (const u of users) if (!SIP_USER.test(u)) throw new IntercomError('sip.badAcceptUser', { user: u.slice(0, 64) });
  return users;
}

/**
 * The RTP port range: each call takes an even port for RTP and the odd one above for RTCP
 * (RFC 3550 §11), so the range must hold at least one such pair, above the privileged ports.
 */
export function rtpPortRange(def: { rtpPortMin?: unknown; rtpPortMax?: unknown }): { rtpPortMin: number; rtpPortMax: number } {
  const rtpPortMin = numberSetting(def.rtpPortMin, { field: 'rtpPortMin', ...NUMBERS.rtpPortMin });
  const rtpPortMax = numberSetting(def.rtpPortMax, { field: 'rtpPortMax', ...NUMBERS.rtpPortMax });
  const firstEven = rtpPortMin + (rtpPortMin % 2);
  if (firstEven + 1 > rtpPortMax) throw new IntercomError('sip.rtpPortRange', { field: 'rtpPortMax', min: rtpPortMin, max: rtpPortMax });
  return { rtpPortMin, rtpPortMax };
}

/** The WebSocket's URL path ('/sip' when empty): an absolute path of URL characters. */
export function wsPath(v: unknown): string {
  const path = textOf(v) || '/sip';
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(path)) throw new IntercomError('sip.badWsPath', { field: 'wsPath', value: path.slice(0, 80) });
  return path;
}

/** Browser origins besides the page's own: `*` or http(s)://host[:port], comma or space separated. */
export function wsOrigins(v: unknown): string[] {
  const origins = textOf(v).split(/[\s,]+/).filter(Boolean);
  for (const o of origins) {
    if (o === '*') continue;
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && (u.pathname === '/' || u.pathname === '') && !u.search;
    } catch {
      ok = false;
    }
    if (!ok) throw new IntercomError('sip.badWsOrigin', { field: 'wsOrigins', value: o.slice(0, 80) });
  }
  return origins;
}

const wsOnOf = (all: Values): string => textOf(all.wsOn) || 'off';

const panels: Check = (v, field) => {
  for (const p of readPanels(textOf(v))) {
    if (!SIP_USER.test(p.user)) throw new IntercomError('setting.sipUser', { field, value: p.user.slice(0, 60) });
    const { invalid } = parseCidrList(p.sources);
    if (invalid.length) throw new IntercomError('sip.badPanelSources', { user: p.user.slice(0, 64), entries: invalid.join(', ').slice(0, 120) });
  }
};

/** Every panel needs its password; a stored one the editor does not see is not checked there. */
const panelPasswords: Check = (v, _field, all) => {
  const pw = readPanelPasswords(typeof v === 'string' ? v : '');
  for (const p of readPanels(textOf(all.registrarUsers))) {
    if (!pw.get(p.user)) throw new IntercomError('sip.registrarNoPassword', { user: p.user.slice(0, 64) });
  }
};

/** An account cannot fail over to itself. */
const failover: Check = (v, field, all) => {
  if (!isEmpty(v) && textOf(v) === textOf(all.id)) throw new IntercomError('setting.failoverSelf', { field });
};

export const ACCOUNT_FORM: Form = {
  fields: {
    name: anything,
    mode: choice(MODES),
    transport: choice(TRANSPORTS),
    bindAddress: ipAddress,
    bindPort: number(NUMBERS.bindPort),
    publicAddress: host,
    user: matching(SIP_USER, 'setting.sipUser'),
    displayName: quotable,
    server: when(client, required(hostPort)),
    domain: host,
    authUser: when(client, both(quotable, matching(/^\S*$/, 'setting.quotable'))),
    expires: when(client, number(NUMBERS.expires)),
    keepalive: when(client, number(NUMBERS.keepalive)),
    registrarUsers: when(registrar, panels),
    allowedSources: cidrList,
    failover,
    ringTimeout: number(NUMBERS.ringTimeout),
    noAnswerTimeout: number(NUMBERS.noAnswerTimeout),
    dtmfSend: choice(DTMF_SEND),
    rtpTimeout: number(NUMBERS.rtpTimeout),
    maxCalls: number(NUMBERS.maxCalls),
    sourceCalls: number(NUMBERS.sourceCalls),
    sourceRate: number(NUMBERS.sourceRate),
    acceptUsers: (v) => void acceptUsers(textOf(v)),
    rtpPortMin: number(NUMBERS.rtpPortMin),
    // the pair rule names the upper field, the one to change
    rtpPortMax: (_v, _field, all) => void rtpPortRange(all),
    trace: anything,
    wsOn: choice(WS_ON),
    wsPath: when((all) => wsOnOf(all) !== 'off', (v) => void wsPath(v)),
    wsPort: when((all) => wsOnOf(all) === 'port', number(NUMBERS.wsPort)),
    wsOrigins: when((all) => wsOnOf(all) !== 'off', (v) => void wsOrigins(v)),
  },
  credentials: {
    password: anything,
    registrarPasswords: when(registrar, panelPasswords),
  },
};
