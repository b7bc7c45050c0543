/**
 * The one CIDR module, every address form a user or a socket gives. Admission is what
 * keeps strangers off the SIP port and the door: these tests fail when it admits too much
 * or too little (an always-true `admitted` fails the first block below).
 */
import { BlockList, isIP, SocketAddress } from 'node:net';
import { isIntercomError } from '../../nodes/lib/core/errors';
import { admitted, inAny, inCidr, ipVersion, parseAddress, parseCidr, parseCidrList, sourceAddress, type CidrRule } from '../../nodes/lib/net/cidr';

const within = (block: string, address: string): boolean => parseCidr(block).test(address);
const codeOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return isIntercomError(err) ? { code: err.code, ...err.params } : err;
  }
  return undefined;
};

describe('admission (what SIP uses)', () => {
  const { rules } = parseCidrList('192.168.1.20, 10.0.0.0/8; fd00::/8');

  test('an address outside every rule is refused, one inside admitted', () => {
    expect(admitted(rules, '192.168.1.20')).toBe(true);
    expect(admitted(rules, '10.200.3.4')).toBe(true);
    expect(admitted(rules, 'fd12::1')).toBe(true);
    expect(admitted(rules, '192.168.1.21')).toBe(false);
    expect(admitted(rules, '11.0.0.1')).toBe(false);
    expect(admitted(rules, 'fe80::1')).toBe(false);
    expect(admitted(rules, '')).toBe(false);
    expect(admitted(rules, 'banana')).toBe(false);
  });

  test('an empty list admits everyone; a rule object of another kind is asked itself', () => {
    expect(admitted([], '203.0.113.9')).toBe(true);
    const none: CidrRule = { text: 'none', test: () => false };
    expect(admitted([none], '10.0.0.1')).toBe(false);
    expect(admitted([none, ...rules], '10.0.0.1')).toBe(true);
  });

  test('a dual-stack socket reports IPv4 callers mapped: they are the IPv4 address', () => {
    expect(admitted(rules, '::ffff:10.1.1.1')).toBe(true);
    expect(admitted(rules, '::ffff:11.1.1.1')).toBe(false);
  });

  test('each rule keeps the text it was written as', () => {
    expect(rules.map((r) => r.text)).toEqual(['192.168.1.20', '10.0.0.0/8', 'fd00::/8']);
  });
});

