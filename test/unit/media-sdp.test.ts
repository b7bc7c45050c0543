import { NotAcceptableHere } from '../../nodes/lib/media/port';
import { holds } from '../../nodes/lib/media/negotiation';
import { acceptAnswer, answerOffer, createOffer, type LocalMediaParams } from '../../nodes/lib/media/offer-answer';
import { buildSdp, parseSdp, SdpError } from '../../nodes/lib/media/sdp';

const local: LocalMediaParams = { address: '127.0.0.1', rtpPort: 40000, sessionId: '42', sessionVersion: 1 };

// A BAS-IP-like panel offer: PCMA preferred, telephone-event on 96, video we do not carry.
const panelOffer = [
  'v=0',
  'o=panel 1 1 IN IP4 192.0.2.10',
  's=call',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 7078 RTP/AVP 8 0 18 96',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:18 G729/8000',
  'a=rtpmap:96 telephone-event/8000',
  'a=fmtp:96 0-15',
  'a=ptime:30',
  'm=video 9078 RTP/AVP 99',
  'a=rtpmap:99 H264/90000',
  '',
].join('\r\n');

describe('SDP parse/build', () => {
  test('parses a panel offer into typed values', () => {
    const sd = parseSdp(panelOffer);
    expect(sd.origin.address).toBe('192.0.2.10');
    expect(sd.media).toHaveLength(2);
    const a = sd.media[0];
    expect(a).toMatchObject({ type: 'audio', port: 7078, proto: 'RTP/AVP', formats: ['8', '0', '18', '96'], ptime: 30 });
    expect(a.rtpmap.get(96)).toEqual({ encoding: 'telephone-event', clockRate: 8000, channels: undefined });
    expect(a.fmtp.get(96)).toBe('0-15');
  });

  test('accepts bare LF line ends and round-trips through buildSdp', () => {
    const sd = parseSdp(panelOffer.replace(/\r\n/g, '\n'));
    const again = parseSdp(buildSdp(sd));
    expect(again.media[0].rtpmap).toEqual(sd.media[0].rtpmap);
    expect(again.media[1].port).toBe(9078);
  });

  test.each([
    ['not text', 42],
    ['empty', ''],
    ['no version', 'o=a 1 1 IN IP4 1.2.3.4\r\n'],
    ['garbage line', 'v=0\r\nhello\r\n'],
    ['bad port', 'v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0\r\n'],
    ['non numeric port', 'v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio abc RTP/AVP 0\r\n'],
    ['short m line', 'v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nm=audio 1\r\n'],
    ['bad rtpmap', 'v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:x\r\n'],
    ['rtpmap pt 300', 'v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:300 PCMU/8000\r\n'],
    ['no c= line', 'v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nm=audio 1000 RTP/AVP 0\r\n'],
    ['bad c= line', 'v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN ATM x\r\nm=audio 1000 RTP/AVP 0\r\n'],
    ['no o= line', 'v=0\r\ns=-\r\n'],
    ['huge', 'v=0\r\n' + 'a=x\r\n'.repeat(10000)],
    ['bad ptime', 'v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\na=ptime:fast\r\n'],
  ])('malformed (%s) raises SdpError and nothing else', (_what, body) => {
    expect(() => parseSdp(body)).toThrow(SdpError);
  });

  test('random mutations of a valid offer only ever raise SdpError', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = ' =:/\r\n0123456789abcmva-';
    for (let i = 0; i < 3000; i++) {
      const chars = panelOffer.split('');
      for (let k = 0; k < 1 + rnd(6); k++) chars[rnd(chars.length)] = alphabet[rnd(alphabet.length)];
      try {
        parseSdp(chars.join(''));
      } catch (err) {
        expect(err).toBeInstanceOf(SdpError);
      }
    }
  });
});

