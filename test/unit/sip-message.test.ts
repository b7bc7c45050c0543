/** The message boundary: framing, compact forms, folding, tags, name-addr and URI forms. */
import { headerOf, nextCSeq, parseMessage, parseNameAddr, parseUri, tagOf, withHeader, withoutHeader, type HeaderList } from '../../nodes/lib/sip/message';

describe('parseMessage', () => {
  const base = (lines: string[], body = '') => lines.join('\r\n') + '\r\n\r\n' + body;

  test('compact header names, folded lines and Via lists are understood', () => {
    const r = parseMessage(
      base([
        'INVITE sip:1@10.0.0.2 SIP/2.0',
        'v: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKa, SIP/2.0/UDP 10.0.0.8;branch=z9hG4bKb',
        'f: "Door, Front" <sip:101@10.0.0.9>;tag=77',
        't: <sip:1@10.0.0.2>',
        'i: abc@10.0.0.9',
        'CSeq: 5',
        '  INVITE',
        'l: 4',
      ], 'v=0\r\nEXTRA'),
    );
    expect(r.ok).toBe(true);
    if (!r.ok || r.message.kind !== 'request') return;
    expect(r.message.vias.map((v) => v.branch)).toEqual(['z9hG4bKa', 'z9hG4bKb']);
    expect(r.message).toMatchObject({ method: 'INVITE', callId: 'abc@10.0.0.9', cseq: 5, cseqMethod: 'INVITE', fromTag: '77', body: 'v=0\r' });
    expect(r.message.toTag).toBeUndefined();
  });

  test.each([
    ['no blank line', 'INVITE sip:a@b SIP/2.0\r\nVia: x'],
    ['bad Via', base(['OPTIONS sip:a@b SIP/2.0', 'Via: HTTP/1.1 x', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: 1', 'CSeq: 1 OPTIONS'])],
    ['body shorter than Content-Length', base(['OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: 1', 'CSeq: 1 OPTIONS', 'Content-Length: 99'])],
    ['status out of range', base(['SIP/2.0 999 Nope', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:a@b>', 'Call-ID: 1', 'CSeq: 1 OPTIONS'])],
    ['no From tag', base(['OPTIONS sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@b>', 'To: <sip:a@b>', 'Call-ID: 1', 'CSeq: 1 OPTIONS'])],
  ])('refuses %s with a reason', (_name, raw) => {
    const r = parseMessage(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBeTruthy();
  });
});

describe('name-addr and URI', () => {
  test('the forms panels and PBXs send', () => {
    expect(parseNameAddr('"Front \\"A\\"" <sip:101@192.168.1.20:5062;transport=udp>;tag=x;expires=60')).toMatchObject({
      displayName: 'Front "A"',
      uri: { scheme: 'sip', user: '101', host: '192.168.1.20', port: 5062 },
    });
    const bare = parseNameAddr('sip:door@10.0.0.1;expires=30');
    expect(bare?.uri.toString()).toBe('sip:door@10.0.0.1');
    expect(bare?.getParam('expires')).toBe('30');
    expect(parseNameAddr('Door <sip:10.0.0.1>')).toMatchObject({ displayName: 'Door', uri: { user: undefined, host: '10.0.0.1' } });
    expect(parseUri('sip:[fd00::1]:5060')).toMatchObject({ host: 'fd00::1', port: 5060 });
    expect(parseUri('sip:%2B49301234@pbx.local')?.user).toBe('+49301234');
  });

  test('garbage is refused', () => {
    expect(parseUri('http://x')).toBeUndefined();
    expect(parseUri('sip:a@b:99999')).toBeUndefined();
    expect(parseNameAddr('<sip:a@b')).toBeUndefined();
    expect(parseNameAddr('')).toBeUndefined();
  });

  test('tags live outside the URI', () => {
    expect(tagOf('<sip:a@b;tag=inside>;tag=outside')).toBe('outside');
    expect(tagOf('"x;tag=no" <sip:a@b>')).toBeUndefined();
    expect(tagOf('sip:a@b;tag=t1')).toBe('t1');
  });

  test('header lists we build: names are case-insensitive (RFC 3261 §7.3.1), CSeq goes up', () => {
    const hs: HeaderList = [['CSeq', '7 INVITE'], ['to', '<sip:a@b>'], ['Authorization', 'Digest old']];
    expect(headerOf(hs, 'cseq')).toBe('7 INVITE');
    expect(headerOf(hs, 'TO')).toBe('<sip:a@b>');
    expect(headerOf(hs, 'x-none')).toBe('');
    expect(nextCSeq(hs, 'INVITE')[0]).toEqual(['CSeq', '8 INVITE']);
    expect(nextCSeq([['cseq', '1 REGISTER']], 'REGISTER')).toEqual([['cseq', '2 REGISTER']]);
    expect(withHeader(hs, 'To', '<sip:c@d>')[1]).toEqual(['to', '<sip:c@d>']);
    expect(withoutHeader(hs, 'authorization').map(([k]) => k)).toEqual(['CSeq', 'to']);
  });
});
