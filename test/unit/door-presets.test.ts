/** Vendor presets are data, and the message templates of the generic actions are safe. */
import { render } from '../../nodes/lib/door/template';
import { checkSuccess, fillTemplate, findPreset, PRESETS, presetParams } from '../../nodes/lib/door/presets';
import { says } from '../helpers/says';

describe('presets are data', () => {
  test('every preset has an open request and its placeholders fill', () => {
    for (const p of PRESETS) {
      const path = fillTemplate(p.open.path, { ...presetParams({ relay: 2, pulseSeconds: 3, user: 'u', password: 'p w' }), authcode: 'a', idcode: 'i' }, true);
      expect(path).toMatch(/^\//);
      expect(path).not.toMatch(/\{[a-zA-Z0-9]+\}/);
    }
    expect(fillTemplate(findPreset('shelly-gen1')!.open.path, presetParams({ relay: 1, pulseSeconds: 2 }), true)).toBe('/relay/0?turn=on&timer=2');
    expect(fillTemplate(findPreset('shelly-gen2')!.open.body!, presetParams({ relay: 1, pulseSeconds: 2 }), false)).toBe('{"id":0,"on":true,"toggle_after":2}');
    expect(fillTemplate(findPreset('akuvox')!.open.path, presetParams({ relay: 1, pulseSeconds: 2, user: 'a&b', password: 'p w' }), true)).toContain('UserName=a%26b&Password=p%20w');
  });

  test('success checks read the device answer, and say why not as a code', () => {
    expect(checkSuccess({ kind: 'json', path: 'success', equals: true }, '{"success":true}')).toBeUndefined();
    expect(checkSuccess({ kind: 'json', path: 'success', equals: true }, '{"success":false,"error":{"code":12}}')).toMatchObject({ code: 'door.answered', params: { field: 'success', value: 'false' } });
    expect(says(checkSuccess({ kind: 'json', path: 'success', equals: true }, '{"success":false}'))).toBe('device answered success=false');
    expect(says(checkSuccess({ kind: 'json', path: 'BHA.RETURNCODE', equals: '1' }, '<html>'))).toMatch(/not JSON/);
    expect(says(checkSuccess({ kind: 'xml', tag: 'ResCode', equals: '0' }, '<Configuration><ResCode>1</ResCode></Configuration>'))).toMatch(/ResCode=1/);
    expect(says(checkSuccess({ kind: 'xml', tag: 'ResCode', equals: '0' }, '<ResCode>1</ResCode><RetMsg>Authentication error</RetMsg>'))).toBe('device answered ResCode=1 (Authentication error)');
    expect(checkSuccess({ kind: 'xml', tag: 'statusCode', equals: '1', optional: true }, '')).toBeUndefined();
    expect(says(checkSuccess({ kind: 'text', match: '^\\s*OK\\s*$' }, 'Error\r\n'))).toMatch(/answered/);
  });
});

describe('templates take message fields, safely', () => {
  const scope = { msg: { payload: 'a b&c', call: { from: { user: '201' } }, evil: 'x\r\nX-Injected: 1' }, door: { id: 'front' } };
  test('dotted paths with escaping per place', () => {
    expect(render('/open?who={{msg.call.from.user}}&d={{door.id}}&p={{ msg.payload }}', scope, 'url')).toBe('/open?who=201&d=front&p=a%20b%26c');
    expect(render('{"p":"{{msg.payload}}","q":"{{msg.evil}}"}', scope, 'json')).toBe('{"p":"a b&c","q":"x\\r\\nX-Injected: 1"}');
    expect(render('{{msg.evil}}', scope, 'header')).not.toMatch(/[\r\n]/);
    expect(render('{{msg.missing.deep}}|{{msg.__proto__.x}}|{{msg.constructor}}', scope)).toBe('||');
  });
});
