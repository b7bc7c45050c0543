import { digestAuthorization, parseChallenges, pickDigestChallenge, basicAuthorization } from '../../nodes/lib/door/digest';
import { render } from '../../nodes/lib/door/template';
import { checkSuccess, fillTemplate, findPreset, PRESETS, presetParams } from '../../nodes/lib/door/presets';

// RFC 7616 §3.9.1: the worked example, MD5 and SHA-256 with qop=auth.
const rfc7616 = 'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
const rfc7616md5 = rfc7616.replace('algorithm=SHA-256', 'algorithm=MD5');
const mufasa = { user: 'Mufasa', password: 'Circle of Life' };
const cnonce = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';

function field(header: string, name: string): string | undefined {
  return new RegExp(`${name}="?([^",]+)"?`).exec(header)?.[1];
}

describe('digest (RFC 7616)', () => {
  test('SHA-256 example of §3.9.1 gives the RFC response', () => {
    const ch = pickDigestChallenge(rfc7616);
    expect(ch).toMatchObject({ algorithm: 'SHA-256', realm: 'http-auth@example.org', qop: ['auth', 'auth-int'] });
    const h = digestAuthorization({ challenge: ch!, credentials: mufasa, method: 'GET', uri: '/dir/index.html', nc: 1, cnonce });
    expect(field(h, 'response')).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    expect(h).toContain('nc=00000001');
    expect(h).toContain('qop=auth,');
    expect(field(h, 'opaque')).toBe('FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS');
  });

  test('MD5 example of §3.9.1 gives the RFC response', () => {
    const h = digestAuthorization({ challenge: pickDigestChallenge(rfc7616md5)!, credentials: mufasa, method: 'GET', uri: '/dir/index.html', nc: 1, cnonce });
    expect(field(h, 'response')).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  test('RFC 2617 §3.5 example (MD5, qop=auth) still holds', () => {
    const ch = pickDigestChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    const h = digestAuthorization({ challenge: ch!, credentials: { user: 'Mufasa', password: 'Circle Of Life' }, method: 'GET', uri: '/dir/index.html', nc: 1, cnonce: '0a4f113b' });
    expect(field(h, 'response')).toBe('6629fae49393a05397450978507c4ef1');
  });

  test('MD5-sess hashes A1 with nonce and cnonce, so it differs from MD5', () => {
    const md5 = digestAuthorization({ challenge: pickDigestChallenge(rfc7616md5)!, credentials: mufasa, method: 'GET', uri: '/', nc: 1, cnonce: 'x' });
    const sess = digestAuthorization({ challenge: pickDigestChallenge(rfc7616md5.replace('algorithm=MD5', 'algorithm=MD5-sess'))!, credentials: mufasa, method: 'GET', uri: '/', nc: 1, cnonce: 'x' });
    expect(sess).toContain('algorithm=MD5-SESS');
    expect(field(sess, 'response')).not.toBe(field(md5, 'response'));
  });

  test('prefers SHA-256 over MD5 when a server offers both (§3.7)', () => {
    const ch = pickDigestChallenge(['Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"', 'Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth"']);
    expect(ch?.algorithm).toBe('SHA-256');
    expect(ch?.nonce).toBe('n2');
  });

  test('parses several challenges in one header, quoted commas included', () => {
    const c = parseChallenges('Basic realm="a, b", Digest realm="x", nonce="abc", qop="auth", stale=TRUE');
    expect(c.map((x) => x.scheme)).toEqual(['basic', 'digest']);
    expect(c[0].params.realm).toBe('a, b');
    expect(pickDigestChallenge('Digest realm="x", nonce="abc", qop="auth", stale=TRUE')?.stale).toBe(true);
  });

  test('garbage and unknown algorithms give no challenge instead of throwing', () => {
    for (const bad of ['', '"""', 'Digest', 'Digest realm="x"', 'Digest realm="x", nonce="n", algorithm=SHA-512-256-foo', '=,=,=', 'Negotiate abc==']) {
      expect(pickDigestChallenge(bad)).toBeUndefined();
    }
  });

  test('Basic is user:password in base64 (RFC 7617 §2)', () => {
    expect(basicAuthorization({ user: 'Aladdin', password: 'open sesame' })).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  });
});

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

  test('success checks read the device answer', () => {
    expect(checkSuccess({ kind: 'json', path: 'success', equals: true }, '{"success":true}')).toBeUndefined();
    expect(checkSuccess({ kind: 'json', path: 'success', equals: true }, '{"success":false,"error":{"code":12}}')).toMatch(/success=false/);
    expect(checkSuccess({ kind: 'json', path: 'BHA.RETURNCODE', equals: '1' }, '<html>')).toMatch(/not JSON/);
    expect(checkSuccess({ kind: 'xml', tag: 'ResCode', equals: '0' }, '<Configuration><ResCode>1</ResCode></Configuration>')).toMatch(/ResCode=1/);
    expect(checkSuccess({ kind: 'xml', tag: 'statusCode', equals: '1', optional: true }, '')).toBeUndefined();
    expect(checkSuccess({ kind: 'text', match: '^\\s*OK\\s*$' }, 'Error\r\n')).toMatch(/answered/);
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
