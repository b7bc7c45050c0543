/**
 * Source-address conditions: an address or CIDR block (RFC 4632 §3.1 for IPv4,
 * RFC 4291 §2.3 for IPv6) that a call's signalling must come from. Addresses become
 * bigints once so that a match is a mask and a compare; IPv4-mapped IPv6 addresses
 * (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) match IPv4 blocks.
 */
import { isIP } from 'node:net';

export interface Cidr {
  v: 4 | 6;
  base: bigint;
  mask: bigint;
  bits: number;
  text: string;
}

function v4ToBig(a: string): bigint {
  return a.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6ToBig(a: string): bigint {
  let s = a;
  // An embedded IPv4 tail becomes two hex groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const n = v4ToBig(tail[1]);
    s = s.slice(0, tail.index) + ((n >> 16n) & 0xffffn).toString(16) + ':' + (n & 0xffffn).toString(16);
  }
  const [head, rest] = s.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const fill = rest !== undefined ? 8 - h.length - r.length : 0;
  const groups = [...h, ...Array<string>(fill).fill('0'), ...r];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

export interface ParsedAddress {
  v: 4 | 6;
  n: bigint;
}

/** An address, bracketed or not, with an optional %zone; null if it is not one. */
export function parseAddress(text: string): ParsedAddress | null {
  const s = text.trim().replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const kind = isIP(s);
  if (kind === 4) return { v: 4, n: v4ToBig(s) };
  if (kind === 6) {
    const n = v6ToBig(s);
    if (n >> 32n === 0xffffn) return { v: 4, n: n & 0xffffffffn };
    return { v: 6, n };
  }
  return null;
}

export function parseCidr(text: string): Cidr {
  const t = text.trim();
  const slash = t.lastIndexOf('/');
  const addrText = slash >= 0 ? t.slice(0, slash) : t;
  const addr = parseAddress(addrText);
  if (!addr) throw new Error(`not an IP address or CIDR block: "${t}"`);
  const width = addr.v === 4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const b = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b) || Number(b) > width) throw new Error(`bad prefix length in "${t}"`);
    bits = Number(b);
  }
  const all = (1n << BigInt(width)) - 1n;
  const mask = bits === 0 ? 0n : (all >> BigInt(width - bits)) << BigInt(width - bits);
  return { v: addr.v, base: addr.n & mask, mask, bits, text: t };
}

export function inCidr(addr: ParsedAddress, c: Cidr): boolean {
  return addr.v === c.v && (addr.n & c.mask) === c.base;
}

export function inAny(addr: ParsedAddress | null, list: readonly Cidr[]): boolean {
  if (!addr) return false;
  for (const c of list) if (inCidr(addr, c)) return true;
  return false;
}

/**
 * The host of a call's source as our SIP layer reports it: "ip", "ip:port",
 * "[v6]:port", or an object with `address`/`host` (and a port we ignore).
 */
export function sourceAddress(source: unknown): ParsedAddress | null {
  if (source && typeof source === 'object') {
    const o = source as Record<string, unknown>;
    const a = typeof o.address === 'string' ? o.address : typeof o.host === 'string' ? o.host : typeof o.ip === 'string' ? o.ip : undefined;
    return a ? parseAddress(a) : null;
  }
  if (typeof source !== 'string' || source.length > 100) return null;
  const s = source.trim();
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracket) return parseAddress(bracket[1]);
  const v4port = /^(\d+\.\d+\.\d+\.\d+)(?::\d+)?$/.exec(s);
  if (v4port) return parseAddress(v4port[1]);
  return parseAddress(s);
}
