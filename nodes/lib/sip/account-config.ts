/**
 * The account settings as the editor stores them, checked and turned into an AccountConfig
 * once, with a clear message for each bad value.
 */
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
}

const MODES: EndpointMode[] = ['client', 'registrar', 'p2p', 'listen'];

function num(v: unknown, fallback: number, min: number, max: number, what: string): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${what} must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
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
    if (!password) throw new Error(`registrar user "${user}" has no password (credentials: user:password)`);
    out.push({ user, password, allowedSources: rest.join(',') });
  }
  return out;
}

export function accountConfig(def: AccountDef, creds: { password?: string; registrarPasswords?: string }): AccountConfig {
  const mode = (def.mode ?? 'p2p') as EndpointMode;
  if (!MODES.includes(mode)) throw new Error(`unknown mode "${def.mode}"`);
  const protocol = (def.transport ?? 'udp') as Protocol;
  if (protocol !== 'udp' && protocol !== 'tcp') throw new Error(`unknown transport "${def.transport}"`);
  return {
    name: def.name || def.user || def.id,
    mode,
    protocol,
    bindAddress: (def.bindAddress ?? '').trim() || '0.0.0.0',
    bindPort: num(def.bindPort, 5060, 0, 65535, 'port'),
    server: def.server?.trim() || undefined,
    domain: def.domain?.trim() || undefined,
    user: (def.user ?? '').trim() || 'door',
    authUser: def.authUser?.trim() || undefined,
    password: creds.password || undefined,
    displayName: def.displayName?.trim() || undefined,
    expires: num(def.expires, 600, 30, 86400, 'expiry'),
    allowedSources: def.allowedSources ?? '',
    registrarAccounts: mode === 'registrar' ? registrarAccounts(def.registrarUsers ?? '', creds.registrarPasswords ?? '') : undefined,
    ringTimeoutMs: num(def.ringTimeout, 120, 0, 3600, 'ring timeout') * 1000,
    noAnswerTimeoutMs: num(def.noAnswerTimeout, 60, 1, 3600, 'no-answer timeout') * 1000,
    dtmfSend: def.dtmfSend === 'info' ? 'info' : 'rfc4733',
    rtpTimeoutMs: num(def.rtpTimeout, 30, 0, 3600, 'RTP timeout') * 1000,
    publicAddress: def.publicAddress?.trim() || undefined,
  };
}

