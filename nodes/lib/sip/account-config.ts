/**
 * The account settings as the editor stores them, checked and turned into an AccountConfig
 * once by the one settings policy (core/settings.ts): empty is the default, anything else
 * valid or an error naming the field by its label (label.<field> of intercom-sip-account).
 */
import { IntercomError } from '../core/errors';
import { choiceSetting, numberSetting, secondsSetting } from '../core/settings';
import type { AccountConfig, WebSocketConfig } from './account';
import type { EndpointMode } from './endpoint';
import type { Protocol } from './transport';

export interface AccountDef {
  id: string;
  name?: string;
  mode?: string;
  transport?: string;
  bindAddress?: string;
  bindPort?: string | number;
  server?: string;
  domain?: string;
  user?: string;
  authUser?: string;
  displayName?: string;
  expires?: string | number;
  failover?: string;
  allowedSources?: string;
  registrarUsers?: string;
  ringTimeout?: string | number;
  noAnswerTimeout?: string | number;
  dtmfSend?: string;
  /** seconds without RTP before an answered call is hung up (0 = never) */
  rtpTimeout?: string | number;
  trace?: boolean;
  publicAddress?: string;
  /** SIP over WebSocket for browsers: '' (off), 'node-red' (Node-RED's server) or 'port' */
  wsOn?: string;
  wsPath?: string;
  wsPort?: string | number;
  /** browser origins allowed besides the page's own, comma separated */
  wsOrigins?: string;
}

const MODES: readonly EndpointMode[] = ['client', 'registrar', 'p2p', 'listen'];
const PROTOCOLS: readonly Protocol[] = ['udp', 'tcp'];
const DTMF_SEND = ['rfc4733', 'info'] as const;
const WS_ON = ['off', 'node-red', 'port'] as const;

/** The WebSocket transport's settings: off unless chosen; a path and origins that are URLs. */
export function webSocketConfig(def: AccountDef): WebSocketConfig | undefined {
  const on = choiceSetting(def.wsOn, 'wsOn', WS_ON, 'off');
  if (on === 'off') return undefined;
  const path = (def.wsPath ?? '').trim() || '/sip';
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(path)) throw new IntercomError('sip.badWsPath', { field: 'wsPath', value: path.slice(0, 80) });
  const origins = (def.wsOrigins ?? '').split(/[\s,]+/).filter(Boolean);
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
  return {
    on,
    path,
    port: on === 'port' ? numberSetting(def.wsPort, { field: 'wsPort', default: 5066, min: 0, max: 65535, integer: true }) : undefined,
    origins,
  };
}

/** "user [cidr,cidr]" per line + credentials "user:password, ..." → registrar accounts. */
export function registrarAccounts(users: string, passwords: string): Array<{ user: string; password: string; allowedSources?: string }> {
  const pw = new Map<string, string>();
  for (const part of passwords.split(/[,\n]/)) {
    const i = part.indexOf(':');
    if (i > 0) pw.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const out: Array<{ user: string; password: string; allowedSources?: string }> = [];
  for (const line of users.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [user, ...rest] = line.split(/\s+/);
    const password = pw.get(user);
    if (!password) throw new IntercomError('sip.registrarNoPassword', { user: user.slice(0, 64) });
    out.push({ user, password, allowedSources: rest.join(',') });
  }
  return out;
}

export function accountConfig(def: AccountDef, creds: { password?: string; registrarPasswords?: string }): AccountConfig {
  const mode = choiceSetting(def.mode, 'mode', MODES, 'p2p');
  const protocol = choiceSetting(def.transport, 'transport', PROTOCOLS, 'udp');
  return {
    name: def.name || def.user || def.id,
    mode,
    protocol,
    bindAddress: (def.bindAddress ?? '').trim() || '0.0.0.0',
    bindPort: numberSetting(def.bindPort, { field: 'bindPort', default: 5060, min: 0, max: 65535, integer: true }),
    server: def.server?.trim() || undefined,
    domain: def.domain?.trim() || undefined,
    user: (def.user ?? '').trim() || 'door',
    authUser: def.authUser?.trim() || undefined,
    password: creds.password || undefined,
    displayName: def.displayName?.trim() || undefined,
    expires: numberSetting(def.expires, { field: 'expires', default: 600, min: 30, max: 86400, integer: true }),
    allowedSources: def.allowedSources ?? '',
    registrarAccounts: mode === 'registrar' ? registrarAccounts(def.registrarUsers ?? '', creds.registrarPasswords ?? '') : undefined,
    ringTimeoutMs: secondsSetting(def.ringTimeout, { field: 'ringTimeout', default: 120, min: 0, max: 3600 }),
    noAnswerTimeoutMs: secondsSetting(def.noAnswerTimeout, { field: 'noAnswerTimeout', default: 60, min: 1, max: 3600 }),
    dtmfSend: choiceSetting(def.dtmfSend, 'dtmfSend', DTMF_SEND, 'rfc4733'),
    rtpTimeoutMs: secondsSetting(def.rtpTimeout, { field: 'rtpTimeout', default: 30, min: 0, max: 3600 }),
    publicAddress: def.publicAddress?.trim() || undefined,
    websocket: webSocketConfig(def),
  };
}

