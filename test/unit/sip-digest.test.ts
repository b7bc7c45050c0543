/** Digest (RFC 2617 / RFC 7616 / RFC 8760), the registrar's nonce rules, CIDR admission, trace masking. */
import { authorize, DigestServer, hash, parseChallenge } from '../../nodes/lib/sip/digest';
import { parseCidrList } from '../../nodes/lib/sip/cidr';
import { maskSecrets } from '../../nodes/lib/sip/trace';

describe('digest client', () => {
  test('matches the RFC 2617 §3.5 worked example (MD5, qop=auth)', () => {
    const ch = parseChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    expect(ch).toBeDefined();
    const h = authorize(ch!, { user: 'Mufasa', password: 'Circle Of Life' }, 'GET', '/dir/index.html', 1, '0a4f113b');
    expect(h).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(h).toContain('nc=00000001');
    expect(h).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
  });

  test('matches the RFC 7616 §3.9.1 example for SHA-256', () => {
    const ch = parseChallenge('Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
    const h = authorize(ch!, { user: 'Mufasa', password: 'Circle of Life' }, 'GET', '/dir/index.html', 1, 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ');
    expect(h).toContain('response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"');
    expect(h).toContain('algorithm=SHA-256');
  });

  test('refuses what it cannot answer', () => {
    expect(parseChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseChallenge('Digest realm="x", nonce="n", algorithm=MD5-sess')).toBeUndefined();
    expect(parseChallenge('Digest nonce="n"')).toBeUndefined();
  });
});

describe('digest server (registrar)', () => {
  const pw = (u: string) => (u === 'panel' ? 'pan3l' : undefined);
  function answer(_server: DigestServer, challenge: string, nc: number, password = 'pan3l', user = 'panel') {
    const ch = parseChallenge(challenge)!;
    return authorize(ch, { user, password }, 'REGISTER', 'sip:127.0.0.1', nc);
  }

  test('accepts the right password, refuses a wrong one and an unknown user', () => {
    const now = 1_000_000;
    const s = new DigestServer('door', () => now);
    const c = s.challenge('SHA-256');
    expect(s.verify(answer(s, c, 1), 'REGISTER', pw)).toMatchObject({ ok: true, user: 'panel' });
    expect(s.verify(answer(s, c, 2, 'guess'), 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'wrong password' });
    expect(s.verify(answer(s, c, 3, 'x', 'mallory'), 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'unknown user' });
  });

  test('replay protection: the same nonce count twice is refused', () => {
    const s = new DigestServer('door', () => 5_000);
    const c = s.challenge('MD5');
    const a = answer(s, c, 1);
    expect(s.verify(a, 'REGISTER', pw).ok).toBe(true);
    expect(s.verify(a, 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'replayed nonce count' });
    expect(s.verify(answer(s, c, 2), 'REGISTER', pw).ok).toBe(true);
  });

  test('nonce expiry: a correct answer to an old nonce is "stale", a forged nonce is not ours', () => {
    let now = 10_000;
    const s = new DigestServer('door', () => now, 60_000);
    const c = s.challenge('MD5');
    now += 61_000;
    expect(s.verify(answer(s, c, 1), 'REGISTER', pw)).toMatchObject({ ok: false, stale: true });
    const forged = c.replace(/nonce="([0-9a-f]+)\.[0-9a-f]+"/, 'nonce="$1.00000000000000000000000000000000"');
    expect(s.verify(answer(s, forged, 1), 'REGISTER', pw)).toMatchObject({ ok: false, reason: 'nonce not ours' });
  });

  test('hash algorithms are the ones named', () => {
    expect(hash('MD5', 'a')).toBe('0cc175b9c0f1b6a831c399e269772661');
    expect(hash('SHA-256', 'a')).toBe('ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb');
  });
});

describe('source admission', () => {
  test('addresses and CIDRs, IPv4 and IPv6, with bad entries reported', () => {
    const { rules, invalid } = parseCidrList('192.168.1.20, 10.0.0.0/8; fd00::/8 nonsense 1.2.3.4/33');
    expect(invalid).toEqual(['nonsense', '1.2.3.4/33']);
    const ok = (a: string) => rules.some((r) => r.test(a));
    expect(ok('192.168.1.20')).toBe(true);
    expect(ok('192.168.1.21')).toBe(false);
    expect(ok('10.200.3.4')).toBe(true);
    expect(ok('::ffff:10.1.1.1')).toBe(true);
    expect(ok('fd12::1')).toBe(true);
    expect(ok('fe80::1')).toBe(false);
    expect(ok('11.0.0.1')).toBe(false);
  });
});

describe('trace masking', () => {
  test('digest responses and configured secrets never reach the trace', () => {
    const m = maskSecrets('Authorization: Digest username="door", response="abcdef0123", cnonce="xyz"\r\nX-Note: Sup3rSecret', ['Sup3rSecret']);
    expect(m).not.toContain('abcdef0123');
    expect(m).not.toContain('Sup3rSecret');
    expect(m).toContain('username="door"');
  });
});
