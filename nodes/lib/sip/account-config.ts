/**
 * The account settings as the editor stores them, checked and turned into an AccountConfig
 * once by the one settings policy (core/settings.ts): empty is the default, anything else
 * valid or an error naming the field by its label (label.<field> of intercom-sip-account).
 */
import { IntercomError } from '../core/errors';
import { choiceSetting, numberSetting, secondsSetting } from '../core/settings';
import type { AccountConfig } from './account';
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
  /** seconds between checks of the registrar (client mode, 0 = off) */
  keepalive?: string | number;
  failover?: string;
  allowedSources?: string;
  registrarUsers?: string;
  ringTimeout?: string | number;
  noAnswerTimeout?: string | number;
  dtmfSend?: string;
  /** seconds without RTP before an answered call is hung up (0 = never) */
  rtpTimeout?: string | number;
  /** the UDP port range for RTP (empty = 16384-32766), e.g. what a container publishes */
  rtpPortMin?: string | number;
  rtpPortMax?: string | number;
  trace?: boolean;
  publicAddress?: string;
  /** inbound calls at once before 503 (default 16) */
  maxCalls?: string | number;
  /** inbound calls at once from one source address:port (default 4) */
  sourceCalls?: string | number;
  /** new inbound calls a minute from one source address:port (default 60) */
  sourceRate?: string | number;
  /** request-URI users answered, comma or space separated; empty = any */
  acceptUsers?: string;
}

const MODES: readonly EndpointMode[] = ['client', 'registrar', 'p2p', 'listen'];
const PROTOCOLS: readonly Protocol[] = ['udp', 'tcp'];
const DTMF_SEND = ['rfc4733', 'info'] as const;

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

/** RFC 3261 §25.1 user: unreserved, escaped and user-unreserved characters. */
const SIP_USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;

/** The request-URI users an account answers: "door, 1 100" → ['door', '1', '100']. */
export function acceptUsers(text: string | undefined): string[] {
  const users = (text ?? '').split(/[\s,]+/).filter(Boolean);
  for (const u of users) if (!SIP_USER.test(u)) throw new IntercomError('sip.badAcceptUser', { user: u.slice(0, 64) });
  return users;
}

/**
 * The RTP port range: each call takes an even port for RTP and the odd one above for RTCP
 * (RFC 3550 §11), so the range must hold at least one such pair, above the privileged ports.
 */
export function rtpPortRange(def: Pick<AccountDef, 'rtpPortMin' | 'rtpPortMax'>): { rtpPortMin: number; rtpPortMax: number } {
  const rtpPortMin = numberSetting(def.rtpPortMin, { field: 'rtpPortMin', default: 16384, min: 1024, max: 65534, integer: true });
  const rtpPortMax = numberSetting(def.rtpPortMax, { field: 'rtpPortMax', default: 32766, min: 1025, max: 65535, integer: true });
  const firstEven = rtpPortMin + (rtpPortMin % 2);
  if (firstEven + 1 > rtpPortMax) throw new IntercomError('sip.rtpPortRange', { field: 'rtpPortMax', min: rtpPortMin, max: rtpPortMax });
  return { rtpPortMin, rtpPortMax };
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
    // Only client mode sends a password (REGISTER, and INVITE through the PBX).
    password: mode === 'client' ? creds.password || undefined : undefined,
    displayName: def.displayName?.trim() || undefined,
    expires: numberSetting(def.expires, { field: 'expires', default: 600, min: 30, max: 86400, integer: true }),
    keepaliveMs: secondsSetting(def.keepalive, { field: 'keepalive', default: 1, min: 0, max: 3600, integer: true }),
    allowedSources: def.allowedSources ?? '',
    registrarAccounts: mode === 'registrar' ? registrarAccounts(def.registrarUsers ?? '', creds.registrarPasswords ?? '') : undefined,
    ringTimeoutMs: secondsSetting(def.ringTimeout, { field: 'ringTimeout', default: 120, min: 0, max: 3600 }),
    noAnswerTimeoutMs: secondsSetting(def.noAnswerTimeout, { field: 'noAnswerTimeout', default: 60, min: 1, max: 3600 }),
    dtmfSend: choiceSetting(def.dtmfSend, 'dtmfSend', DTMF_SEND, 'rfc4733'),
    rtpTimeoutMs: secondsSetting(def.rtpTimeout, { field: 'rtpTimeout', default: 30, min: 0, max: 3600 }),
    ...rtpPortRange(def),
    publicAddress: def.publicAddress?.trim() || undefined,
    maxInboundCalls: numberSetting(def.maxCalls, { field: 'maxCalls', default: 16, min: 1, max: 1000, integer: true }),
    perSourceCalls: numberSetting(def.sourceCalls, { field: 'sourceCalls', default: 4, min: 1, max: 1000, integer: true }),
    perSourceRate: numberSetting(def.sourceRate, { field: 'sourceRate', default: 60, min: 1, max: 60000, integer: true }),
    acceptUsers: acceptUsers(def.acceptUsers),
  };
}

