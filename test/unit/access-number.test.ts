import { isIntercomError } from '../../nodes/lib/core/errors';
import { DEFAULT_PLAN, normalizeNumber, planFrom, userPart } from '../../nodes/lib/access/number';

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

  test('the plan from the dialog: absent is the default, empty switches a prefix off, anything else is checked', () => {
    expect(planFrom({})).toEqual(DEFAULT_PLAN);
    expect(planFrom({ countryCode: '49', trunkPrefix: '', internationalPrefix: ' 00 ', nationalDigits: '0' })).toMatchObject({ countryCode: '49', trunkPrefix: '', internationalPrefix: '00', nationalDigits: 0 });
    expect(planFrom({ countryCode: 49 }).countryCode).toBe('49');
    expect(planFrom({ nationalDigits: '' }).nationalDigits).toBe(10);
    const codeOf = (cfg: Record<string, unknown>) => {
      try {
        planFrom(cfg);
      } catch (err) {
        return isIntercomError(err) ? { code: err.code, field: err.params.field } : err;
      }
      return undefined;
    };
    expect(codeOf({ countryCode: '+7' })).toEqual({ code: 'access.planDigits', field: 'countryCode' });
    expect(codeOf({ trunkPrefix: '88888' })).toEqual({ code: 'access.planDigits', field: 'trunkPrefix' });
    expect(codeOf({ nationalDigits: 15 })).toEqual({ code: 'setting.integer', field: 'nationalDigits' });
    expect(codeOf({ nationalDigits: 'ten' })).toEqual({ code: 'setting.integer', field: 'nationalDigits' });
  });

  test('userPart strips URI decoration', () => {
    expect(userPart('<sip:%2B7495@h>')).toBe('+7495');
  });
});
