/**
 * The gateway's own SRTP (media/srtp.ts) against the RFC's vectors and against werift's
 * independent implementation, the one the browser leg's other packets (and the browsers
 * werift is tested with) use: what one protects the other must open, both profiles, across
 * a sequence-number wrap; forged, truncated and replayed packets are refused. SRTCP (the
 * browser's reports, opened on the short path) likewise against werift's SRTCP.
 */
import { randomBytes } from 'node:crypto';
import { RtcpPacketConverter, RtcpReceiverInfo, RtcpRrPacket, RtcpSenderInfo, RtcpSrPacket, RtcpSourceDescriptionPacket, RtpHeader, RtpPacket, SourceDescriptionChunk, SourceDescriptionItem, SrtcpSession, SrtpSession } from 'werift';
import { deriveSrtpKeys, rtpPayloadOffset, SrtpContext, srtpProfileOf, type SrtpProfile } from '../../nodes/lib/media/srtp';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function rtp(seq: number, ssrc: number, payload: Buffer, opts: { pt?: number; csrcs?: number[]; ext?: Buffer } = {}): Buffer {
  const csrcs = opts.csrcs ?? [];
  const head = Buffer.alloc(12 + csrcs.length * 4 + (opts.ext ? 4 + opts.ext.length : 0));
  head[0] = 0x80 | csrcs.length | (opts.ext ? 0x10 : 0);
  head[1] = opts.pt ?? 0;
  head.writeUInt16BE(seq & 0xffff, 2);
  head.writeUInt32BE((seq * 160) >>> 0, 4);
  head.writeUInt32BE(ssrc >>> 0, 8);
  csrcs.forEach((c, i) => head.writeUInt32BE(c, 12 + i * 4));
  if (opts.ext) {
    const at = 12 + csrcs.length * 4;
    head.writeUInt16BE(0xbede, at);
    head.writeUInt16BE(opts.ext.length / 4, at + 2);
    opts.ext.copy(head, at + 4);
  }
  return Buffer.concat([head, payload]);
}

const PROFILES: [SrtpProfile, number, number][] = [
  ['AES_CM_128_HMAC_SHA1_80', 0x0001, 14],
  ['AEAD_AES_128_GCM', 0x0007, 12],
];

