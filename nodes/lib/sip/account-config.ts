/**
 * The account settings as the editor stores them, checked by the dialog's rules
 * (account-form.ts, the same the editor flags fields with) and turned into an
 * AccountConfig once: empty is the default, anything else valid or an error naming the
 * field by its label (label.<field> of intercom-sip-account).
 */
import { IntercomError } from '../core/errors';
import { checkForm } from '../core/fields';
import { choiceSetting, numberSetting, secondsSetting } from '../core/settings';
import type { AccountConfig, WebSocketConfig } from './account';
import { ACCOUNT_FORM, acceptUsers, DTMF_SEND, MODES, NUMBERS, readPanelPasswords, readPanels, rtpPortRange, TRANSPORTS, WS_ON, wsOrigins, wsPath } from './account-form';

export { acceptUsers, rtpPortRange } from './account-form';

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
  /** SIP over WebSocket for browsers: '' (off), 'node-red' (Node-RED's server) or 'port' */
  wsOn?: string;
  wsPath?: string;
  wsPort?: string | number;
  /** browser origins allowed besides the page's own, comma separated */
  wsOrigins?: string;
}

/** The WebSocket transport's settings: off unless chosen; a path and origins that are URLs. */
export function webSocketConfig(def: AccountDef): WebSocketConfig | undefined {
  const on = choiceSetting(def.wsOn, 'wsOn', WS_ON, 'off');
  if (on === 'off') return undefined;
  return {
    on,
    path: wsPath(def.wsPath),
    port: on === 'port' ? numberSetting(def.wsPort, { field: 'wsPort', ...NUMBERS.wsPort }) : undefined,
    origins: wsOrigins(def.wsOrigins),
  };
}

/** "user [cidr,cidr]" per line + credentials "user:password, ..." → registrar accounts. */
export function registrarAccounts(users: string, passwords: string): Array<{ user: string; password: string; allowedSources?: string }> {
  const pw = readPanelPasswords(passwords);
  return readPanels(users).map(({ user, sources }) => {
    const password = pw.get(user);
    if (!password) throw new IntercomError('sip.registrarNoPassword', { user: user.slice(0, 64) });
    return { user, password, allowedSources: sources };
  });
}

export function accountConfig(def: AccountDef, creds: { password?: string; registrarPasswords?: string }): AccountConfig {
  checkForm(ACCOUNT_FORM, def as unknown as Record<string, unknown>, creds);
  const mode = choiceSetting(def.mode, 'mode', MODES, 'p2p');
  const protocol = choiceSetting(def.transport, 'transport', TRANSPORTS, 'udp');
  const client = mode === 'client';
  return {
    name: def.name || def.user || def.id,
    mode,
    protocol,
    bindAddress: (def.bindAddress ?? '').trim() || '0.0.0.0',
    bindPort: numberSetting(def.bindPort, { field: 'bindPort', ...NUMBERS.bindPort }),
    // the rows the other modes hide are not used by them
    server: client ? def.server?.trim() || undefined : undefined,
    domain: def.domain?.trim() || undefined,
    user: (def.user ?? '').trim() || 'door',
    authUser: client ? def.authUser?.trim() || undefined : undefined,
    // Only client mode sends a password (REGISTER, and INVITE through the PBX).
    password: client ? creds.password || undefined : undefined,
    displayName: def.displayName?.trim() || undefined,
    expires: client ? numberSetting(def.expires, { field: 'expires', ...NUMBERS.expires }) : NUMBERS.expires.default,
    keepaliveMs: client ? secondsSetting(def.keepalive, { field: 'keepalive', ...NUMBERS.keepalive }) : 0,
    allowedSources: def.allowedSources ?? '',
    registrarAccounts: mode === 'registrar' ? registrarAccounts(def.registrarUsers ?? '', creds.registrarPasswords ?? '') : undefined,
    ringTimeoutMs: secondsSetting(def.ringTimeout, { field: 'ringTimeout', ...NUMBERS.ringTimeout }),
    noAnswerTimeoutMs: secondsSetting(def.noAnswerTimeout, { field: 'noAnswerTimeout', ...NUMBERS.noAnswerTimeout }),
    dtmfSend: choiceSetting(def.dtmfSend, 'dtmfSend', DTMF_SEND, 'rfc4733'),
    rtpTimeoutMs: secondsSetting(def.rtpTimeout, { field: 'rtpTimeout', ...NUMBERS.rtpTimeout }),
    ...rtpPortRange(def),
    publicAddress: def.publicAddress?.trim() || undefined,
    maxInboundCalls: numberSetting(def.maxCalls, { field: 'maxCalls', ...NUMBERS.maxCalls }),
    perSourceCalls: numberSetting(def.sourceCalls, { field: 'sourceCalls', ...NUMBERS.sourceCalls }),
    perSourceRate: numberSetting(def.sourceRate, { field: 'sourceRate', ...NUMBERS.sourceRate }),
    acceptUsers: acceptUsers(def.acceptUsers),
    websocket: webSocketConfig(def),
  };
}
