import { IntercomError } from '../../nodes/lib/core/errors';
import { choiceSetting, jsonObjectSetting, numberSetting, secondsSetting } from '../../nodes/lib/core/settings';

const port = { field: 'bindPort', default: 5060, min: 0, max: 65535, integer: true };

function codeOf(fn: () => unknown): { code: string; params: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IntercomError);
    const e = err as IntercomError;
    return { code: e.code, params: e.params };
  }
  throw new Error('did not throw');
}

describe('settings: one policy for every node', () => {
  test('empty means the default', () => {
    for (const v of [undefined, null, '', '  ']) expect(numberSetting(v, port)).toBe(5060);
  });
  test('numbers and numeric text within the range pass', () => {
    expect(numberSetting('5062', port)).toBe(5062);
    expect(numberSetting(0, port)).toBe(0);
    expect(numberSetting(' 65535 ', port)).toBe(65535);
  });
  test.each(['99999', '-5', 'abc', '5060.5', 'NaN', 'Infinity', '1e9'])('%s is refused, naming the field and the range', (v) => {
    const e = codeOf(() => numberSetting(v, port));
    expect(e.code).toBe('setting.integer');
    expect(e.params).toMatchObject({ field: 'bindPort', min: 0, max: 65535, value: v });
  });
  test('a fractional number passes where whole numbers are not asked for', () => {
    expect(numberSetting('0.5', { field: 'pulse', default: 1, min: 0.1, max: 60 })).toBe(0.5);
    expect(codeOf(() => numberSetting('61', { field: 'pulse', default: 1, min: 0.1, max: 60 })).code).toBe('setting.number');
  });
  test('seconds become milliseconds', () => {
    expect(secondsSetting('1.5', { field: 'ringTimeout', default: 120, min: 0, max: 3600 })).toBe(1500);
    expect(secondsSetting('', { field: 'ringTimeout', default: 120, min: 0, max: 3600 })).toBe(120000);
  });
  test('a choice must be listed', () => {
    expect(choiceSetting('', 'transport', ['udp', 'tcp'] as const, 'udp')).toBe('udp');
    expect(choiceSetting('tcp', 'transport', ['udp', 'tcp'] as const, 'udp')).toBe('tcp');
    expect(codeOf(() => choiceSetting('sctp', 'transport', ['udp', 'tcp'] as const, 'udp'))).toMatchObject({ code: 'setting.choice', params: { field: 'transport', value: 'sctp' } });
  });
  test('a JSON object setting: empty is {}, bad JSON and non-objects are refused', () => {
    expect(jsonObjectSetting('', 'headers')).toEqual({});
    expect(jsonObjectSetting('{"X-Key": 1}', 'headers')).toEqual({ 'X-Key': '1' });
    expect(codeOf(() => jsonObjectSetting('{not json', 'headers')).code).toBe('setting.json');
    expect(codeOf(() => jsonObjectSetting('[1]', 'headers')).code).toBe('setting.jsonObject');
  });
});
