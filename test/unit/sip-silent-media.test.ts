/** The silent test media (test/helpers/silent-media.ts) negotiates through media/sdp; the 488 path of an answer. */
import * as dgram from 'node:dgram';
import { silentMediaFactory } from '../helpers/silent-media';
import { type MediaFactory, NotAcceptableHere } from '../../nodes/lib/media/port';
import type { SecurityEvent } from '../../nodes/lib/sip/security';
import { SipEndpoint } from '../../nodes/lib/sip/endpoint';
import { SipTransport } from '../../nodes/lib/sip/transport';
import type { Call } from '../../nodes/lib/sip/call';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';

const ctx = { callId: 'c', direction: 'inbound' as const, localAddress: '127.0.0.1' };
const offer = (m: string[]) => ['v=0', 'o=- 1 1 IN IP4 10.0.0.9', 's=-', 'c=IN IP4 10.0.0.9', 't=0 0', ...m].join('\r\n') + '\r\n';

describe('silent test media', () => {
  test('keeps PCMU + the offered telephone-event payload type, declines video with port 0', async () => {
    const sdp = await silentMediaFactory(41000).create(ctx).answer(offer(['m=audio 7000 RTP/AVP 8 0 96', 'a=rtpmap:96 telephone-event/8000', 'm=video 7002 RTP/AVP 97', 'a=rtpmap:97 H264/90000']));
    expect(sdp).toMatch(/\r\nc=IN IP4 127\.0\.0\.1\r\n/);
    expect(sdp).toMatch(/\r\nm=audio 41000 RTP\/AVP 0 96\r\n/);
    expect(sdp).toContain('a=rtpmap:96 telephone-event/8000');
    expect(sdp).toMatch(/\r\nm=video 0 RTP\/AVP 97\r\n/);
  });

  test('no PCMU offered is NotAcceptableHere', async () => {
    await expect(silentMediaFactory().create(ctx).answer(offer(['m=audio 7000 RTP/AVP 8']))).rejects.toBeInstanceOf(NotAcceptableHere);
  });

  async function call(factory: MediaFactory, body: string): Promise<{ replies: string[]; errors: string[]; calls: number; events: SecurityEvent[] }> {
    const port = await freeSipPort();
    const transport = new SipTransport({ protocol: 'udp', host: '127.0.0.1', port });
    await transport.start();
    const ep = new SipEndpoint({ transport, mediaFactory: factory, mode: 'p2p', user: 'door' });
    const errors: string[] = [];
    const events: SecurityEvent[] = [];
    let calls = 0;
    ep.on('call', (c: Call) => {
      calls++;
      c.answer().catch((e: Error) => errors.push(e.message));
    });
    ep.on('security', (ev) => events.push(ev));
    const client = dgram.createSocket('udp4');
    const replies: string[] = [];
    client.on('message', (m) => replies.push(m.toString()));
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    const invite = [`INVITE sip:door@127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${client.address().port};branch=z9hG4bKpcma`, 'From: <sip:p@127.0.0.1>;tag=1', 'To: <sip:door@127.0.0.1>', 'Call-ID: pcma', 'CSeq: 1 INVITE', 'Contact: <sip:p@127.0.0.1>', 'Content-Type: application/sdp', `Content-Length: ${body.length}`, '', body].join('\r\n');
    client.send(invite, port, '127.0.0.1');
    try {
      await waitFor(() => replies.some((r) => r.startsWith('SIP/2.0 488')), '488');
      await delay(50);
    } finally {
      client.close();
      await ep.close();
      await transport.close();
    }
    return { replies, errors, calls, events };
  }

  test('an offer without a codec we carry gets 488 at once: nothing rings, no flow sees it, one security event', async () => {
    const r = await call(silentMediaFactory(), offer(['m=audio 7000 RTP/AVP 8', 'a=rtpmap:8 PCMA/8000']));
    expect(r.replies.map((m) => m.split('\r\n')[0])).toEqual(['SIP/2.0 488 Not Acceptable Here']);
    expect(r.replies[0]).toMatch(/\r\nWarning: 305 127\.0\.0\.1 "Incompatible media format"\r\n/);
    expect(r.calls).toBe(0);
    expect(r.events).toEqual([expect.objectContaining({ kind: 'refused', reason: 'no-common-codec', status: 488, from: expect.objectContaining({ user: 'p' }) })]);
  });

  test('an offer that cannot be read gets 488 with Warning 399 before anything rings', async () => {
    const r = await call(silentMediaFactory(), offer(['m=audio 7000 RTP/AVP 0', 'a=rtpmap:0 PCMU/eight-thousand']));
    expect(r.replies.map((m) => m.split('\r\n')[0])).toEqual(['SIP/2.0 488 Not Acceptable Here']);
    expect(r.replies[0]).toMatch(/\r\nWarning: 399 127\.0\.0\.1 "Session description not understood"\r\n/);
    expect(r.calls).toBe(0);
  });

  test('an rtpmap without its clock rate (RFC 4475) is read as none: the audio beside it still rings', async () => {
    const sdp = await silentMediaFactory(41000).create(ctx).answer(offer(['m=audio 7000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'm=video 7002 RTP/AVP 31', 'a=rtpmap:31 LPC']));
    expect(sdp).toMatch(/\r\nm=audio 41000 RTP\/AVP 0\r\n/);
    expect(sdp).toMatch(/\r\nm=video 0 RTP\/AVP 31\r\n/);
  });

  test('without a check in the media factory the caller still gets 488 when the flow answers, and the flow the reason', async () => {
    const f = silentMediaFactory();
    const r = await call({ create: (ctx) => f.create(ctx) }, offer(['m=audio 7000 RTP/AVP 8', 'a=rtpmap:8 PCMA/8000']));
    expect(r.calls).toBe(1);
    expect(r.errors[0]).toMatch(/^sip\.callRejectedCodec \(status=488\)/);
  });
});
