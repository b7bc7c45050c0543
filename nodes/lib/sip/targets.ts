/**
 * Where a dial target goes: a full sip:/sips: URI, `IP[:port]` (P2P, straight to a panel),
 * or a user or number, which lives at its registrar binding (registrar mode) or on the
 * account's server (client mode). Requests for a URI go to the server when there is one
 * (it is the outbound proxy, RFC 3261 §8.1.2), else to the URI's host.
 */
import { IntercomError } from '../core/errors';
import { parseUri } from './message';
import type { Protocol, Remote } from './transport';

export interface DialTarget {
  uri: string;
  remote: Remote;
  /** the address of record when `uri` is a registered Contact (To names the user, not the device) */
  to?: string;
}

export interface TargetContext {
  protocol: Protocol;
  /** the account's registrar/proxy (client mode) */
  server?: Remote;
  /** the domain numbers are dialled in (default: the server's address) */
  domain?: string;
  /** a plain user's registered binding (registrar mode) */
  locate?: (user: string) => DialTarget | undefined;
  /** registrar mode: whether a user is one of its panels (registered or not) */
  knows?: (user: string) => boolean;
}

export function resolveTarget(target: string, ctx: TargetContext): DialTarget {
  const t = target.trim();
  if (/^sips?:/i.test(t)) {
    const u = parseUri(t);
    if (!u) throw new IntercomError('sip.notSipUri', { target: t.slice(0, 80) });
    return { uri: u.toString(), remote: ctx.server ?? { address: u.host, port: u.port ?? 5060, protocol: ctx.protocol } };
  }
  const ipPort = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(t);
  if (ipPort) {
    const port = ipPort[2] ? Number(ipPort[2]) : 5060;
    return { uri: `sip:${ipPort[1]}${ipPort[2] ? ':' + port : ''}`, remote: { address: ipPort[1], port, protocol: ctx.protocol } };
  }
  if (!/^[A-Za-z0-9*#+._-]+$/.test(t)) throw new IntercomError('sip.cannotDial', { target: t.slice(0, 80) });
  const located = ctx.locate?.(t);
  if (located) return located;
  if (!ctx.server) {
    // A registrar has no server: its users are reached at their bindings only.
    if (ctx.knows?.(t)) throw new IntercomError('sip.panelNotRegistered', { target: t });
    if (ctx.knows) throw new IntercomError('sip.noSuchPanel', { target: t });
    throw new IntercomError('sip.noServerToDial', { target: t });
  }
  return { uri: `sip:${t}@${ctx.domain ?? ctx.server.address}`, remote: ctx.server };
}
