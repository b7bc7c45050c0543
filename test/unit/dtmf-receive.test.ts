import { buildInfoDtmf, parseInfoDtmf } from '../../nodes/lib/media/dtmf-info';
import { buildTelephoneEvent, eventPackets, parseTelephoneEvent, Rfc4733Decoder, type DecodedDigit } from '../../nodes/lib/media/rfc4733';

function decoder(): { d: Rfc4733Decoder; got: DecodedDigit[]; clock: { t: number } } {
  const got: DecodedDigit[] = [];
  const clock = { t: 0 };
  return { d: new Rfc4733Decoder((x) => got.push(x), { now: () => clock.t, endTimeoutMs: 500 }), got, clock };
}
const ev = (event: number, duration: number, end = false): Buffer => buildTelephoneEvent({ event, end, volume: 10, duration });

describe('RFC 4733 receive', () => {
  test('one press with three redundant end packets is one digit with its duration', () => {
    const { d, got } = decoder();
    for (const dur of [160, 320, 480, 640]) d.push(1, 1000, ev(9, dur));
    for (let i = 0; i < 3; i++) d.push(1, 1000, ev(9, 800, true));
    expect(got).toEqual([{ digit: '9', durationMs: 100, endLost: false }]);
  });

  test('"99": the same digit twice in a row is two presses (new timestamp)', () => {
    const { d, got } = decoder();
    for (const ts of [1000, 3000]) {
      d.push(1, ts, ev(9, 160));
      d.push(1, ts, ev(9, 320));
      for (let i = 0; i < 3; i++) d.push(1, ts, ev(9, 480, true));
    }
    expect(got.map((g) => g.digit)).toEqual(['9', '9']);
  });

  test('a straggling end packet of an earlier press is not a new press', () => {
    const { d, got } = decoder();
    d.push(1, 1000, ev(1, 480, true));
    d.push(1, 2000, ev(2, 480, true));
    d.push(1, 1000, ev(1, 480, true)); // reordered redundant end of "1"
    expect(got.map((g) => g.digit)).toEqual(['1', '2']);
  });

  test('a long press across the 16-bit duration overflow is one press (§2.5.1.3)', () => {
    const { d, got } = decoder();
    // our own sender's schedule for a 10 s press, packets in order
    for (const p of eventPackets('5', 10000)) d.push(7, 50000 + p.timestampOffset, p.payload);
    expect(got).toEqual([{ digit: '5', durationMs: 10000, endLost: false }]);
  });

  test('all end packets lost: the press is reported once, at the next press or after a timeout', () => {
    const { d, got, clock } = decoder();
    d.push(1, 1000, ev(4, 160));
    d.push(1, 1000, ev(4, 320));
    d.push(1, 4000, ev(6, 160)); // next press starts
    expect(got).toEqual([{ digit: '4', durationMs: 40, endLost: true }]);
    clock.t = 499;
    d.tick();
    expect(got).toHaveLength(1);
    clock.t = 500;
    d.tick();
    d.tick();
    expect(got.map((g) => g.digit)).toEqual(['4', '6']);
  });

  test('our sender schedule: marker first, duration steps of ptime, three identical end packets', () => {
    const pkts = eventPackets('#', 100, 20);
    expect(pkts.map((p) => p.at)).toEqual([0, 20, 40, 60, 80, 100, 120]);
    expect(pkts.map((p) => p.marker)).toEqual([true, false, false, false, false, false, false]);
    const evs = pkts.map((p) => parseTelephoneEvent(p.payload)!);
    expect(evs.map((e) => e.duration)).toEqual([160, 320, 480, 640, 800, 800, 800]);
    expect(evs.map((e) => e.end)).toEqual([false, false, false, false, true, true, true]);
    expect(evs.every((e) => e.event === 11)).toBe(true);
    expect(() => eventPackets('x', 100)).toThrow(/^media\.notDtmfDigit/);
  });

  test('non-DTMF events and short payloads are ignored', () => {
    const { d, got } = decoder();
    d.push(1, 1, Buffer.from([32, 0x80, 0, 160])); // event 32 (modem tone), end
    d.push(1, 2, Buffer.from([1, 2]));
    d.flush();
    expect(got).toEqual([]);
  });
});

describe('SIP INFO DTMF bodies', () => {
  test.each([
    ['application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n', { ok: true, digit: '5', durationMs: 160 }],
    ['application/dtmf-relay', 'Signal= #\nDuration= 250', { ok: true, digit: '#', durationMs: 250 }],
    ['Application/DTMF-Relay; charset=utf-8', 'signal=*\r\n', { ok: true, digit: '*', durationMs: undefined }],
    ['application/dtmf-relay', 'Signal=11\r\nDuration=100\r\n', { ok: true, digit: '#', durationMs: 100 }],
    ['application/dtmf-relay', 'Signal=a\r\n', { ok: true, digit: 'A', durationMs: undefined }],
    ['application/dtmf', '9', { ok: true, digit: '9' }],
    ['application/dtmf', ' 10\r\n', { ok: true, digit: '*' }],
  ])('%s %j', (type, body, want) => {
    expect(parseInfoDtmf(type, body)).toEqual(want);
  });

  test.each([
    ['application/dtmf-relay', 'Duration=160', 'noSignal'],
    ['application/dtmf-relay', 'Signal=X', 'notDigit'],
    ['application/dtmf-relay', 'Signal=1\r\nSignal=2', 'twoSignals'],
    ['application/dtmf', '99', 'notDigit'],
    ['application/dtmf', '', 'notDigit'],
    ['text/plain', 'Signal=1', 'notDtmfType'],
    [undefined, 'Signal=1', 'noContentType'],
    ['application/dtmf', undefined, 'noBody'],
  ])('rejected: %s %j (%s)', (type, body, reason) => {
    expect(parseInfoDtmf(type, body)).toEqual({ ok: false, reason });
  });

  test('an oversized body is rejected', () => {
    expect(parseInfoDtmf('application/dtmf-relay', 'Signal=1\r\n' + 'x'.repeat(5000))).toEqual({ ok: false, reason: 'tooLarge' });
  });

  test('a Buffer body works too', () => {
    expect(parseInfoDtmf('application/dtmf-relay', Buffer.from('Signal=3\r\n'))).toMatchObject({ ok: true, digit: '3' });
  });
});

describe('SIP INFO DTMF bodies to send', () => {
  test('every key round-trips through our own parser', () => {
    for (const k of '0123456789*#ABCD') {
      const { contentType, body } = buildInfoDtmf(k, 200);
      expect(parseInfoDtmf(contentType, body)).toEqual({ ok: true, digit: k, durationMs: 200 });
    }
    expect(buildInfoDtmf('5').body).toBe('Signal=5\r\nDuration=160\r\n');
    expect(() => buildInfoDtmf('55')).toThrow(/^media\.notDtmfDigit/);
  });
});