describe('address forms', () => {
  test('IPv4 and IPv4/len', () => {
    expect(within('10.0.0.7', '10.0.0.7')).toBe(true);
    expect(within('10.0.0.7', '10.0.0.8')).toBe(false);
    expect(within('10.1.0.0/16', '10.1.200.3')).toBe(true);
    expect(within('10.1.0.0/16', '10.2.0.1')).toBe(false);
    expect(within('10.1.0.0/16', '::ffff:10.1.2.3')).toBe(true);
    // host bits in the base are masked, as RFC 4632 §3.1 writes prefixes
    expect(within('10.1.2.3/8', '10.200.0.1')).toBe(true);
  });

  test('IPv6 full, compressed, :: and ::1', () => {
    expect(within('2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1')).toBe(true);
    expect(within('2001:db8::1', '2001:DB8:0:0:0:0:0:1')).toBe(true);
    expect(within('2001:db8::/32', '2001:db8:1::5')).toBe(true);
    expect(within('2001:db8::/32', '2001:db9::5')).toBe(false);
    expect(within('2001:db8::/32', '10.0.0.1')).toBe(false);
    expect(within('::1', '::1')).toBe(true);
    expect(within('::1', '::2')).toBe(false);
    expect(within('::', '::')).toBe(true);
    expect(within('::', '::1')).toBe(false);
    expect(parseAddress('2001:0DB8:0:0::1')).toEqual({ family: 6, address: '2001:db8::1' });
  });

  test('IPv4-embedded: mapped ::ffff:a.b.c.d is IPv4, NAT64 64:ff9b::a.b.c.d is IPv6', () => {
    // RFC 4291 §2.5.5.2: the mapped form, in any spelling, is the IPv4 address
    for (const m of ['::ffff:10.0.0.1', '::FFFF:10.0.0.1', '::ffff:a00:1', '0:0:0:0:0:ffff:10.0.0.1']) {
      expect(parseAddress(m)).toEqual({ family: 4, address: '10.0.0.1' });
      expect(within('10.0.0.0/8', m)).toBe(true);
    }
    expect(within('10.0.0.0/8', '::ffff:11.0.0.1')).toBe(false);
    // RFC 6052: a NAT64 address is an IPv6 address; its IPv4 tail is its last 32 bits
    expect(parseAddress('64:ff9b::10.0.0.1')).toEqual({ family: 6, address: '64:ff9b::a00:1' });
    expect(within('10.0.0.0/8', '64:ff9b::10.0.0.1')).toBe(false);
    expect(within('64:ff9b::/96', '64:ff9b::10.0.0.1')).toBe(true);
    expect(within('64:ff9b::10.0.0.1', '64:ff9b::a00:1')).toBe(true);
    // the old SIP copy read the tail as hex "10" and admitted 64:ff9b::10
    expect(within('64:ff9b::10.0.0.1', '64:ff9b::10')).toBe(false);
    expect(within('64:ff9b::10.0.0.1/128', '64:ff9b::10')).toBe(false);
    // the deprecated IPv4-compatible form is IPv6 too
    expect(within('10.0.0.0/8', '::10.0.0.1')).toBe(false);
  });

  test('a block in mapped form is the IPv4 block, its length in IPv6 or (as before) IPv4 bits', () => {
    expect(parseCidr('::ffff:10.0.0.0/104')).toMatchObject({ family: 4, prefix: 8 });
    expect(parseCidr('::ffff:10.0.0.0/8')).toMatchObject({ family: 4, prefix: 8 });
    expect(within('::ffff:10.0.0.0/104', '10.9.9.9')).toBe(true);
    expect(within('::ffff:10.0.0.0/8', '::ffff:10.9.9.9')).toBe(true);
    expect(within('::ffff:10.0.0.0/104', '11.0.0.1')).toBe(false);
    expect(parseCidr('::ffff:0:0/96')).toMatchObject({ family: 4, prefix: 0 });
    expect(within('::ffff:0:0/96', '198.51.100.1')).toBe(true);
    expect(within('::ffff:0:0/96', '2001:db8::1')).toBe(false);
    expect(parseCidr('::ffff:10.0.0.1')).toMatchObject({ family: 4, prefix: 32 });
    expect(codeOf(() => parseCidr('::ffff:10.0.0.0/64'))).toMatchObject({ code: 'net.badPrefix', max: 32 });
    expect(codeOf(() => parseCidr('::ffff:10.0.0.0/129'))).toMatchObject({ code: 'net.badPrefix', max: 32 });
    expect(codeOf(() => parseCidr('10.0.0.0/104'))).toMatchObject({ code: 'net.badPrefix', max: 32 });
  });

  test('IPv6 blocks never take IPv4 addresses (BlockList alone would: it maps them)', () => {
    const raw = new BlockList();
    raw.addSubnet('::', 0, 'ipv6');
    expect(raw.check('10.0.0.1', 'ipv4')).toBe(true); // what is bridged here
    expect(within('::/0', '10.0.0.1')).toBe(false);
    expect(within('::/0', '::ffff:10.0.0.1')).toBe(false);
    expect(within('::/0', '2001:db8::1')).toBe(true);
    expect(within('::/80', '10.0.0.1')).toBe(false); // ::/80 holds every mapped address
    expect(within('0.0.0.0/0', '2001:db8::1')).toBe(false);
  });

  test('bracketed [v6], [v6]:port and v4:port sources', () => {
    expect(parseAddress('[::1]')).toEqual({ family: 6, address: '::1' });
    expect(sourceAddress('[::1]')).toEqual(parseAddress('::1'));
    expect(sourceAddress('[2001:db8::5]:5060')).toEqual(parseAddress('2001:db8::5'));
    expect(sourceAddress('127.0.0.1:5070')).toEqual(parseAddress('127.0.0.1'));
    expect(sourceAddress(' 10.0.0.7 ')).toEqual(parseAddress('10.0.0.7'));
    expect(within('10.0.0.0/8', '10.0.0.7:5060')).toBe(true);
    expect(within('2001:db8::/32', '[2001:db8::5]:5060')).toBe(true);
    expect(admitted(parseCidrList('10.0.0.0/8').rules, '10.0.0.7:5060')).toBe(true);
    // a bare IPv6 address ends in a group, not a port
    expect(sourceAddress('2001:db8::5:5060')).toEqual(parseAddress('2001:db8::5:5060'));
    expect(sourceAddress('[::1]:99999999')).toBeNull();
    expect(sourceAddress('[::1')).toBeNull();
  });

  test('source objects: address, host or ip; anything else is no address', () => {
    expect(sourceAddress({ address: '192.168.1.5', port: 5060 })).toEqual(parseAddress('192.168.1.5'));
    expect(sourceAddress({ host: '::1' })).toEqual(parseAddress('::1'));
    expect(sourceAddress({ ip: '10.0.0.1' })).toEqual(parseAddress('10.0.0.1'));
    expect(sourceAddress({ port: 5060 })).toBeNull();
    expect(sourceAddress('not an address')).toBeNull();
    expect(sourceAddress(42)).toBeNull();
    expect(sourceAddress(null)).toBeNull();
    expect(sourceAddress('1'.repeat(200))).toBeNull();
  });

  test('zone ids (fe80::1%eth0) are dropped: a block has none', () => {
    expect(parseAddress('fe80::1%eth0')).toEqual({ family: 6, address: 'fe80::1' });
    expect(sourceAddress('[fe80::1%eth0]:5060')).toEqual(parseAddress('fe80::1'));
    expect(within('fe80::/10', 'fe80::1%eth0')).toBe(true);
    expect(within('fe80::1%eth0', 'fe80::1')).toBe(true);
    expect(parseAddress('10.0.0.1%eth0')).toBeNull();
    expect(parseAddress('fe80::1%')).toBeNull();
  });

  test('/0, /32 and /128', () => {
    expect(within('0.0.0.0/0', '203.0.113.9')).toBe(true);
    expect(within('0.0.0.0/0', '::ffff:203.0.113.9')).toBe(true);
    expect(within('::/0', 'fe80::1')).toBe(true);
    expect(within('10.0.0.1/32', '10.0.0.1')).toBe(true);
    expect(within('10.0.0.1/32', '10.0.0.2')).toBe(false);
    expect(within('2001:db8::1/128', '2001:db8::1')).toBe(true);
    expect(within('2001:db8::1/128', '2001:db8::2')).toBe(false);
    expect(parseCidr('10.0.0.1')).toMatchObject({ family: 4, prefix: 32, text: '10.0.0.1' });
    expect(parseCidr(' 2001:db8::/32 ')).toMatchObject({ family: 6, prefix: 32, text: '2001:db8::/32' });
    expect(parseCidr('::1')).toMatchObject({ family: 6, prefix: 128 });
  });

  test('bad prefixes: net.badPrefix with the text and the widest length', () => {
    expect(codeOf(() => parseCidr('10.0.0.0/33'))).toEqual({ code: 'net.badPrefix', value: '10.0.0.0/33', max: 32 });
    expect(codeOf(() => parseCidr('10.0.0.0/99'))).toEqual({ code: 'net.badPrefix', value: '10.0.0.0/99', max: 32 });
    expect(codeOf(() => parseCidr('2001:db8::/129'))).toEqual({ code: 'net.badPrefix', value: '2001:db8::/129', max: 128 });
    expect(codeOf(() => parseCidr('10.0.0.0/x'))).toMatchObject({ code: 'net.badPrefix' });
    expect(codeOf(() => parseCidr('10.0.0.0/'))).toMatchObject({ code: 'net.badPrefix' });
    expect(codeOf(() => parseCidr('10.0.0.0/-1'))).toMatchObject({ code: 'net.badPrefix' });
    expect(codeOf(() => parseCidr('10.0.0.0/8.5'))).toMatchObject({ code: 'net.badPrefix' });
  });

  test('garbage: net.notAddress with the text', () => {
    for (const bad of ['banana', '999.1.1.1', '300.1.1.1', '', '   ', '1.2.3', '01.2.3.4', '10.0.0.1:5060', '1.2.3.4/8/9', ':::', '2001:db8::g', 'gateway.local']) {
      expect(codeOf(() => parseCidr(bad))).toEqual({ code: 'net.notAddress', value: bad.trim() });
      expect(parseAddress(bad)).toBeNull();
    }
    expect(parseAddress(undefined)).toBeNull();
    expect(parseAddress(7)).toBeNull();
  });
});