describe('SRTP key derivation', () => {
  it('derives RFC 3711 B.3 session keys', () => {
    const k = deriveSrtpKeys('AES_CM_128_HMAC_SHA1_80', hex('E1F97A0D3E018BE0D64FA32C06DE4139'), hex('0EC675AD498AFEEBB6960B3AABE6'));
    expect(k.key.toString('hex').toUpperCase()).toBe('C61E7A93744F39EE10734AFE3FF7A087');
    expect(k.salt.toString('hex').toUpperCase()).toBe('30CBBC08863D8C85D49DB34A9AE1');
    expect(k.auth.toString('hex').toUpperCase()).toBe('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  });

  it('knows the DTLS-SRTP profile numbers werift negotiates and no others', () => {
    expect(srtpProfileOf(1)).toBe('AES_CM_128_HMAC_SHA1_80');
    expect(srtpProfileOf(7)).toBe('AEAD_AES_128_GCM');
    expect(srtpProfileOf(2)).toBeUndefined();
    expect(() => deriveSrtpKeys('AEAD_AES_128_GCM', Buffer.alloc(15), Buffer.alloc(12))).toThrow(expect.objectContaining({ code: 'media.srtpKey' }));
  });

  it('finds the payload after CSRCs and a header extension, and refuses what is not RTP', () => {
    expect(rtpPayloadOffset(rtp(1, 1, Buffer.alloc(4)))).toBe(12);
    expect(rtpPayloadOffset(rtp(1, 1, Buffer.alloc(4), { csrcs: [1, 2] }))).toBe(20);
    expect(rtpPayloadOffset(rtp(1, 1, Buffer.alloc(4), { ext: Buffer.alloc(8) }))).toBe(24);
    expect(rtpPayloadOffset(Buffer.alloc(11))).toBe(-1);
    expect(rtpPayloadOffset(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(-1);
    const ext = rtp(1, 1, Buffer.alloc(0), { ext: Buffer.alloc(8) });
    ext.writeUInt16BE(200, 14); // claims 800 bytes of extension
    expect(rtpPayloadOffset(ext)).toBe(-1);
  });
});

describe.each(PROFILES)('SRTP %s', (profile, id, saltLen) => {
  const key = randomBytes(16);
  const salt = randomBytes(saltLen);
  const werift = (): SrtpSession => new SrtpSession({ keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt }, profile: id as never });

  it('is opened by werift, payload and header intact, across a sequence wrap', () => {
    const ours = new SrtpContext(profile, key, salt);
    const theirs = werift();
    for (let n = 0; n < 40; n++) {
      const seq = (65520 + n) & 0xffff;
      const payload = randomBytes(n === 3 ? 0 : 20 + ((n * 37) % 1100));
      const plain = rtp(seq, 0xdecafbad, payload, { pt: 96, ext: n % 5 === 0 ? Buffer.from([0x10, 0xaa, 0, 0]) : undefined });
      const sealed = ours.protect(plain);
      expect(sealed.length).toBe(plain.length + ours.tagLength);
      expect(sealed.subarray(rtpPayloadOffset(plain), plain.length).equals(payload) && payload.length > 0).toBe(false);
      expect(theirs.decrypt(sealed).equals(plain)).toBe(true);
    }
  });

  it('seals a header and a payload kept apart exactly as the packet they make', () => {
    const one = new SrtpContext(profile, key, salt);
    const two = new SrtpContext(profile, key, salt);
    for (let n = 0; n < 5; n++) {
      const payload = randomBytes(160 + n);
      const plain = rtp(65534 + n, 42, payload, { csrcs: n === 2 ? [7] : [] });
      const head = plain.subarray(0, plain.length - payload.length);
      expect(one.seal(head, payload).equals(two.protect(plain))).toBe(true);
    }
    expect(() => one.seal(Buffer.alloc(12), Buffer.alloc(4))).toThrow(expect.objectContaining({ code: 'media.notRtp' }));
    expect(() => one.seal(rtp(1, 1, Buffer.alloc(4)), Buffer.alloc(4))).toThrow(expect.objectContaining({ code: 'media.notRtp' }));
  });

  it('opens what werift protects, across a sequence wrap, audio and video sizes', () => {
    const ours = new SrtpContext(profile, key, salt);
    const theirs = werift();
    for (let n = 0; n < 40; n++) {
      const seq = (65530 + n) & 0xffff;
      // audio (GCM in JS), video up to the MTU (OpenSSL's GCM, gcm.ts's limit is 320 bytes)
      const size = [160, 320, 321, 1188][n % 4];
      const pkt = new RtpPacket(new RtpHeader({ payloadType: 0, sequenceNumber: seq, timestamp: n * 160, ssrc: 0x1234 }), randomBytes(size));
      const sealed = theirs.encrypt(pkt.payload, pkt.header);
      const opened = ours.unprotect(sealed);
      expect(opened?.equals(pkt.serialize())).toBe(true);
    }
  });

  it('continues a stream werift began, with its rollover counter', () => {
    const theirs = werift();
    const ours = new SrtpContext(profile, key, salt);
    let last = 0;
    for (let n = 0; n < 30; n++) {
      const seq = (65520 + n) & 0xffff;
      const pkt = new RtpPacket(new RtpHeader({ payloadType: 0, sequenceNumber: seq, timestamp: n * 160, ssrc: 77 }), randomBytes(160));
      const sealed = theirs.encrypt(pkt.payload, pkt.header);
      if (n < 20) {
        theirs.decrypt(sealed);
        last = seq;
        continue;
      }
      if (n === 20) ours.adopt(77, 1, last);
      expect(ours.unprotect(sealed)?.equals(pkt.serialize())).toBe(true);
    }
  });

  it('refuses forged, truncated, replayed and stale packets, and keeps working after them', () => {
    const tx = new SrtpContext(profile, key, salt);
    const rx = new SrtpContext(profile, key, salt);
    const sealed = Array.from({ length: 100 }, (_, n) => tx.protect(rtp(1000 + n, 5, randomBytes(160))));
    expect(rx.unprotect(sealed[80])).toBeDefined();
    const forged = Buffer.from(sealed[81]);
    forged[20] ^= 1;
    expect(rx.unprotect(forged)).toBeUndefined();
    const badTag = Buffer.from(sealed[81]);
    badTag[badTag.length - 1] ^= 0x80;
    expect(rx.unprotect(badTag)).toBeUndefined();
    expect(rx.unprotect(sealed[81].subarray(0, 20))).toBeUndefined();
    expect(rx.unprotect(Buffer.alloc(0))).toBeUndefined();
    expect(rx.unprotect(Buffer.from(sealed[81]).fill(0x80, 0, 1).fill(0xff, 12))).toBeUndefined();
    expect(rx.unprotect(sealed[81])).toBeDefined();
    expect(rx.unprotect(sealed[81])).toBeUndefined(); // replay
    expect(rx.unprotect(sealed[80])).toBeUndefined(); // replay of an older one
    expect(rx.unprotect(sealed[50])).toBeDefined(); // late but inside the window
    expect(rx.unprotect(sealed[50])).toBeUndefined();
    expect(rx.unprotect(sealed[5])).toBeUndefined(); // older than the window
    expect(rx.unprotect(sealed[99])).toBeDefined();
    // a packet from another key is not authentic
    const other = new SrtpContext(profile, randomBytes(16), salt).protect(rtp(1200, 5, randomBytes(160)));
    expect(rx.unprotect(other)).toBeUndefined();
    // a video-sized packet with a flipped bit (the other GCM branch)
    const big = tx.protect(rtp(1300, 5, randomBytes(1000)));
    const bigForged = Buffer.from(big);
    bigForged[500] ^= 4;
    expect(rx.unprotect(bigForged)).toBeUndefined();
    expect(rx.unprotect(big)).toBeDefined();
  });

  it('keeps a late packet from before the wrap on the old counter', () => {
    const tx = new SrtpContext(profile, key, salt);
    const theirs = werift();
    const a = tx.protect(rtp(65534, 9, randomBytes(50)));
    const c = tx.protect(rtp(1, 9, randomBytes(50)));
    const late = rtp(65535, 9, randomBytes(50));
    const b = tx.protect(late); // sent after 1: still the first cycle
    expect(theirs.decrypt(a)).toBeDefined();
    expect(theirs.decrypt(c)).toBeDefined();
    const rx = new SrtpContext(profile, key, salt);
    expect(rx.unprotect(a)).toBeDefined();
    expect(rx.unprotect(c)).toBeDefined();
    expect(rx.unprotect(b)?.equals(late)).toBe(true);
  });

  describe('SRTCP', () => {
    const srtcp = (): SrtcpSession => new SrtcpSession({ keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt }, profile: id as never });
    const compound = (n: number): Buffer =>
      Buffer.concat([
        new RtcpSrPacket({ ssrc: 0xabcdef01, senderInfo: new RtcpSenderInfo({ ntpTimestamp: BigInt(n) << 32n, rtpTimestamp: n * 160, packetCount: n, octetCount: n * 160 }), reports: [new RtcpReceiverInfo({ ssrc: 0x1234, fractionLost: 0, packetsLost: n, highestSequence: 1000 + n, jitter: 3, lsr: 0, dlsr: 0 })] }).serialize(),
        new RtcpSourceDescriptionPacket({ chunks: [new SourceDescriptionChunk({ source: 0xabcdef01, items: [new SourceDescriptionItem({ type: 1, text: 'page@browser' })] })] }).serialize(),
        new RtcpRrPacket({ ssrc: 0xabcdef01, reports: [] }).serialize(),
      ]);

    it('opens what werift protects, compound reports intact', () => {
      const theirs = srtcp();
      const ours = new SrtpContext(profile, key, salt, true);
      for (let n = 1; n <= 30; n++) {
        const plain = compound(n);
        const opened = ours.unprotectRtcp(theirs.encrypt(plain));
        expect(opened?.equals(plain)).toBe(true);
        const parsed = RtcpPacketConverter.deSerialize(opened!);
        expect(parsed.map((p) => p.type)).toEqual([200, 202, 201]);
      }
    });

    it('refuses forged, truncated, replayed and RTP-keyed packets, and keeps working after them', () => {
      const theirs = srtcp();
      const ours = new SrtpContext(profile, key, salt, true);
      const sealed = Array.from({ length: 100 }, (_, n) => theirs.encrypt(compound(n + 1)));
      expect(ours.unprotectRtcp(sealed[80])).toBeDefined();
      for (const at of [1, 9, 30, sealed[81].length - 1, sealed[81].length - 5]) {
        const forged = Buffer.from(sealed[81]);
        forged[at] ^= 0x10;
        expect(ours.unprotectRtcp(forged)).toBeUndefined();
      }
      expect(ours.unprotectRtcp(sealed[81].subarray(0, 20))).toBeUndefined();
      expect(ours.unprotectRtcp(Buffer.alloc(0))).toBeUndefined();
      expect(ours.unprotectRtcp(sealed[81])).toBeDefined();
      expect(ours.unprotectRtcp(sealed[81])).toBeUndefined(); // replay
      expect(ours.unprotectRtcp(sealed[50])).toBeDefined(); // late, inside the window
      expect(ours.unprotectRtcp(sealed[50])).toBeUndefined();
      expect(ours.unprotectRtcp(sealed[5])).toBeUndefined(); // older than the window
      expect(ours.unprotectRtcp(sealed[99])).toBeDefined();
      // SRTP's keys do not open SRTCP, and an SRTP context does not try
      const rtpKeys = new SrtpContext(profile, key, salt);
      expect(() => rtpKeys.unprotectRtcp(sealed[98])).toThrow();
      expect(new SrtpContext(profile, randomBytes(16), salt, true).unprotectRtcp(sealed[98])).toBeUndefined();
    });
  });
});
