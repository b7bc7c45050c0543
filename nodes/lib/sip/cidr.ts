/** Source admission by address or CIDR (IPv4 and IPv6), parsed once; bad entries are reported. */
import * as net from 'node:net';

export interface CidrRule {
  text: string;
  test(address: string): boolean;
}

function toBigInt(addr: string): { v: bigint; bits: number } | undefined {
  const a = addr.startsWith('::ffff:') && net.isIPv4(addr.slice(7)) ? addr.slice(7) : addr;
  if (net.isIPv4(a)) return { v: a.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n), bits: 32 };
  if (!net.isIPv6(a)) return undefined;
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return { v: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n), bits: 128 };
}

export function parseCidr(text: string): CidrRule | undefined {
  const [addr, lenText] = text.trim().split('/');
  const base = toBigInt(addr);
  if (!base) return undefined;
  const len = lenText === undefined ? base.bits : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > base.bits) return undefined;
  const shift = BigInt(base.bits - len);
  return {
    text: text.trim(),
    test(address: string) {
      const x = toBigInt(address);
      return !!x && x.bits === base.bits && x.v >> shift === base.v >> shift;
    },
  };
}

/** Comma/space separated list; returns the rules and the entries that did not parse. */
export function parseCidrList(list: string): { rules: CidrRule[]; invalid: string[] } {
  const rules: CidrRule[] = [];
  const invalid: string[] = [];
  for (const part of list.split(/[\s,;]+/).filter(Boolean)) {
    const r = parseCidr(part);
    if (r) rules.push(r);
    else invalid.push(part);
  }
  return { rules, invalid };
}

export function admitted(rules: CidrRule[], address: string): boolean {
  return rules.length === 0 || rules.some((r) => r.test(address));
}
