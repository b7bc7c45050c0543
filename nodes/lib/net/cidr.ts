/**
 * Source admission by address or CIDR block (RFC 4632 §3.1 for IPv4, RFC 4291 §2.3 for
 * IPv6): the one copy for SIP's allowed sources and the whitelist's `from=` and trusted PBX.
 *
 * The match itself is node:net's BlockList, given an address parsed once into a
 * SocketAddress (a check with a string parses it again for every block, some 40 times
 * slower). What BlockList does not do is done here:
 * - the text forms a user or a socket gives: `[v6]`, `[v6]:port`, `v4:port`, zone ids
 *   (`fe80::1%eth0`, RFC 4007 §11, dropped: a block has none), `a/len` with a strict length;
 * - the families stay apart. BlockList checks an IPv4 address against IPv6 blocks as
 *   ::ffff:a.b.c.d, so `::/0` would admit every IPv4 caller; here an IPv6 block never
 *   matches an IPv4 address;
 * - an IPv4-mapped address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2, in any spelling) is the
 *   IPv4 address it maps, so a dual-stack socket's callers match IPv4 blocks (BlockList
 *   agrees there). A block written in mapped form is that IPv4 block, its length counted
 *   in IPv6 bits (`::ffff:10.0.0.0/104`) or, as both earlier copies read it, in IPv4 bits
 *   (`::ffff:10.0.0.0/8`); the two ranges (96-128, 0-32) cannot be confused.
 * Other embedded forms (NAT64 `64:ff9b::10.0.0.1`, RFC 6052 §2.2; the deprecated
 * `::10.0.0.1`) are IPv6 addresses: they match IPv6 blocks only, read with their IPv4 tail
 * as the last 32 bits.
 */
import { BlockList, isIP, SocketAddress } from 'node:net';
import { IntercomError } from '../core/errors';

export type Family = 4 | 6;

/** An address as the checks take it: its family once unmapped, and its canonical text. */
export interface IpAddress {
  readonly family: Family;
  /** lower case, compressed, no zone; a mapped address as dotted IPv4 */
  readonly address: string;
}

/** What SIP admission needs of a rule: its text for logs and a test of one address. */
export interface CidrRule {
  readonly text: string;
  test(address: string): boolean;
}

/** A parsed address or CIDR block. */
export interface Cidr extends CidrRule {
  readonly family: Family;
  /** the prefix length, 32 or 128 for a single address */
  readonly prefix: number;
  contains(address: IpAddress | null): boolean;
}

/** The parsed form BlockList checks against, kept out of the plain address object. */
const sockets = new WeakMap<IpAddress, SocketAddress>();

function socketOf(a: IpAddress): SocketAddress {
  let s = sockets.get(a);
  if (!s) {
    s = new SocketAddress({ address: a.address, family: a.family === 4 ? 'ipv4' : 'ipv6' });
    sockets.set(a, s);
  }
  return s;
}

function make(socket: SocketAddress): IpAddress {
  // libuv prints a mapped address, however it was written, as ::ffff:a.b.c.d.
  const mapped = socket.family === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(socket.address) : null;
  if (mapped) socket = new SocketAddress({ address: mapped[1], family: 'ipv4' });
  const a: IpAddress = Object.freeze({ family: socket.family === 'ipv4' ? 4 : 6, address: socket.address });
  sockets.set(a, socket);
  return a;
}

/** One address, bracketed or not, with an optional zone id on IPv6; null if it is none. */
export function parseAddress(text: unknown): IpAddress | null {
  if (typeof text !== 'string' || text.length > 100) return null;
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  // node's isIP takes a zone id on IPv6 (and nowhere else); SocketAddress drops it.
  const kind = isIP(s);
  if (kind === 0) return null;
  try {
    return make(new SocketAddress({ address: s, family: kind === 4 ? 'ipv4' : 'ipv6' }));
  } catch {
    return null;
  }
}

/**
 * The host of a source as the SIP layer reports it: "ip", "ip:port", "[v6]:port", or an
 * object with `address` / `host` / `ip` (its port is not looked at).
 */
export function sourceAddress(source: unknown): IpAddress | null {
  if (source && typeof source === 'object') {
    const o = source as Record<string, unknown>;
    const a = [o.address, o.host, o.ip].find((v) => typeof v === 'string');
    return parseAddress(a);
  }
  if (typeof source !== 'string' || source.length > 100) return null;
  const s = source.trim();
  // A bare IPv6 address has colons of its own: only the bracketed form carries a port.
  const host = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(s) ?? /^(\d+\.\d+\.\d+\.\d+)(?::\d{1,5})?$/.exec(s);
  return parseAddress(host ? host[1] : s);
}

class Block implements Cidr {
  private readonly list = new BlockList();
  constructor(
    readonly text: string,
    readonly family: Family,
    readonly prefix: number,
    base: IpAddress,
  ) {
    // BlockList masks the host bits of the base itself (10.1.2.3/8 is 10.0.0.0/8).
    this.list.addSubnet(socketOf(base), prefix);
  }
  contains(address: IpAddress | null): boolean {
    return !!address && address.family === this.family && this.list.check(socketOf(address));
  }
  test(address: string): boolean {
    return this.contains(sourceAddress(address));
  }
}

/** An address or block; throws `net.notAddress` or `net.badPrefix` with the text. */
export function parseCidr(text: string): Cidr {
  const t = String(text).trim();
  const slash = t.lastIndexOf('/');
  const base = parseAddress(slash >= 0 ? t.slice(0, slash) : t);
  if (!base) throw new IntercomError('net.notAddress', { value: t.slice(0, 60) });
  const width = base.family === 4 ? 32 : 128;
  let prefix = width;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    prefix = /^\d{1,3}$/.test(p) ? Number(p) : NaN;
    // An IPv4 base written with colons is mapped: its length may count IPv6 bits (/104 is /8).
    const mapped = base.family === 4 && t.slice(0, slash).includes(':');
    if (mapped && prefix >= 96 && prefix <= 128) prefix -= 96;
    if (!(prefix <= width)) throw new IntercomError('net.badPrefix', { value: t.slice(0, 60), max: width });
  }
  return new Block(t, base.family, prefix, base);
}

/** A list separated by commas, semicolons or white space: the blocks and the entries that are none. */
export function parseCidrList(text: string): { rules: Cidr[]; invalid: string[] } {
  const rules: Cidr[] = [];
  const invalid: string[] = [];
  for (const part of String(text ?? '').split(/[\s,;]+/).filter(Boolean)) {
    try {
      rules.push(parseCidr(part));
    } catch {
      invalid.push(part);
    }
  }
  return { rules, invalid };
}

export function inCidr(address: IpAddress | null, block: Cidr): boolean {
  return block.contains(address);
}

export function inAny(address: IpAddress | null, blocks: readonly Cidr[]): boolean {
  if (!address) return false;
  for (const b of blocks) if (b.contains(address)) return true;
  return false;
}

/** SIP admission: an empty list admits everyone, otherwise the address must be in a rule. */
export function admitted(rules: readonly CidrRule[], address: string): boolean {
  if (rules.length === 0) return true;
  const parsed = sourceAddress(address);
  // Our blocks take the address parsed once; any other rule object tests the text itself.
  return rules.some((r) => (r instanceof Block ? r.contains(parsed) : r.test(address)));
}
