/**
 * A UDP send to an address literal without the trip through dns.lookup. Node's dgram send
 * resolves every destination, and for an IP literal that is a process.nextTick and an
 * async hop per packet: on a media relay (RTP and SRTP, a packet every 20 ms each way per
 * call) it cost about a third of a bare relay's CPU here. Media always goes to addresses
 * from SDP or ICE (literals); a host name still goes to dns.lookup.
 */
import * as dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** the last literal seen and its family: a call's packets all go to one address (isIP is a regex) */
let lastHost = '';
let lastFamily = 0;
function literalFamily(host: string): number {
  if (host === lastHost) return lastFamily;
  const f = isIP(host);
  if (f) {
    lastHost = host;
    lastFamily = f;
  }
  return f;
}

/** dgram's `lookup` option: literals answered at once, names by dns.lookup */
export function literalLookup(host: string, family: unknown, callback: LookupCallback): void {
  const f = literalFamily(host);
  if (f) callback(null, host, f);
  else dnsLookup(host, family as never, callback as never);
}

export function createMediaSocket(type: 'udp4' | 'udp6'): dgram.Socket {
  return dgram.createSocket({ type, lookup: literalLookup as never });
}

/**
 * The same for a socket someone else made (werift's ICE sockets): dgram keeps its resolver
 * on the handle (`socket[state symbol].handle.lookup(address, callback)`, Node 20 and 22).
 * Where that shape is not found nothing changes. true when the socket was changed.
 */
export function literalLookupOn(socket: dgram.Socket): boolean {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const state = sym ? (socket as unknown as Record<symbol, { handle?: { lookup?: unknown } } | undefined>)[sym] : undefined;
  const handle = state?.handle;
  if (!handle || typeof handle.lookup !== 'function') return false;
  const resolve = handle.lookup as (address: string, cb: (err: Error | null, ip?: string) => void) => void;
  if ((resolve as { literal?: boolean }).literal) return true;
  const fast = (address: string, cb: (err: Error | null, ip?: string) => void): void => {
    if (address && literalFamily(address)) cb(null, address);
    else resolve.call(handle, address, cb);
  };
  (fast as { literal?: boolean }).literal = true;
  handle.lookup = fast;
  return true;
}
