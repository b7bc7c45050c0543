/**
 * The gateway's AES-128-GCM (media/gcm.ts, the SRTP AEAD profile's per-packet cipher)
 * against OpenSSL's through node:crypto: the same ciphertext and tag for every length of
 * data and associated data around the block boundaries, the NIST test vectors, and no
 * plaintext for a packet with a wrong tag.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AesGcm128 } from '../../nodes/lib/media/gcm';

function openssl(key: Buffer, iv: Buffer, aad: Buffer, plain: Buffer): { ct: Buffer; tag: Buffer } {
  const c = createCipheriv('aes-128-gcm', key, iv);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return { ct, tag: c.getAuthTag() };
}

function ours(key: Buffer, iv: Buffer, aad: Buffer, plain: Buffer): Buffer {
  const out = Buffer.alloc(aad.length + plain.length + 16, 0xee);
  aad.copy(out, 0);
  new AesGcm128(key).encrypt(iv, out, 0, aad.length, plain, 0, plain.length, out, aad.length);
  return out;
}

describe('AES-128-GCM', () => {
  it('gives the NIST GCM spec test cases 2 and 4 (AES-128)', () => {
    const zero = Buffer.alloc(16);
    const iv0 = Buffer.alloc(12);
    const c2 = ours(zero, iv0, Buffer.alloc(0), zero);
    expect(c2.subarray(0, 16).toString('hex')).toBe('0388dace60b6a392f328c2b971b2fe78');
    expect(c2.subarray(16).toString('hex')).toBe('ab6e47d42cec13bdf53a67b21257bddf');
    const key = Buffer.from('feffe9928665731c6d6a8f9467308308', 'hex');
    const iv = Buffer.from('cafebabefacedbaddecaf888', 'hex');
    const plain = Buffer.from('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39', 'hex');
    const aad = Buffer.from('feedfacedeadbeeffeedfacedeadbeefabaddad2', 'hex');
    const c4 = ours(key, iv, aad, plain);
    expect(c4.subarray(aad.length, aad.length + plain.length).toString('hex')).toBe(
      '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091',
    );
    expect(c4.subarray(aad.length + plain.length).toString('hex')).toBe('5bc94fbc3221a5db94fae95ae7121a47');
  });

  it('matches OpenSSL for every length from 0 to 70 bytes of data and 0 to 40 of associated data', () => {
    for (let n = 0; n <= 70; n++) {
      for (const a of [0, 1, 12, 15, 16, 17, 20, 32, 40]) {
        const key = randomBytes(16);
        const iv = randomBytes(12);
        const aad = randomBytes(a);
        const plain = randomBytes(n);
        const want = openssl(key, iv, aad, plain);
        const got = ours(key, iv, aad, plain);
        expect(got.subarray(a, a + n).toString('hex')).toBe(want.ct.toString('hex'));
        expect(got.subarray(a + n).toString('hex')).toBe(want.tag.toString('hex'));
      }
    }
  });

  it('matches OpenSSL for packets of the sizes media sends (G.711, H.264 up to the MTU), one key for many', () => {
    const key = randomBytes(16);
    const gcm = new AesGcm128(key);
    for (const n of [80, 160, 320, 1000, 1188, 1400]) {
      for (let k = 0; k < 20; k++) {
        const iv = randomBytes(12);
        const head = randomBytes(12 + 4 * (k % 3));
        const plain = randomBytes(n);
        const want = openssl(key, iv, head, plain);
        const out = Buffer.alloc(head.length + n + 16);
        head.copy(out);
        gcm.encrypt(iv, out, 0, head.length, plain, 0, n, out, head.length);
        expect(Buffer.compare(out.subarray(head.length, head.length + n), want.ct)).toBe(0);
        expect(Buffer.compare(out.subarray(head.length + n), want.tag)).toBe(0);
      }
    }
  });

  it('opens what OpenSSL seals, and nothing with a flipped bit anywhere', () => {
    const key = randomBytes(16);
    const gcm = new AesGcm128(key);
    const iv = randomBytes(12);
    const head = randomBytes(12);
    const plain = randomBytes(160);
    const { ct, tag } = openssl(key, iv, head, plain);
    const pkt = Buffer.concat([head, ct, tag]);
    const dst = Buffer.alloc(12 + 160);
    expect(gcm.decrypt(iv, pkt, 0, 12, pkt, 12, 12 + 160, dst, 12)).toBe(true);
    expect(Buffer.compare(dst.subarray(12), plain)).toBe(0);
    for (const bit of [0, 7, 12 * 8, 12 * 8 + 5, (12 + 159) * 8, (12 + 160) * 8, (12 + 175) * 8 + 7]) {
      const bad = Buffer.from(pkt);
      bad[bit >> 3] ^= 1 << (bit & 7);
      const out = Buffer.alloc(12 + 160, 0x55);
      expect(gcm.decrypt(iv, bad, 0, 12, bad, 12, 12 + 160, out, 12)).toBe(false);
      expect(out.every((b) => b === 0x55)).toBe(true);
    }
    // a different IV (another sequence number) is a different packet
    const other = Buffer.from(iv);
    other[11] ^= 1;
    expect(gcm.decrypt(other, pkt, 0, 12, pkt, 12, 12 + 160, dst, 12)).toBe(false);
    // a packet too short to hold its tag
    expect(gcm.decrypt(iv, pkt, 0, 12, pkt.subarray(0, 30), 12, 20, dst, 12)).toBe(false);
  });

  it('is opened by OpenSSL', () => {
    const key = randomBytes(16);
    const iv = randomBytes(12);
    const aad = randomBytes(12);
    const plain = randomBytes(333);
    const out = ours(key, iv, aad, plain);
    const d = createDecipheriv('aes-128-gcm', key, iv);
    d.setAAD(aad);
    d.setAuthTag(out.subarray(12 + 333));
    expect(Buffer.compare(Buffer.concat([d.update(out.subarray(12, 12 + 333)), d.final()]), plain)).toBe(0);
  });
});
