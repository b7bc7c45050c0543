import * as dgram from 'node:dgram';
import { bridge } from '../../nodes/lib/media/bridge';
import { createRtpMediaFactory, type RtpCallMedia } from '../../nodes/lib/media/call-media';
import { decode } from '../../nodes/lib/media/g711';
import { buildRtp } from '../../nodes/lib/media/rtp';
import { buildTelephoneEvent } from '../../nodes/lib/media/rfc4733';
import { NotAcceptableHere, type DtmfEvent } from '../../nodes/lib/media/port';
import { waitFor } from '../helpers/wait';

const factory = createRtpMediaFactory({ rtcpIntervalMs: 0 });
const legs: RtpCallMedia[] = [];
function leg(id: string, direction: 'inbound' | 'outbound' = 'inbound'): RtpCallMedia {
  const m = factory.create({ callId: id, direction, localAddress: '127.0.0.1' });
  legs.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(legs.splice(0).map((l) => l.close()));
});

/** Connect two legs as caller (offer) and callee (answer); `edit` may rewrite the offer. */
async function call(a: RtpCallMedia, b: RtpCallMedia, edit = (s: string) => s): Promise<void> {
  const offer = edit(await a.offer());
  const answer = await b.answer(offer);
  await a.setRemoteAnswer(answer);
}
function collect(m: RtpCallMedia): DtmfEvent[] {
  const got: DtmfEvent[] = [];
  m.on('dtmf', (e: DtmfEvent) => got.push(e));
  return got;
}
function toneLevel(pcm: Int16Array, f: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < pcm.length; i++) {
    re += pcm[i] * Math.cos((2 * Math.PI * f * i) / 8000);
    im += pcm[i] * Math.sin((2 * Math.PI * f * i) / 8000);
  }
  return (2 * Math.hypot(re, im)) / pcm.length;
}

