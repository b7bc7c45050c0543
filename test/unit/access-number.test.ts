import { DEFAULT_PLAN, normalizeNumber, planFrom, userPart } from '../../nodes/lib/access/number';
import { parseAddress, parseCidr, inCidr, sourceAddress } from '../../nodes/lib/access/cidr';

const norm = (s: unknown, plan = DEFAULT_PLAN) => {
  const r = normalizeNumber(s, plan);
  return r.ok ? r.number : r.reason;
};

describe('caller number normalization (RU plan: +7, trunk 8, 00)', () => {
  test.each([
    ['+7 495 123-45-67', '74951234567'],
    ['84951234567', '74951234567'],
    ['8 (495) 123-45-67', '74951234567'],
    ['0074951234567', '74951234567'],
    ['74951234567', '74951234567'],
    ['4951234567', '74951234567'],
    ['sip:+74951234567@pbx.example;user=phone', '74951234567'],
    ['"Reception" <sip:84951234567@10.0.0.1>', '74951234567'],
    ['tel:+7-495-123-45-67', '74951234567'],
    ['+49 30 1234567', '49301234567'],
    ['200', '200'],
    ['81234', '81234'],
  ])('%s -> %s', (input, want) => {
    expect(norm(input)).toBe(want);
  });

  test('the two spellings from the issue are the same caller', () => {
    expect(norm('+7 495 123-45-67')).toBe(norm('84951234567'));
  });

  test.each([
    [undefined, 'missing-caller'],
    ['', 'missing-caller'],
    ['   ', 'missing-caller'],
    [{ user: '200' }, 'malformed-caller'],
    ['anonymous', 'malformed-caller'],
    ['495-ABC', 'malformed-caller'],
    ['1234567890123456', 'malformed-caller'],
    ['12*34', 'malformed-caller'],
    ['+', 'malformed-caller'],
  ])('%p is refused as %s', (input, reason) => {
    expect(norm(input)).toBe(reason);
  });

  test('a German plan: trunk 0, variable length', () => {
    const de = planFrom({ countryCode: '49', trunkPrefix: '0', internationalPrefix: '00', nationalDigits: 0 });
    expect(norm('030 1234567', de)).toBe('49301234567');
    expect(norm('+49 30 1234567', de)).toBe('49301234567');
    expect(norm('0049301234567', de)).toBe('49301234567');
  });

  test('userPart strips URI decoration', () => {
    expect(userPart('<sip:%2B7495@h>')).toBe('+7495');
  });
});

describe('source addresses and CIDR blocks', () => {
  test('IPv4 blocks', () => {
    const c = parseCidr('10.1.0.0/16');
    expect(inCidr(parseAddress('10.1.200.3')!, c)).toBe(true);
    expect(inCidr(parseAddress('10.2.0.1')!, c)).toBe(false);
    expect(inCidr(parseAddress('::ffff:10.1.2.3')!, c)).toBe(true);
  });
  test('IPv6 blocks', () => {
    const c = parseCidr('2001:db8::/32');
    expect(inCidr(parseAddress('2001:db8:1::5')!, c)).toBe(true);
    expect(inCidr(parseAddress('2001:db9::5')!, c)).toBe(false);
    expect(inCidr(parseAddress('10.0.0.1')!, c)).toBe(false);
  });
  test('source forms from the SIP layer', () => {
    expect(sourceAddress('127.0.0.1:5070')).toEqual(parseAddress('127.0.0.1'));
    expect(sourceAddress('[::1]:5060')).toEqual(parseAddress('::1'));
    expect(sourceAddress({ address: '192.168.1.5', port: 5060 })).toEqual(parseAddress('192.168.1.5'));
    expect(sourceAddress('not an address')).toBeNull();
    expect(sourceAddress(42)).toBeNull();
  });
  test('bad blocks are errors', () => {
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/prefix length/);
    expect(() => parseCidr('300.1.1.1')).toThrow(/not an IP/);
  });
});
