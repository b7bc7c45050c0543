/**
 * Which of our addresses to advertise in Via, Contact and SDP when the account listens on
 * every interface. A panel must reach that address with SIP and RTP, so "the first LAN
 * address" is not enough on hosts with container or VPN bridges (a Home Assistant OS box
 * has hassio and docker bridges next to its LAN): ask the kernel which source address it
 * would use towards the peer we know of, and only without one fall back to a heuristic.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as os from 'node:os';

/** Interfaces that are bridges to containers or tunnels, not the LAN panels live on. */
const VIRTUAL = /^(docker|br-|veth|hassio|virbr|cni|flannel|cali|tun|tap|wg|zt|tailscale|vmnet|vboxnet|lxc|lxd)/i;

type Interfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

/** First non-internal IPv4 address, preferring physical LAN interfaces; loopback if none. */
export function primaryAddress(interfaces: Interfaces = os.networkInterfaces()): string {
  let fallback: string | undefined;
  for (const [name, list] of Object.entries(interfaces)) {
    for (const a of list ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      if (!VIRTUAL.test(name)) return a.address;
      fallback ??= a.address;
    }
  }
  return fallback ?? '127.0.0.1';
}

/**
 * The source address the kernel picks for datagrams to `target`. A connected UDP socket
 * only looks the route up; no packet is sent. Undefined when there is no route.
 */
export function routeSourceAddress(target: string): Promise<string | undefined> {
  if (!net.isIP(target)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(target) ? 'udp6' : 'udp4');
    let settled = false;
    const done = (address?: string): void => {
      if (settled) return;
      settled = true;
      try {
        s.close();
      } catch {
        /* already closed */
      }
      resolve(address);
    };
    s.on('error', () => done(undefined));
    s.connect(9, target, () => {
      try {
        done(s.address().address);
      } catch {
        done(undefined);
      }
    });
  });
}

/** The first single host of an allowed-sources list ("192.168.1.20, 10.0.0.0/8" → 192.168.1.20). */
export function firstHost(allowedSources: string): string | undefined {
  for (const token of allowedSources.split(/[\s,;]+/)) {
    const [addr, bits] = token.split('/');
    if (!net.isIP(addr)) continue;
    if (bits === undefined || bits === (net.isIPv6(addr) ? '128' : '32')) return addr;
  }
  return undefined;
}

export interface AdvertiseInput {
  bindAddress: string;
  publicAddress?: string;
  /** the registrar/PBX in client mode, else undefined */
  server?: string;
  allowedSources?: string;
}

/** Public address if set; the bound address if it is one; else the route towards a known peer. */
export async function advertisedAddress(c: AdvertiseInput, interfaces?: Interfaces): Promise<string> {
  if (c.publicAddress) return c.publicAddress;
  if (c.bindAddress !== '0.0.0.0' && c.bindAddress !== '::') return c.bindAddress;
  const peer = c.server ?? firstHost(c.allowedSources ?? '');
  const viaRoute = peer ? await routeSourceAddress(peer) : undefined;
  if (viaRoute && viaRoute !== '0.0.0.0' && viaRoute !== '::') return viaRoute;
  return primaryAddress(interfaces);
}