describe('call media between two of our own legs on loopback', () => {
  test('RFC 4733 out → RFC 4733 in: "1#99" arrives as exactly four presses', async () => {
    const a = leg('a', 'outbound');
    const b = leg('b');
    const got = collect(b);
    const started = new Promise((r) => b.once('rtp-start', r));
    await call(a, b);
    await started;
    await a.sendDtmf('1#99');
    await waitFor(() => got.length === 4, 'four digits');
    expect(got.map((g) => g.digit).join('')).toBe('1#99');
    expect(got.every((g) => g.method === 'rfc4733' && g.durationMs === 100)).toBe(true);
  });

  test('a peer without telephone-event gets in-band tones, detected in-band', async () => {
    const a = leg('a', 'outbound');
    const b = leg('b');
    const got = collect(b);
    await call(a, b, (sdp) => sdp.replace(/ 101\r\n/, '\r\n').replace(/a=rtpmap:101.*\r\n|a=fmtp:101.*\r\n/g, ''));
    expect(a.negotiated?.telephoneEvent).toBeUndefined();
    await a.sendDtmf('58');
    await waitFor(() => got.length === 2, 'two in-band digits');
    expect(got.map((g) => [g.digit, g.method])).toEqual([['5', 'inband'], ['8', 'inband']]);
  });

  test('SIP INFO digits are reported; the same press by two methods is reported once', async () => {
    const a = leg('a', 'outbound');
    const b = leg('b');
    const got = collect(b);
    await call(a, b);
    expect(b.receiveInfo('application/dtmf-relay', 'Signal=7\r\nDuration=160\r\n')).toBe(true);
    expect(b.receiveInfo('text/plain', 'hello')).toBe(false);
    await a.sendDtmf('7'); // the same press also by RFC 4733, within the window
    await a.sendDtmf('3');
    await waitFor(() => got.length === 2, 'digits');
    expect(got.map((g) => [g.digit, g.method])).toEqual([['7', 'info'], ['3', 'rfc4733']]);
  });

  test('a prompt plays at 20 ms pacing for its length', async () => {
    const a = leg('a', 'outbound');
    const b = leg('b');
    await call(a, b);
    const frames: number[] = [];
    b.on('audio', (p: Buffer) => frames.push(p.length));
    const t0 = Date.now();
    await a.play('tone:1000:400');
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(360);
    expect(took).toBeLessThan(1000);
    expect(frames.every((n) => n === 160)).toBe(true);
    await a.play('goodbye'); // a shipped prompt loads and plays
  });

  test('bridge: a μ-law leg and an A-law leg hear each other, translated', async () => {
    // panel (PCMU) ↔ us [p] ... us [q] ↔ phone (PCMA only)
    const panel = leg('panel', 'outbound');
    const p = leg('p');
    const q = leg('q', 'outbound');
    const phone = factory.create({ callId: 'phone', direction: 'inbound', localAddress: '127.0.0.1' });
    legs.push(phone);
    await call(panel, p);
    await call(q, phone, (sdp) => sdp.replace('RTP/AVP 0 8 101', 'RTP/AVP 8 101').replace('a=rtpmap:0 PCMU/8000\r\n', ''));
    expect(p.law).toBe('PCMU');
    expect(q.law).toBe('PCMA');
    const br = bridge(p, q);
    const heardAtPhone: Buffer[] = [];
    const heardAtPanel: Buffer[] = [];
    phone.on('audio', (x: Buffer) => heardAtPhone.push(x));
    panel.on('audio', (x: Buffer) => heardAtPanel.push(x));
    await Promise.all([panel.play('tone:1000:600'), phone.play('tone:600:600')]);
    await waitFor(() => br.counts.aToB > 20 && br.counts.bToA > 20, 'audio both ways');
    const atPhone = decode('PCMA', Buffer.concat(heardAtPhone));
    const atPanel = decode('PCMU', Buffer.concat(heardAtPanel));
    // The panel's 1000 Hz reached the phone and the phone's 600 Hz reached the panel.
    expect(toneLevel(atPhone, 1000)).toBeGreaterThan(5 * toneLevel(atPhone, 600) + 100);
    expect(toneLevel(atPanel, 600)).toBeGreaterThan(5 * toneLevel(atPanel, 1000) + 100);
    // The phone presses the panel's door code: the panel gets it (RFC 4733 re-sent).
    const atPanelKeys = collect(panel);
    await phone.sendDtmf('9');
    await waitFor(() => atPanelKeys.length === 1, 'relayed key at the panel');
    expect(atPanelKeys[0]).toMatchObject({ digit: '9', method: 'rfc4733' });
    expect(br.counts.dtmfBToA).toBe(1);
    br.unbridge();
    await phone.sendDtmf('1');
    await new Promise((r) => setTimeout(r, 300));
    expect(atPanelKeys).toHaveLength(1); // unbridged: no more relay
  });

  test('bridge: an in-band key crosses once, with the audio, not again as an event', async () => {
    const noTe = (sdp: string): string => sdp.replace(/ 101\r\n/, '\r\n').replace(/a=rtpmap:101.*\r\n|a=fmtp:101.*\r\n/g, '');
    const panel = leg('panel', 'outbound');
    const p = leg('p');
    const q = leg('q', 'outbound');
    const phone = leg('phone');
    await call(panel, p, noTe); // the panel only does in-band
    await call(q, phone); // the phone leg has telephone-event
    const br = bridge(p, q);
    const atPhone = collect(phone);
    await panel.sendDtmf('5', { durationMs: 200 });
    await waitFor(() => atPhone.length >= 1, 'key at the phone', 3000);
    await new Promise((r) => setTimeout(r, 500));
    expect(atPhone.map((e) => `${e.digit}:${e.method}`)).toEqual(['5:inband']);
    expect(br.counts.dtmfAToB).toBe(0);
    br.unbridge();
  });

  test('malformed SDP and no common codec both give NotAcceptableHere (488)', async () => {
    const b = leg('b');
    await expect(b.answer('this is not sdp')).rejects.toBeInstanceOf(NotAcceptableHere);
    await expect(b.answer('v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n')).rejects.toMatchObject({ status: 488 });
  });

  test('DTMF injected from another source after the call is up is ignored (no hijack)', async () => {
    const a = leg('a', 'outbound');
    const b = leg('b');
    const got = collect(b);
    await call(a, b);
    await waitFor(() => b.rtp?.latchedTo, 'b latched to a');
    const intruder = dgram.createSocket('udp4');
    await new Promise<void>((r) => intruder.bind(0, '127.0.0.1', () => r()));
    const te = b.negotiated!.telephoneEvent!;
    for (let i = 0; i < 4; i++) {
      intruder.send(buildRtp({ payloadType: te, sequence: i, timestamp: 999, ssrc: 4242, marker: i === 0 }, buildTelephoneEvent({ event: 9, end: i === 3, volume: 10, duration: 160 * (i + 1) })), b.rtp!.localPort, '127.0.0.1');
    }
    await waitFor(() => (b.rtp?.stats.rejectedSource ?? 0) >= 4, 'intruder rejected');
    await new Promise<void>((r) => intruder.close(() => r()));
    expect(got).toEqual([]);
  });

  test('hold: a sendonly re-offer makes us recvonly; we stop sending and cannot send DTMF', async () => {
    const a = leg('a', 'outbound');
    const b = leg('b');
    await call(a, b);
    const offer = (await a.offer()).replace('a=sendrecv', 'a=sendonly');
    const answer = await b.answer(offer);
    expect(answer).toContain('a=recvonly');
    await expect(b.sendDtmf('1')).rejects.toThrow(/^media\.cannotSendDtmf \(direction="recvonly"\)/);
    const sent = b.rtp!.stats.sent;
    await new Promise((r) => setTimeout(r, 100));
    expect(b.rtp!.stats.sent).toBe(sent);
  });

  test('we hold: setHold makes the re-offer sendonly, the peer answers recvonly, and we stop sending', async () => {
    const a = leg('a', 'outbound');
    const b = leg('b');
    await call(a, b);
    a.setHold(true);
    const offer = await a.offer();
    expect(offer).toContain('a=sendonly');
    const answer = await b.answer(offer);
    expect(answer).toContain('a=recvonly');
    await a.setRemoteAnswer(answer);
    expect(a.negotiated?.direction).toBe('sendonly');
    expect(b.negotiated?.direction).toBe('recvonly');
    const sentByB = b.rtp!.stats.sent;
    await new Promise((r) => setTimeout(r, 100));
    expect(b.rtp!.stats.sent).toBe(sentByB); // the held party does not send
    a.setHold(false);
    const resume = await b.answer(await a.offer());
    expect(resume).toContain('a=sendrecv');
  });

  test('we packetise at the ptime the peer asked for (30 ms): 240 samples, timestamps +240', async () => {
    const b = leg('b');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const got: Array<{ len: number; ts: number; at: number }> = [];
    const { parseRtp } = await import('../../nodes/lib/media/rtp');
    sock.on('message', (m) => {
      const p = parseRtp(m);
      if (p) got.push({ len: p.payload.length, ts: p.timestamp, at: Date.now() });
    });
    await b.answer(`v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${sock.address().port} RTP/AVP 8\r\na=ptime:30\r\n`);
    await waitFor(() => got.length >= 11, 'ten packets');
    await new Promise<void>((r) => sock.close(() => r()));
    expect(got.every((g) => g.len === 240)).toBe(true);
    for (let i = 1; i < 10; i++) expect((got[i].ts - got[i - 1].ts) >>> 0).toBe(240);
    // 10 intervals of 30 ms on a real clock (loose: the machine is shared)
    expect(got[10].at - got[0].at).toBeGreaterThan(250);
  });

  test('a re-INVITE that changes ptime keeps pacing and timestamps continuous', async () => {
    const b = leg('b');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const got: Array<{ len: number; ts: number }> = [];
    const { parseRtp } = await import('../../nodes/lib/media/rtp');
    sock.on('message', (m) => {
      const p = parseRtp(m);
      if (p) got.push({ len: p.payload.length, ts: p.timestamp });
    });
    const sdp = (ptime: number, v: number): string =>
      `v=0\r\no=p 1 ${v} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${sock.address().port} RTP/AVP 0\r\na=ptime:${ptime}\r\n`;
    await b.answer(sdp(20, 1));
    await waitFor(() => got.length >= 10, 'packets at 20 ms');
    await b.answer(sdp(40, 2));
    const at = got.length;
    await waitFor(() => got.length >= at + 5, 'packets at 40 ms', 2000);
    await new Promise<void>((r) => sock.close(() => r()));
    const deltas = got.slice(1).map((g, i) => (g.ts - got[i].ts) >>> 0);
    // every step is one packet's worth of samples: 160, then 320 (no jump, no stall)
    expect(deltas.every((d) => d === 160 || d === 320)).toBe(true);
    expect(got[got.length - 1].len).toBe(320);
  });

  test('a peer that stops sending RTP is reported once with rtp-timeout', async () => {
    const m = createRtpMediaFactory({ rtcpIntervalMs: 0, rtpTimeoutMs: 150 }).create({ callId: 't', direction: 'inbound', localAddress: '127.0.0.1' });
    legs.push(m);
    const events: unknown[] = [];
    m.on('rtp-timeout', (e) => events.push(e));
    await m.answer('v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n');
    await waitFor(() => events.length === 1, 'rtp-timeout');
    await new Promise((r) => setTimeout(r, 300));
    expect(events).toHaveLength(1);
  });

  test('close releases the RTP and RTCP ports and emits closed', async () => {
    const b = leg('b');
    await b.answer('v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n');
    const port = b.rtp!.localPort;
    const closed = new Promise<void>((r) => b.once('closed', r));
    await b.close();
    await closed;
    for (const p of [port, port + 1]) {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind({ port: p, address: '127.0.0.1', exclusive: true }, () => resolve());
      });
      await new Promise<void>((r) => s.close(() => r()));
    }
    await expect(b.answer('v=0')).rejects.toThrow();
  });
});