describe('lists', () => {
  test('commas, spaces, semicolons and new lines separate; invalid entries are reported, in order', () => {
    const { rules, invalid } = parseCidrList(' 192.168.1.20,10.0.0.0/8 ;fd00::/8\n nonsense 1.2.3.4/33;;, 999.1.1.1 ');
    expect(rules.map((r) => r.text)).toEqual(['192.168.1.20', '10.0.0.0/8', 'fd00::/8']);
    expect(invalid).toEqual(['nonsense', '1.2.3.4/33', '999.1.1.1']);
  });

  test('an empty list is no rules and nothing invalid', () => {
    expect(parseCidrList('')).toEqual({ rules: [], invalid: [] });
    expect(parseCidrList(' ,; ')).toEqual({ rules: [], invalid: [] });
  });

  test('inAny / inCidr over parsed addresses; no address is in no list', () => {
    const { rules } = parseCidrList('10.0.0.0/8, 2001:db8::/32');
    expect(inAny(parseAddress('10.9.9.9'), rules)).toBe(true);
    expect(inAny(parseAddress('2001:db8::9'), rules)).toBe(true);
    expect(inAny(parseAddress('192.0.2.1'), rules)).toBe(false);
    expect(inAny(null, rules)).toBe(false);
    expect(inAny(parseAddress('10.9.9.9'), [])).toBe(false);
    expect(inCidr(parseAddress('10.1.200.3'), parseCidr('10.1.0.0/16'))).toBe(true);
    // an address object made by hand (not parsed here) is checked all the same
    expect(inCidr({ family: 4, address: '10.1.2.3' }, rules[0])).toBe(true);
  });
});

