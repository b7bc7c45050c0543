/**
 * The one digest module (nodes/lib/auth/digest.ts), client and server, against the RFCs'
 * worked examples; the server must refuse every wrong answer, so a broken verify fails here.
 */
import { authorize, DigestServer, hash, parseAuthParams, parseChallenge, parseChallenges, pickDigestChallenge, type DigestAlgorithm } from '../../nodes/lib/auth/digest';
import { basicAuthorization, hasBasicChallenge, parseBasicAuthorization } from '../../nodes/lib/auth/basic';

function field(header: string, name: string): string | undefined {
  return parseAuthParams(header.replace(/^Digest\s+/, ''))[name];
}

const mufasa2617 = { user: 'Mufasa', password: 'Circle Of Life' };
const rfc2617 = 'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
// RFC 7616 §3.9.1: one challenge, answered with SHA-256 and with MD5.
const rfc7616 = 'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
const rfc7616md5 = rfc7616.replace('algorithm=SHA-256', 'algorithm=MD5');
const mufasa = { user: 'Mufasa', password: 'Circle of Life' };
const cnonce7616 = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ';
// RFC 7616 §3.9.2 (SHA-512-256, charset, userhash). The printed username and response of
// the RFC are wrong (erratum 4897); these are the values its inputs give.
const rfc7616hash = 'Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true';
const jason = { user: 'J\u00e4s\u00f8n Doe', password: 'Secret, or not?' };