describe('jitter tolerance on the receive path', () => {
  test('in-band tones through reordered, jittered packets with one lost: one digit per press', async () => {
    const b = leg('b');
    const got = collect(b);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    // A panel without telephone-event: in-band is the only way.
    await b.answer(`v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${sock.address().port} RTP/AVP 0\r\n`);
    const { dtmfTone } = await import('../../nodes/lib/media/tones');
    const { encode } = await import('../../nodes/lib/media/g711');
    const pcm: number[] = [];
    for (const k of '1559') pcm.push(...new Array(800).fill(0), ...dtmfTone(k, 200));
    pcm.push(...new Array(1600).fill(0));
    const ulaw = encode('PCMU', pcm);
    const packets: Buffer[] = [];
    for (let i = 0; i * 160 < ulaw.length; i++) packets.push(buildRtp({ payloadType: 0, sequence: 60000 + i, timestamp: i * 160, ssrc: 5 }, ulaw.subarray(i * 160, i * 160 + 160)));
    // Swap neighbours every 7th packet, lose one in the middle of the second "5".
    for (let i = 3; i + 1 < packets.length; i += 7) [packets[i], packets[i + 1]] = [packets[i + 1], packets[i]];
    const lost = Math.floor((800 + 1600 + 800 + 800 + 800) / 160);
    packets.splice(lost, 1);
    let seed = 11;
    for (const p of packets) {
      sock.send(p, b.rtp!.localPort, '127.0.0.1');
      // 0-30 ms between packets, 20 ms on average
      await new Promise((r) => setTimeout(r, ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 31)));
    }
    await waitFor(() => got.length >= 4, 'four digits', 3000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    await new Promise<void>((r) => sock.close(() => r()));
    expect(got.map((g) => g.digit).join('')).toBe('1559');
  });
});
