/**
 * A browser's SDP is untrusted input like a panel's: what werift would take wrongly (codecs
 * matched by mime type only, any clock rate, any H.264 profile) is cut before it sees it,
 * and an offer without the DTLS fingerprint or the ICE credentials WebRTC needs, or not
 * SRTP, or with nothing we carry, is refused with 488. Candidates from addresses no peer
 * has are dropped. And the H.264 offer/answer of a panel's RTP leg (video-negotiation.ts).
 */
import { candidateAddressUsable, isWebRtcSdp, trimWebRtcSdp } from '../../nodes/lib/media/webrtc-sdp';
import { acceptVideoAnswer, answerVideo, buildFir, buildPli, offerVideo, offeredVideo } from '../../nodes/lib/media/video-negotiation';
import { answerOffer, createOffer } from '../../nodes/lib/media/offer-answer';
import { buildSdp, parseSdp } from '../../nodes/lib/media/sdp';
import { parseRtcp } from '../../nodes/lib/media/rtp';

/** What Chromium 156 offers for audio + video (trimmed to the lines that matter here). */
const chromeOffer = (opts: { fingerprint?: boolean; ice?: boolean; proto?: string; candidates?: string[] } = {}): string =>
  [
    'v=0',
    'o=- 4611 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    ...(opts.fingerprint === false ? [] : ['a=fingerprint:sha-256 32:95:91:DE:D0:A2:24:9B:FA:7A:CA:0B:E3:08:88:E5:7F:9E:01:B6:A8:A7:E9:60:61:7A:A8:9B:42:FA:52:9C']),
    `m=audio 9 ${opts.proto ?? 'UDP/TLS/RTP/SAVPF'} 111 63 9 0 8 13 110 126`,
    'c=IN IP4 0.0.0.0',
    ...(opts.ice === false ? [] : ['a=ice-ufrag:TZAI', 'a=ice-pwd:3Ihg7akjjLPzbWZ6UOO2IpkA']),
    ...(opts.candidates ?? ['a=candidate:1 1 udp 2122260223 127.0.0.1 54253 typ host']),
    'a=mid:0',
    'a=sendrecv',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:63 red/48000/2',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:13 CN/8000',
    'a=rtpmap:110 telephone-event/48000',
    'a=rtpmap:126 telephone-event/8000',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 102 103 108 109',
    'c=IN IP4 0.0.0.0',
    'a=mid:1',
    'a=recvonly',
    'a=rtpmap:96 VP8/90000',
    'a=rtpmap:102 H264/90000',
    'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f',
    'a=rtcp-fb:102 nack pli',
    'a=rtpmap:103 H264/90000',
    'a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
    'a=rtpmap:108 H264/90000',
    'a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    'a=rtcp-fb:108 nack pli',
    'a=rtpmap:109 H264/90000',
    'a=fmtp:109 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f',
    '',
  ].join('\r\n');

describe('a browser offer before werift sees it', () => {
  test('only G.711 and telephone-event/8000 stay; one H.264 (Constrained Baseline, packetization-mode 1)', () => {
    const { sdp, audio, video } = trimWebRtcSdp(chromeOffer(), { video: true });
    expect(audio && video).toBe(true);
    expect(sdp).toMatch(/^m=audio 9 UDP\/TLS\/RTP\/SAVPF 0 8 126$/m);
    expect(sdp).not.toMatch(/opus|G722|telephone-event\/48000|CN\/8000/);
    expect(sdp).toMatch(/^m=video 9 UDP\/TLS\/RTP\/SAVPF 108$/m);
    expect(sdp).toContain('a=rtcp-fb:108 nack pli');
    expect(sdp).not.toMatch(/VP8|profile-level-id=4d001f|packetization-mode=0/);
    expect(isWebRtcSdp(chromeOffer())).toBe(true);
  });

  test('video off: the video section is declined (port 0), audio goes on', () => {
    const { sdp, video } = trimWebRtcSdp(chromeOffer(), { video: false });
    expect(video).toBe(false);
    expect(sdp).toMatch(/^m=video 0 UDP\/TLS\/RTP\/SAVPF 96$/m);
  });

  test.each([
    ['no DTLS fingerprint', { fingerprint: false }, 'media.webrtcNoFingerprint'],
    ['no ICE credentials', { ice: false }, 'media.webrtcNoIce'],
    ['plain SRTP without DTLS (RTP/SAVP)', { proto: 'RTP/SAVP' }, 'media.webrtcNotSrtp'],
  ])('%s → 488', (_what, opts, code) => {
    expect(() => trimWebRtcSdp(chromeOffer(opts), { video: true })).toThrow(expect.objectContaining({ status: 488, code }));
  });

  test('nothing we carry (opus only) → 488 no common codec; junk → 488, never a throw of another kind', () => {
    const opusOnly = chromeOffer().replace(/^m=audio 9 UDP\/TLS\/RTP\/SAVPF .*$/m, 'm=audio 9 UDP/TLS/RTP/SAVPF 111');
    expect(() => trimWebRtcSdp(opusOnly, { video: true })).toThrow(expect.objectContaining({ status: 488, code: 'media.noCommonCodec' }));
    for (const junk of ['', 'hello', 'v=0\r\nm=audio x', 'v=0\r\n' + 'm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n'.repeat(20), 'x'.repeat(70_000)]) {
      expect(() => trimWebRtcSdp(junk, { video: true })).toThrow(expect.objectContaining({ status: 488 }));
    }
  });

  test('ICE candidates from strange addresses (unspecified, multicast, broadcast, TCP) are dropped', () => {
    const candidates = [
      'a=candidate:1 1 udp 2122260223 127.0.0.1 54253 typ host',
      'a=candidate:2 1 udp 2122260223 0.0.0.0 9 typ host',
      'a=candidate:3 1 udp 2122260223 224.0.0.251 5353 typ host',
      'a=candidate:4 1 udp 2122260223 192.168.1.255 5000 typ host',
      'a=candidate:5 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active',
      'a=candidate:6 1 udp 2122260223 not-an-address 5000 typ host',
      'a=candidate:7 1 udp 2122260223 0ac2c4f6-6f0b-4e48-9d7c-1b3a3f2d9e10.local 5000 typ host',
    ];
    const { sdp } = trimWebRtcSdp(chromeOffer({ candidates }), { video: true });
    const kept = sdp.split('\r\n').filter((l) => l.startsWith('a=candidate:')).map((l) => l.split(' ')[0]);
    expect(kept).toEqual(['a=candidate:1', 'a=candidate:7']);
    expect(candidateAddressUsable('::')).toBe(false);
    expect(candidateAddressUsable('ff02::1')).toBe(false);
    expect(candidateAddressUsable('fe80::1')).toBe(true);
  });
});