describe('the same answers as node:net (isIP, SocketAddress, BlockList), without it', () => {
  // A small deterministic generator, so a failure names a case that comes back.
  let seed = 0x2545f491;
  const rand = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const word = (): number => [0, 0, 0, 1, 0xffff, rand(0x10000)][rand(6)];
  const v6 = (): number[] => Array.from({ length: 8 }, word);
  /** the words written as a user or a socket might: full, compressed, upper case, IPv4 tail */
  function spell(w: number[]): string {
    const hex = w.map((x) => (rand(2) ? x.toString(16) : x.toString(16).padStart(4, '0')));
    if (rand(4) === 0) hex.splice(6, 2, `${w[6] >> 8}.${w[6] & 255}.${w[7] >> 8}.${w[7] & 255}`);
    let s = hex.join(':');
    const zero = /(^|:)(0+:){1,}0+(:|$)/.exec(s);
    if (zero && rand(2)) s = s.slice(0, zero.index) + '::' + s.slice(zero.index + zero[0].length);
    return rand(3) === 0 ? s.toUpperCase() : s;
  }

  test('isIP: the same verdict on 5,000 addresses and near misses', () => {
    const alphabet = '0123456789abcdefABCDEF:.%[]/ gx';
    const differ: string[] = [];
    for (let i = 0; i < 5000; i++) {
      let s = i % 2 ? spell(v6()) : `${rand(300)}.${rand(300)}.${rand(300)}.${rand(300)}`;
      if (i % 3 === 0) {
        const at = rand(s.length + 1);
        s = s.slice(0, at) + alphabet[rand(alphabet.length)] + s.slice(at + rand(2));
      }
      if (ipVersion(s) !== isIP(s)) differ.push(`${s}: ${ipVersion(s)} vs ${isIP(s)}`);
    }
    expect(differ).toEqual([]);
  });

  test("canonical text: libuv's, for 5,000 addresses in many spellings", () => {
    const differ: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const s = spell(v6());
      const mine = parseAddress(s);
      const theirs = new SocketAddress({ address: s, family: 'ipv6' }).address;
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(theirs);
      const want = mapped ? { family: 4, address: mapped[1] } : { family: 6, address: theirs };
      if (JSON.stringify(mine) !== JSON.stringify(want)) differ.push(`${s}: ${JSON.stringify(mine)} vs ${JSON.stringify(want)}`);
    }
    expect(differ).toEqual([]);
  });

  test('blocks: the same membership as BlockList within one family', () => {
    const differ: string[] = [];
    let compared = 0;
    for (let i = 0; i < 1000; i++) {
      const v4 = i % 2 === 0;
      const base = v4 ? `${rand(256)}.${rand(256)}.${rand(256)}.${rand(256)}` : spell(v6());
      const parsedBase = parseAddress(base);
      if (!parsedBase || parsedBase.family !== (v4 ? 4 : 6)) continue; // a mapped base is an IPv4 block: not BlockList's reading
      const prefix = rand(v4 ? 33 : 129);
      const list = new BlockList();
      list.addSubnet(parsedBase.address, prefix, v4 ? 'ipv4' : 'ipv6');
      const block = parseCidr(`${base}/${prefix}`);
      for (let j = 0; j < 20; j++) {
        // near the base mostly, so both sides of the boundary are tried
        const probe = v4 ? parsedBase.address.replace(/\d+$/, String(rand(256))).replace(/^\d+/, (m) => (rand(4) ? m : String(rand(256)))) : spell(v6());
        const a = parseAddress(probe);
        if (!a || a.family !== block.family) continue;
        compared++;
        const want = list.check(a.address, v4 ? 'ipv4' : 'ipv6');
        if (block.contains(a) !== want) differ.push(`${base}/${prefix} ∋ ${probe}: ${!want} vs ${want}`);
      }
    }
    expect(differ).toEqual([]);
    expect(compared).toBeGreaterThan(10000);
  });
});