describe('offer/answer (RFC 3264)', () => {
  test('answers PCMA with the peer telephone-event type 96 and declines video with port 0', () => {
    const { answer, audio } = answerOffer(parseSdp(panelOffer), local);
    expect(audio).toMatchObject({ codec: { name: 'PCMA', pt: 8 }, telephoneEvent: 96, remoteAddress: '192.0.2.10', remotePort: 7078, remoteRtcpPort: 7079, ptime: 30, direction: 'sendrecv' });
    const text = buildSdp(answer);
    expect(text).toContain('m=audio 40000 RTP/AVP 8 96\r\n');
    expect(text).toContain('a=rtpmap:96 telephone-event/8000\r\n');
    expect(text).toContain('m=video 0 RTP/AVP 99\r\n');
    expect(text).toContain('c=IN IP4 127.0.0.1\r\n');
    // The answer itself parses and has as many m= lines as the offer (§6).
    expect(parseSdp(text).media).toHaveLength(2);
  });

  test('follows the offer order (PCMU first) and the peer payload type 101', () => {
    const offer = parseSdp('v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n');
    const { audio } = answerOffer(offer, local);
    expect(audio.codec).toEqual({ name: 'PCMU', pt: 0 });
    expect(audio.telephoneEvent).toBe(101);
    expect(audio.ptime).toBe(20);
  });

  test('a dynamic payload type named PCMU is carried with its number', () => {
    const offer = parseSdp('v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 112\r\na=rtpmap:112 pcmu/8000\r\n');
    expect(answerOffer(offer, local).audio.codec).toEqual({ name: 'PCMU', pt: 112 });
  });

  test.each([
    ['sendonly', 'recvonly'],
    ['recvonly', 'sendonly'],
    ['inactive', 'inactive'],
    ['sendrecv', 'sendrecv'],
  ])('hold: offer %s is answered %s', (theirs, ours) => {
    const offer = parseSdp(`v=0\r\no=x 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=${theirs}\r\n`);
    const { answer, audio } = answerOffer(offer, local);
    expect(audio.direction).toBe(ours);
    expect(buildSdp(answer)).toContain(`a=${ours}\r\n`);
  });

  test('session-level direction applies and old-style c=0.0.0.0 hold stops our sending', () => {
    const offer = parseSdp('v=0\r\no=x 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n');
    expect(answerOffer(offer, local).audio.direction).toBe('recvonly');
    const offer2 = parseSdp('v=0\r\no=x 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendonly\r\nm=audio 5000 RTP/AVP 0\r\n');
    expect(answerOffer(offer2, local).audio.direction).toBe('recvonly');
  });

  test('we hold: sendrecv offer is answered sendonly', () => {
    const offer = parseSdp('v=0\r\no=x 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n');
    expect(answerOffer(offer, { ...local, hold: true }).audio.direction).toBe('sendonly');
  });

  test.each([
    ['only G.729', 'm=audio 5000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n'],
    ['only video', 'm=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n'],
    ['SRTP audio', 'm=audio 5000 RTP/SAVP 0\r\n'],
    ['PCMU at 16 kHz', 'm=audio 5000 RTP/AVP 97\r\na=rtpmap:97 PCMU/16000\r\n'],
    ['only telephone-event', 'm=audio 5000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n'],
    ['audio port 0', 'm=audio 0 RTP/AVP 0\r\n'],
  ])('no common codec (%s) → NotAcceptableHere with status 488', (_what, m) => {
    const offer = parseSdp(`v=0\r\no=x 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n${m}`);
    let err: unknown;
    try {
      answerOffer(offer, local);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotAcceptableHere);
    expect((err as NotAcceptableHere).status).toBe(488);
  });

  test('our offer and a remote answer: the codec and event type the answerer chose', () => {
    const offer = createOffer(local);
    const text = buildSdp(offer);
    expect(text).toContain('m=audio 40000 RTP/AVP 0 8 101\r\n');
    expect(text).toContain('a=fmtp:101 0-15\r\n');
    const answer = parseSdp('v=0\r\no=y 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=recvonly\r\n');
    expect(acceptAnswer(offer, answer)).toMatchObject({ codec: { name: 'PCMA', pt: 8 }, telephoneEvent: 101, remotePort: 6000, direction: 'sendonly' });
  });

  test('an answer that rejects audio or picks a codec we never offered → NotAcceptableHere', () => {
    const offer = createOffer(local);
    const rejected = parseSdp('v=0\r\no=y 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n');
    expect(() => acceptAnswer(offer, rejected)).toThrow(NotAcceptableHere);
    const alien = parseSdp('v=0\r\no=y 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 18\r\n');
    expect(() => acceptAnswer(offer, alien)).toThrow(NotAcceptableHere);
  });
});

describe('hold (RFC 3264 §8.4), read from a parsed offer', () => {
  const offer = (lines: string[], c = '192.0.2.10') => parseSdp(['v=0', 'o=p 1 2 IN IP4 192.0.2.10', 's=-', `c=IN IP4 ${c}`, 't=0 0', 'm=audio 7078 RTP/AVP 0', ...lines, ''].join('\r\n'));
  test('sendonly, inactive and the old c=0.0.0.0 hold; sendrecv and recvonly do not', () => {
    expect(holds(offer(['a=sendonly']))).toBe(true);
    expect(holds(offer(['a=inactive']))).toBe(true);
    expect(holds(offer([], '0.0.0.0'))).toBe(true);
    expect(holds(offer(['a=sendrecv']))).toBe(false);
    expect(holds(offer(['a=recvonly']))).toBe(false);
    expect(holds(offer([]))).toBe(false);
    expect(holds(parseSdp(panelOffer))).toBe(false);
  });
});