describe("a panel's H.264 on its RTP leg", () => {
  const local = { address: '127.0.0.1', rtpPort: 20000, sessionId: '1', sessionVersion: 1 };
  const panelOffer = parseSdp(
    ['v=0', 'o=- 1 1 IN IP4 10.0.0.5', 's=-', 'c=IN IP4 10.0.0.5', 't=0 0', 'm=audio 4000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', 'm=video 4002 RTP/AVP 97 98', 'a=rtpmap:97 H264/90000', 'a=fmtp:97 packetization-mode=0', 'a=rtpmap:98 H264/90000', 'a=fmtp:98 packetization-mode=1;profile-level-id=42801f', ''].join('\r\n'),
  );

  test('the answer takes one H.264 type (mode 1 first) with the panel\'s own fmtp, on our video port', () => {
    const { answer } = answerOffer(panelOffer, local);
    const v = answerVideo(panelOffer, answer, 20002, false)!;
    expect(v).toMatchObject({ pt: 98, remoteAddress: '10.0.0.5', remotePort: 4002, remoteRtcpPort: 4003, direction: 'sendrecv', fmtp: 'packetization-mode=1;profile-level-id=42801f' });
    const text = buildSdp(answer);
    expect(text).toMatch(/^m=video 20002 RTP\/AVP 98$/m);
    expect(text).toContain('a=fmtp:98 packetization-mode=1;profile-level-id=42801f');
    expect(text).toContain('a=rtcp-fb:98 nack pli');
  });

  test('a panel without video, or with VP8 only: no video stream (declined as before)', () => {
    const vp8 = parseSdp(['v=0', 'o=- 1 1 IN IP4 10.0.0.5', 's=-', 'c=IN IP4 10.0.0.5', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'm=video 4002 RTP/AVP 100', 'a=rtpmap:100 VP8/90000', ''].join('\r\n'));
    expect(offeredVideo(vp8)).toBeUndefined();
    const { answer } = answerOffer(vp8, local);
    expect(answerVideo(vp8, answer, 20002, false)).toBeUndefined();
    expect(buildSdp(answer)).toMatch(/^m=video 0 RTP\/AVP 100$/m);
  });

  test('our offer carries H.264 96; an answer that declines video leaves audio alone', () => {
    const offer = createOffer(local);
    offerVideo(offer, 20002, false);
    expect(buildSdp(offer)).toMatch(/^m=video 20002 RTP\/AVP 96$/m);
    const declined = parseSdp(['v=0', 'o=- 1 1 IN IP4 10.0.0.6', 's=-', 'c=IN IP4 10.0.0.6', 't=0 0', 'm=audio 5000 RTP/AVP 0', 'm=video 0 RTP/AVP 96', ''].join('\r\n'));
    expect(acceptVideoAnswer(offer, declined)).toBeUndefined();
    const taken = parseSdp(['v=0', 'o=- 1 1 IN IP4 10.0.0.6', 's=-', 'c=IN IP4 10.0.0.6', 't=0 0', 'm=audio 5000 RTP/AVP 0', 'm=video 5002 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'a=recvonly', ''].join('\r\n'));
    expect(acceptVideoAnswer(offer, taken)).toMatchObject({ pt: 96, remotePort: 5002, direction: 'sendonly' });
  });

  test('PLI and FIR are RTCP payload-specific feedback our own parser reads back (PT 206, FMT 1 and 4)', () => {
    expect(parseRtcp(buildPli(1, 2))).toEqual([{ type: 'other', packetType: 206, fmt: 1 }]);
    expect(parseRtcp(buildFir(1, 2, 7))).toEqual([{ type: 'other', packetType: 206, fmt: 4 }]);
  });
});
