/**
 * A panel's H.264 on a real account over UDP on 127.0.0.1, with raw sockets as the panel:
 * the 200 OK takes its video (its payload type, its fmtp, a port of ours); its video
 * packets come out as 'video' events with the payload untouched; relayed video goes back
 * to its port as it came; a keyframe request reaches it as RTCP PLI and FIR on its video
 * RTCP port and as SIP INFO picture_fast_update (RFC 5168), the INFO at most every 2 s.
 */
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { SipAccount } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import { createCallMediaFactory } from '../../nodes/lib/media/media-factory';
import type { RtpCallMedia } from '../../nodes/lib/media/call-media';
import type { VideoPacket } from '../../nodes/lib/media/port';
import { buildRtp } from '../../nodes/lib/media/rtp';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

async function sock(port = 0): Promise<dgram.Socket & { inbox: Buffer[] }> {
  const s = dgram.createSocket('udp4') as dgram.Socket & { inbox: Buffer[] };
  s.inbox = [];
  s.on('message', (m) => s.inbox.push(m));
  await new Promise<void>((r) => s.bind(port, '127.0.0.1', () => r()));
  return s;
}

test("a panel's H.264: answered, relayed both ways untouched, keyframes asked by RTCP and SIP INFO", async () => {
  const port = await freeSipPort();
  const account = new SipAccount({ name: 'door', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1' }, { mediaFactory: createCallMediaFactory({ rtp: { video: true, rtpTimeoutMs: 0 } }) });
  await account.start();
  const sip = await sock();
  const audio = await sock();
  let video = await sock();
  // the panel's video RTP and RTCP on an even/odd pair
  for (let i = 0; i < 20 && video.address().port % 2; i++) {
    video.close();
    video = await sock();
  }
  const rtcp = await sock(video.address().port + 1).catch(() => undefined);
  const calls: Call[] = [];
  account.on('call', (c: Call) => {
    calls.push(c);
    c.answer().catch(() => undefined);
  });
  try {
    const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=panel', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${audio.address().port} RTP/AVP 0`, `m=video ${video.address().port} RTP/AVP 97`, 'a=rtpmap:97 H264/90000', 'a=fmtp:97 packetization-mode=1;profile-level-id=42801f', ''].join('\r\n');
    const tag = randomBytes(4).toString('hex');
    const invite = [
      `INVITE sip:door@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${sip.address().port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
      'Max-Forwards: 70',
      `From: <sip:panel@127.0.0.1>;tag=${tag}`,
      `To: <sip:door@127.0.0.1>`,
      'Call-ID: video-1',
      'CSeq: 1 INVITE',
      `Contact: <sip:panel@127.0.0.1:${sip.address().port}>`,
      'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(sdp)}`,
      '',
      sdp,
    ].join('\r\n');
    sip.send(invite, port, '127.0.0.1');
    const ok = await waitFor(() => sip.inbox.map(String).find((m) => m.startsWith('SIP/2.0 200')), '200 OK', 3000);
    const ourVideo = Number(/^m=video (\d+) RTP\/AVP 97$/m.exec(ok!)?.[1]);
    expect(ourVideo).toBeGreaterThan(0);
    expect(ok).toContain('a=fmtp:97 packetization-mode=1;profile-level-id=42801f');
    const toTag = /^To: .*;tag=(\S+)/m.exec(ok!)![1];
    sip.send([`ACK sip:door@127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${sip.address().port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`, 'Max-Forwards: 70', `From: <sip:panel@127.0.0.1>;tag=${tag}`, `To: <sip:door@127.0.0.1>;tag=${toTag}`, 'Call-ID: video-1', 'CSeq: 1 ACK', 'Content-Length: 0', '', ''].join('\r\n'), port, '127.0.0.1');
    const media = calls[0].media as RtpCallMedia;
    expect(media.hasVideo).toBe(true);
    // panel → us: the payload comes out as it went in
    const seen: VideoPacket[] = [];
    media.on('video', (p) => seen.push(p));
    const nal = Buffer.from([0x65, 1, 2, 3, 4, 5]);
    video.send(buildRtp({ payloadType: 97, sequence: 7, timestamp: 90000, ssrc: 0xabc, marker: true }, nal), ourVideo, '127.0.0.1');
    await waitFor(() => seen.length === 1, 'video event', 3000);
    expect(seen[0]).toMatchObject({ payloadType: 97, marker: true, timestamp: 90000 });
    expect(seen[0].payload.equals(nal)).toBe(true);
    // us → panel: relayed video as it came (payload, marker, timestamp)
    media.relayVideo({ payloadType: 102, marker: true, sequence: 1, timestamp: 1234, payload: Buffer.from([0x41, 9, 9]) });
    await waitFor(() => video.inbox.length > 0, 'relayed video at the panel', 3000);
    const back = video.inbox[0];
    expect(back[1] & 0x7f).toBe(97);
    expect(back[1] & 0x80).toBe(0x80);
    expect(back.readUInt32BE(4)).toBe(1234);
    expect(back.subarray(12).equals(Buffer.from([0x41, 9, 9]))).toBe(true);
    // keyframe: PLI + FIR to the panel's video RTCP port, and one SIP INFO picture_fast_update
    media.requestKeyframe();
    media.requestKeyframe();
    if (rtcp) {
      await waitFor(() => rtcp.inbox.length >= 4, 'PLI and FIR twice', 3000);
      expect(rtcp.inbox.map((b) => `${b[1]}/${b[0] & 0x1f}`)).toEqual(['206/1', '206/4', '206/1', '206/4']);
      expect(rtcp.inbox[0].readUInt32BE(8)).toBe(0xabc); // about the panel's stream
    }
    const infos = (): string[] => sip.inbox.map(String).filter((m) => m.startsWith('INFO '));
    await waitFor(() => infos().length > 0, 'INFO', 3000);
    await new Promise((r) => setTimeout(r, 100));
    const info = infos();
    expect(info).toHaveLength(1);
    expect(info[0]).toContain('Content-Type: application/media_control+xml');
    expect(info[0]).toContain('<picture_fast_update/>');
  } finally {
    for (const s of [sip, audio, video, rtcp]) s?.close();
    await account.close();
  }
});