describe('digest client: the RFC examples', () => {
  test('RFC 2617 §3.5 (MD5, qop=auth)', () => {
    const h = authorize(pickDigestChallenge(rfc2617)!, mufasa2617, 'GET', '/dir/index.html', 1, '0a4f113b');
    expect(field(h, 'response')).toBe('6629fae49393a05397450978507c4ef1');
    expect(field(h, 'nc')).toBe('00000001');
    expect(field(h, 'qop')).toBe('auth');
    expect(field(h, 'opaque')).toBe('5ccc069c403ebaf9f0171e9517f40e41');
  });

  test('RFC 7616 §3.9.1 with SHA-256', () => {
    const ch = pickDigestChallenge(rfc7616)!;
    expect(ch).toMatchObject({ algorithm: 'SHA-256', realm: 'http-auth@example.org', qop: ['auth', 'auth-int'] });
    const h = authorize(ch, mufasa, 'GET', '/dir/index.html', 1, cnonce7616);
    expect(field(h, 'response')).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    expect(field(h, 'algorithm')).toBe('SHA-256');
    expect(field(h, 'opaque')).toBe('FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS');
  });

  test('RFC 7616 §3.9.1 with MD5', () => {
    const h = authorize(pickDigestChallenge(rfc7616md5)!, mufasa, 'GET', '/dir/index.html', 1, cnonce7616);
    expect(field(h, 'response')).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  test('RFC 7616 §3.9.2: userhash sends H(user:realm) as the name, UTF-8 inside', () => {
    const ch = pickDigestChallenge(rfc7616hash)!;
    expect(ch).toMatchObject({ algorithm: 'SHA-512-256', userhash: true });
    const h = authorize(ch, jason, 'GET', '/doe.json', 1, 'NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v');
    expect(field(h, 'username')).toBe('793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b');
    expect(field(h, 'userhash')).toBe('true');
    expect(field(h, 'response')).toBe('3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5');
    expect(h).not.toContain('J\u00e4s');
  });

  test('a name that is not ASCII, without userhash, travels as username* (§3.4.4)', () => {
    const h = authorize(pickDigestChallenge(rfc7616.replace(', opaque', ', opaque'))!, jason, 'GET', '/', 1, 'x');
    expect(h).toContain("username*=UTF-8''J%C3%A4s%C3%B8n%20Doe");
    expect(h).not.toMatch(/username="/);
  });

  test('RFC 2069 form: a challenge without qop is answered without nc and cnonce', () => {
    const ch = pickDigestChallenge('Digest realm="old", nonce="abc"')!;
    expect(ch.qop).toEqual([]);
    const h = authorize(ch, mufasa, 'GET', '/x', 1, 'c');
    const ha1 = hash('MD5', 'Mufasa:old:Circle of Life');
    expect(field(h, 'response')).toBe(hash('MD5', `${ha1}:abc:${hash('MD5', 'GET:/x')}`));
    expect(h).not.toMatch(/nc=|cnonce=|qop=/);
  });

  test('-sess hashes A1 with nonce and cnonce (§3.4.2)', () => {
    const md5 = authorize(pickDigestChallenge(rfc7616md5)!, mufasa, 'GET', '/', 1, 'x');
    const sess = authorize(pickDigestChallenge(rfc7616md5.replace('algorithm=MD5', 'algorithm=MD5-sess'))!, mufasa, 'GET', '/', 1, 'x');
    expect(field(sess, 'algorithm')).toBe('MD5-SESS');
    expect(field(sess, 'response')).not.toBe(field(md5, 'response'));
    const ha1 = hash('MD5', `${hash('MD5', 'Mufasa:http-auth@example.org:Circle of Life')}:7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v:x`);
    expect(field(sess, 'response')).toBe(hash('MD5', `${ha1}:7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v:00000001:x:auth:${hash('MD5', 'GET:/')}`));
  });

  test('quoted values are escaped, so a quote in a realm or name cannot end the value', () => {
    const ch = pickDigestChallenge('Digest realm="a \\"b\\" c", nonce="n", qop="auth"')!;
    expect(ch.realm).toBe('a "b" c');
    const h = authorize(ch, { user: 'x"y', password: 'p' }, 'GET', '/', 1, 'c');
    expect(h).toContain('realm="a \\"b\\" c"');
    expect(field(h, 'username')).toBe('x"y');
    expect(field(h, 'realm')).toBe('a "b" c');
  });

  test('prefers the strongest algorithm a server offers (§3.7)', () => {
    const offers = ['Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"', 'Digest realm="r", nonce="n2", algorithm=SHA-256, qop="auth"'];
    expect(pickDigestChallenge(offers)).toMatchObject({ algorithm: 'SHA-256', nonce: 'n2' });
    expect(pickDigestChallenge(offers.join(', '))).toMatchObject({ algorithm: 'SHA-256', nonce: 'n2' });
  });

  test('parses several challenges in one header, quoted commas included', () => {
    const c = parseChallenges('Basic realm="a, b", Digest realm="x", nonce="abc", qop="auth", stale=TRUE');
    expect(c.map((x) => x.scheme)).toEqual(['basic', 'digest']);
    expect(c[0].params.realm).toBe('a, b');
    expect(pickDigestChallenge('Digest realm="x", nonce="abc", qop="auth", stale=TRUE')?.stale).toBe(true);
    expect(hasBasicChallenge('Digest realm="x", nonce="n", Basic realm="y"')).toBe(true);
    expect(hasBasicChallenge('Digest realm="x", nonce="n"')).toBe(false);
  });

  test('what it cannot answer is no challenge, never a throw', () => {
    for (const bad of ['', '"""', 'Digest', 'Digest realm="x"', 'Digest realm="x", nonce="n", algorithm=SHA-512-256-foo', '=,=,=', 'Negotiate abc==', 'Digest realm="x", nonce="n", qop="auth-int"']) {
      expect(pickDigestChallenge(bad)).toBeUndefined();
      expect(parseChallenge(bad)).toBeUndefined();
    }
    const intOnly = { ...pickDigestChallenge(rfc7616)!, qop: ['auth-int'] };
    expect(() => authorize(intOnly, mufasa, 'GET', '/', 1)).toThrow(expect.objectContaining({ code: 'auth.qopUnsupported' }));
  });
});

describe('the SIP digest tests, on the one module', () => {
  test('matches the RFC 2617 §3.5 worked example (MD5, qop=auth)', () => {
    const ch = parseChallenge(rfc2617);
    expect(ch).toBeDefined();
    const h = authorize(ch!, mufasa2617, 'GET', '/dir/index.html', 1, '0a4f113b');
    expect(h).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(h).toContain('nc=00000001');
    expect(h).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
  });

  test('matches the RFC 7616 §3.9.1 example for SHA-256 (RFC 8760)', () => {
    const h = authorize(parseChallenge(rfc7616)!, mufasa, 'GET', '/dir/index.html', 1, cnonce7616);
    expect(h).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
    expect(h).toContain('algorithm=SHA-256');
  });

  test('refuses what it cannot answer', () => {
    expect(parseChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseChallenge('Digest realm="x", nonce="n", algorithm=MD5-sess')).toBeUndefined();
    expect(parseChallenge('Digest nonce="n"')).toBeUndefined();
  });

  test('hash algorithms are the ones named', () => {
    expect(hash('MD5', 'a')).toBe('0cc175b9c0f1b6a831c399e269772661');
    expect(hash('SHA-256', 'a')).toBe('ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb');
    expect(hash('SHA-512-256', 'a')).toBe('455e518824bc0601f9fb858ff5c37d417d67c2f8e0df2babe4808858aea830f8');
  });
});

describe('digest server', () => {
  const passwords: Record<string, string> = { panel: 'pan3l', 'J\u00e4s\u00f8n Doe': 'Secret, or not?' };
  const pw = (u: string): string | undefined => passwords[u];
  const users = (): string[] => Object.keys(passwords);
  function answer(challenge: string, nc: number, password = 'pan3l', user = 'panel', method = 'REGISTER'): string {
    return authorize(parseChallenge(challenge) ?? pickDigestChallenge(challenge)!, { user, password }, method, 'sip:127.0.0.1', nc);
  }

  test.each(['MD5', 'SHA-256', 'SHA-512-256'] as DigestAlgorithm[])('%s: the right password passes, a wrong one and an unknown user do not', (alg) => {
    const s = new DigestServer('door', () => 1_000_000);
    const c = s.challenge(alg);
    expect(s.verify(answer(c, 1), 'REGISTER', pw)).toEqual({ ok: true, user: 'panel' });
    expect(s.verify(answer(c, 2, 'guess'), 'REGISTER', pw)).toEqual({ ok: false, reason: 'auth.wrongPassword', user: 'panel' });
    expect(s.verify(answer(c, 3, 'x', 'mallory'), 'REGISTER', pw)).toEqual({ ok: false, reason: 'auth.unknownUser', user: 'mallory' });
  });

  test('the answer is bound to the method and the nonce: a REGISTER answer does not pass as INVITE', () => {
    let t = 5_000;
    const s = new DigestServer('door', () => t++);
    const a = answer(s.challenge('MD5'), 1);
    expect(s.verify(a, 'INVITE', pw)).toMatchObject({ ok: false, reason: 'auth.wrongPassword' });
    const swapped = a.replace(/nonce="[^"]+"/, `nonce="${/nonce="([^"]+)"/.exec(s.challenge('MD5'))![1]}"`);
    expect(s.verify(swapped, 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.wrongPassword' });
  });

  test('an answer for another realm is refused', () => {
    const s = new DigestServer('door', () => 5_000);
    const other = new DigestServer('elsewhere', () => 5_000);
    expect(s.verify(answer(other.challenge('MD5'), 1), 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.wrongRealm' });
    const relabelled = answer(s.challenge('MD5'), 1).replace('realm="door"', 'realm="elsewhere"');
    expect(s.verify(relabelled, 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.wrongRealm' });
  });

  test('replay protection: the same nonce count twice is refused, a higher one passes', () => {
    const s = new DigestServer('door', () => 5_000);
    const c = s.challenge('MD5');
    const a = answer(c, 1);
    expect(s.verify(a, 'REGISTER', pw).ok).toBe(true);
    expect(s.verify(a, 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.replayedNonceCount' });
    expect(s.verify(answer(c, 1), 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.replayedNonceCount' });
    expect(s.verify(answer(c, 2), 'REGISTER', pw).ok).toBe(true);
  });

  test('a nonce not minted here is foreign, even when the answer fits it; one from another server too', () => {
    const s = new DigestServer('door', () => 10_000);
    const c = s.challenge('MD5');
    const forged = c.replace(/nonce="([0-9a-f]+)\.[0-9a-f]+"/, 'nonce="$1.00000000000000000000000000000000"');
    expect(s.verify(answer(forged, 1), 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.foreignNonce' });
    const twin = new DigestServer('door', () => 10_000); // same realm, its own secret
    expect(s.verify(answer(twin.challenge('MD5'), 1), 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.foreignNonce' });
    expect(s.verify(answer('Digest realm="door", nonce="plain", qop="auth"', 1), 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.foreignNonce' });
  });

  test('an expired nonce with the right answer is stale (challenge again), a wrong answer is not', () => {
    let now = 10_000;
    const s = new DigestServer('door', () => now, 60_000);
    const c = s.challenge('MD5');
    now += 61_000;
    expect(s.verify(answer(c, 1), 'REGISTER', pw)).toEqual({ ok: false, stale: true, reason: 'auth.nonceExpired', user: 'panel' });
    expect(s.verify(answer(c, 2, 'guess'), 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.wrongPassword' });
    expect(s.challenge('MD5', true)).toMatch(/, stale=true$/);
  });

  test('-sess and the RFC 2069 form are checked too', () => {
    const s = new DigestServer('door', () => 5_000);
    const sess = s.challenge('SHA-256-SESS');
    expect(s.verify(authorize(pickDigestChallenge(sess)!, { user: 'panel', password: 'pan3l' }, 'GET', '/x', 1), 'GET', pw)).toMatchObject({ ok: true });
    expect(s.verify(authorize(pickDigestChallenge(sess)!, { user: 'panel', password: 'nope' }, 'GET', '/x', 1), 'GET', pw)).toMatchObject({ ok: false, reason: 'auth.wrongPassword' });
    const old = s.challenge('MD5').replace(', qop="auth"', '');
    expect(s.verify(answer(old, 1), 'REGISTER', pw)).toMatchObject({ ok: true });
    expect(s.verify(answer(old, 1, 'nope'), 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.wrongPassword' });
  });

  test('userhash: the hashed name is resolved to its account, and only with the right password', () => {
    let t = 5_000;
    const s = new DigestServer('api@example.org', () => t++);
    const c = s.challenge('SHA-512-256') + ', userhash=true';
    const good = authorize(pickDigestChallenge(c)!, jason, 'GET', '/doe.json', 1);
    expect(field(good, 'username')).toBe('793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b');
    expect(s.verify(good, 'GET', pw, users)).toEqual({ ok: true, user: 'J\u00e4s\u00f8n Doe' });
    expect(s.verify(good, 'GET', pw)).toMatchObject({ ok: false, reason: 'auth.unknownUser' });
    const bad = authorize(pickDigestChallenge(c)!, { ...jason, password: 'guess' }, 'GET', '/doe.json', 2);
    expect(s.verify(bad, 'GET', pw, users)).toMatchObject({ ok: false, reason: 'auth.wrongPassword' });
    const utf8 = authorize(pickDigestChallenge(s.challenge('SHA-256'))!, jason, 'GET', '/doe.json', 1);
    expect(s.verify(utf8, 'GET', pw)).toEqual({ ok: true, user: 'J\u00e4s\u00f8n Doe' });
  });

  test('garbage, other schemes and missing fields are refused with a reason, never a throw', () => {
    const s = new DigestServer('door', () => 5_000);
    expect(s.verify('Basic cGFuZWw6cGFuM2w=', 'REGISTER', pw)).toEqual({ ok: false, reason: 'auth.notDigest' });
    expect(s.verify('Digest username="panel"', 'REGISTER', pw)).toEqual({ ok: false, reason: 'auth.incomplete' });
    const noNc = answer(s.challenge('MD5'), 1).replace(/, nc=[0-9a-f]+/, '');
    expect(s.verify(noNc, 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.incomplete' });
    const weird = answer(s.challenge('MD5'), 1).replace('algorithm=MD5', 'algorithm=ROT13');
    expect(s.verify(weird, 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'auth.unsupportedAlgorithm' });
    for (const junk of ['', 'Digest', 'Digest ,,,', 'Digest "unterminated', 'Digest a=b=c, =, "']) expect(s.verify(junk, 'REGISTER', pw).ok).toBe(false);
  });
});

describe('Basic (RFC 7617)', () => {
  test('user:password in base64 (§2), and back', () => {
    expect(basicAuthorization({ user: 'Aladdin', password: 'open sesame' })).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    expect(parseBasicAuthorization('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==')).toEqual({ user: 'Aladdin', password: 'open sesame' });
    expect(parseBasicAuthorization(basicAuthorization({ user: 'test', password: 'a:b \u00e4' }))).toEqual({ user: 'test', password: 'a:b \u00e4' });
    expect(parseBasicAuthorization('Basic bm9jb2xvbg==')).toBeUndefined(); // "nocolon"
    expect(parseBasicAuthorization('Digest x=y')).toBeUndefined();
  });
});
