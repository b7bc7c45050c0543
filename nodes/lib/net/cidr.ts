/**
 * Source admission by address or CIDR block (RFC 4632 §3.1 for IPv4, RFC 4291 §2.3 for
 * IPv6): the one copy for SIP's allowed sources and the whitelist's `from=` and trusted PBX.
 *
 * Plain TypeScript without a Node.js module, so the editor's dialogs check an address
 * with the very rule the runtime uses (the package's browser script bundles this file).
 * The syntax of an address is node:net's own (isIP's expressions, copied below), its
 * canonical text the one libuv's inet_ntop prints, and a block is a masked comparison of
 * the address's 16-bit words, the address parsed once (test/unit/net-cidr.test.ts holds
 * all three against node:net's isIP, SocketAddress and BlockList on random addresses).
 * What a plain BlockList would not do is done here:
 * - the text forms a user or a socket gives: `[v6]`, `[v6]:port`, `v4:port`, zone ids
 *   (`fe80::1%eth0`, RFC 4007 §11, dropped: a block has none), `a/len` with a strict length;
 * - the families stay apart. BlockList checks an IPv4 address against IPv6 blocks as
 *   ::ffff:a.b.c.d, so `::/0` would admit every IPv4 caller; here an IPv6 block never
 *   matches an IPv4 address;
 * - an IPv4-mapped address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2, in any spelling) is the
 *   IPv4 address it maps, so a dual-stack socket's callers match IPv4 blocks. A block
 *   written in mapped form is that IPv4 block, its length counted in IPv6 bits
 *   (`::ffff:10.0.0.0/104`) or, as both earlier copies read it, in IPv4 bits
 *   (`::ffff:10.0.0.0/8`); the two ranges (96-128, 0-32) cannot be confused.
 * Other embedded forms (NAT64 `64:ff9b::10.0.0.1`, RFC 6052 §2.2; the deprecated
 * `::10.0.0.1`) are IPv6 addresses: they match IPv6 blocks only, read with their IPv4 tail
 * as the last 32 bits.
 */
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

// node:net's isIPv4 / isIPv6 (lib/internal/net.js), so an address is what Node.js takes.
const V4_SEG = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const V4_STR = `(?:${V4_SEG}\\.){3}${V4_SEG}`;
const V6_SEG = '(?:[0-9a-fA-F]{1,4})';
const IPV4 = new RegExp(`^${V4_STR}$`);
const IPV6 = new RegExp(
  '^(?:' +
    `(?:${V6_SEG}:){7}(?:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){6}(?:${V4_STR}|:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){5}(?::${V4_STR}|(?::${V6_SEG}){1,2}|:)|` +
    `(?:${V6_SEG}:){4}(?:(?::${V6_SEG}){0,1}:${V4_STR}|(?::${V6_SEG}){1,3}|:)|` +
    `(?:${V6_SEG}:){3}(?:(?::${V6_SEG}){0,2}:${V4_STR}|(?::${V6_SEG}){1,4}|:)|` +
    `(?:${V6_SEG}:){2}(?:(?::${V6_SEG}){0,3}:${V4_STR}|(?::${V6_SEG}){1,5}|:)|` +
    `(?:${V6_SEG}:){1}(?:(?::${V6_SEG}){0,4}:${V4_STR}|(?::${V6_SEG}){1,6}|:)|` +
    `(?::(?:(?::${V6_SEG}){0,5}:${V4_STR}|(?::${V6_SEG}){1,7}|:))` +
    ')(?:%[0-9a-zA-Z-.:]{1,})?$',
);

/** 4 for an IPv4 address, 6 for IPv6 (a zone id allowed), 0 for anything else: node:net's isIP. */
export function ipVersion(text: string): 0 | 4 | 6 {
  return IPV4.test(text) ? 4 : IPV6.test(text) ? 6 : 0;
}

/** The words of an address: 2 (IPv4) or 8 (IPv6) 16-bit values, parsed once and kept with it. */
const wordsOf = new WeakMap<IpAddress, readonly number[]>();

function v4Words(text: string): number[] {
  const b = text.split('.').map(Number);
  return [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
}

/** The 8 words of an IPv6 text isIPv6 accepted (zone id already cut off). */
function v6Words(text: string): number[] {
  const part = (s: string): number[] => {
    if (!s) return [];
    const groups = s.split(':');
    const last = groups[groups.length - 1];
    const tail = last.includes('.') ? v4Words(last) : [];
    if (tail.length) groups.pop();
    return [...groups.map((g) => parseInt(g, 16)), ...tail];
  };
  const gap = text.indexOf('::');
  if (gap < 0) return part(text);
  const head = part(text.slice(0, gap));
  const tail = part(text.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** libuv's inet_ntop6: the longest run of two or more zero words as '::' (the first of equals), an IPv4 tail for ::a.b.c.d and ::ffff:a.b.c.d. */
function v6Text(w: readonly number[]): string {
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      cur = cur.base < 0 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else cur = { base: -1, len: 0 };
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base >= 0 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && w[5] === 0xffff))) {
      return out + v4Text(w[6], w[7]);
    }
    out += w[i].toString(16);
  }
  if (best.base >= 0 && best.base + best.len === 8) out += ':';
  return out;
}

const v4Text = (hi: number, lo: number): string => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

function make(family: Family, words: readonly number[]): IpAddress {
  const a: IpAddress = Object.freeze({ family, address: family === 4 ? v4Text(words[0], words[1]) : v6Text(words) });
  wordsOf.set(a, words);
  return a;
}

/** One address, bracketed or not, with an optional zone id on IPv6; null if it is none. */
export function parseAddress(text: unknown): IpAddress | null {
  if (typeof text !== 'string' || text.length > 100) return null;
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const kind = ipVersion(s);
  if (kind === 4) return make(4, v4Words(s));
  if (kind === 0) return null;
  const words = v6Words(s.replace(/%.*$/, ''));
  // RFC 4291 §2.5.5.2: ::ffff:a.b.c.d, however written, is the IPv4 address it maps.
  if (words.slice(0, 5).every((x) => x === 0) && words[5] === 0xffff) return make(4, words.slice(6));
  return make(6, words);
}

/** The words of an address object, also of one made by hand rather than parsed here. */
function words(a: IpAddress): readonly number[] | undefined {
  let w = wordsOf.get(a);
  if (!w) {
    const p = parseAddress(a.address);
    if (!p || p.family !== a.family) return undefined;
    w = wordsOf.get(p);
    if (w) wordsOf.set(a, w);
  }
  return w;
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
  /** the base's words with the host bits cleared, and the mask of each word */
  private readonly base: number[];
  private readonly mask: number[];
  constructor(
    readonly text: string,
    readonly family: Family,
    readonly prefix: number,
    base: IpAddress,
  ) {
    const w = words(base) as readonly number[];
    // 10.1.2.3/8 is 10.0.0.0/8: the host bits of the base are masked (RFC 4632 §3.1).
    this.mask = w.map((_, i) => {
      const bits = Math.min(16, Math.max(0, prefix - 16 * i));
      return bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    });
    this.base = w.map((x, i) => x & this.mask[i]);
  }
  contains(address: IpAddress | null): boolean {
    if (!address || address.family !== this.family) return false;
    const w = words(address);
    if (!w) return false;
    for (let i = 0; i < w.length; i++) if ((w[i] & this.mask[i]) !== this.base[i]) return false;
    return true;
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
