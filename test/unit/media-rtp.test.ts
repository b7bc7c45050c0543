import { execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ALAW_TO_LINEAR, decode, encode, linearToAlaw, linearToUlaw, transcode, ULAW_TO_LINEAR } from '../../nodes/lib/media/g711';
import { buildRtp, buildRtcpReport, parseRtcp, parseRtp } from '../../nodes/lib/media/rtp';
import { ReorderBuffer } from '../../nodes/lib/media/reorder';
import { RtpSession } from '../../nodes/lib/media/rtp-session';
import { describeWithPeers } from '../helpers/peers';
import { waitFor } from '../helpers/wait';

describe('G.711', () => {
  test('μ-law and A-law round trips stay within the quantisation step', () => {
    const worst = { u: 0, a: 0 };
    for (let s = -32768; s <= 32767; s += 3) {
      // Segment step is 1/16 of the segment's range: error ≤ |s|/16 plus the smallest step
      // (above 32635 μ-law clips, G.711 §3).
      const tol = Math.abs(s) / 16 + 40 + Math.max(0, Math.abs(s) - 32635);
      worst.u = Math.max(worst.u, Math.abs(ULAW_TO_LINEAR[linearToUlaw(s)] - s) / tol);
      worst.a = Math.max(worst.a, Math.abs(ALAW_TO_LINEAR[linearToAlaw(s)] - s) / tol);
    }
    expect(worst.u).toBeLessThanOrEqual(1);
    expect(worst.a).toBeLessThanOrEqual(1);
    expect(linearToUlaw(0)).toBe(0xff);
    expect(linearToAlaw(0)).toBe(0xd5);
  });

  test('every code decodes and re-encodes to itself (except μ-law negative zero)', () => {
    for (let c = 0; c < 256; c++) {
      if (c !== 0x7f) expect(linearToUlaw(ULAW_TO_LINEAR[c])).toBe(c);
      expect(linearToAlaw(ALAW_TO_LINEAR[c])).toBe(c);
    }
  });

  test('μ-law ↔ A-law translation keeps the signal', () => {
    const pcm = Int16Array.from({ length: 800 }, (_, i) => Math.round(12000 * Math.sin((2 * Math.PI * 1000 * i) / 8000)));
    const u = encode('PCMU', pcm);
    const back = decode('PCMA', transcode('PCMU', 'PCMA', u));
    for (let i = 0; i < pcm.length; i++) expect(Math.abs(back[i] - pcm[i])).toBeLessThan(800);
    expect(transcode('PCMA', 'PCMA', u)).toEqual(u);
  });
});

describeWithPeers(['sox'], 'G.711 against sox', () => {
  test('our encoder produces the same bytes as sox for a sweep', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'g711-'));
    try {
      const pcm = Int16Array.from({ length: 8000 }, (_, i) => Math.round(30000 * Math.sin((2 * Math.PI * (50 + i / 2) * i) / 8000) * (i / 8000)));
      writeFileSync(path.join(dir, 'in.raw'), Buffer.from(pcm.buffer));
      for (const [law, enc] of [['PCMU', 'u-law'], ['PCMA', 'a-law']] as const) {
        execFileSync('sox', ['-t', 'raw', '-r', '8000', '-e', 'signed', '-b', '16', '-c', '1', path.join(dir, 'in.raw'), '-t', 'raw', '-e', enc, '-b', '8', path.join(dir, 'out.raw')]);
        const theirs = readFileSync(path.join(dir, 'out.raw'));
        const ours = encode(law, pcm);
        const table = law === 'PCMU' ? ULAW_TO_LINEAR : ALAW_TO_LINEAR;
        let differ = 0;
        for (let i = 0; i < ours.length; i++) {
          if (ours[i] === theirs[i]) continue;
          differ++;
          // sox rounds to nearest where the G.711 reference truncates: at most one
          // quantisation step apart (the step is 1/16 of the segment, G.711 Table 1/2).
          expect(Math.abs(table[ours[i]] - table[theirs[i]])).toBeLessThanOrEqual(Math.max(16, Math.abs(pcm[i]) / 8));
        }
        expect(differ).toBeLessThan(ours.length / 20);
        // And decoding sox's bytes gives what sox decodes.
        execFileSync('sox', ['-t', 'raw', '-r', '8000', '-e', enc, '-b', '8', '-c', '1', path.join(dir, 'out.raw'), '-t', 'raw', '-e', 'signed', '-b', '16', path.join(dir, 'back.raw')]);
        const soxBack = new Int16Array(new Uint8Array(readFileSync(path.join(dir, 'back.raw'))).buffer);
        expect(Array.from(decode(law, theirs))).toEqual(Array.from(soxBack));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RTP/RTCP packets', () => {
  test('build and parse', () => {
    const buf = buildRtp({ payloadType: 8, sequence: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, marker: true }, Buffer.from([1, 2, 3]));
    expect(parseRtp(buf)).toMatchObject({ marker: true, payloadType: 8, sequence: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, payload: Buffer.from([1, 2, 3]) });
  });

  test('CSRC, header extension and padding are skipped', () => {
    const hdr = Buffer.from([0xb1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 9 /* csrc */, 0xbe, 0xde, 0, 1, 1, 2, 3, 4 /* ext */]);
    const pkt = parseRtp(Buffer.concat([hdr, Buffer.from([7, 7, 0, 2])]));
    expect(pkt).toMatchObject({ csrcs: [9], payload: Buffer.from([7, 7]) });
  });

  test('malformed datagrams give null, never throw', () => {
    expect(parseRtp(Buffer.alloc(3))).toBeNull();
    expect(parseRtp(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeNull(); // version 1
    expect(parseRtp(Buffer.from([0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeNull(); // 15 CSRCs missing
    expect(parseRtp(Buffer.from([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9]))).toBeNull(); // padding > length
    expect(parseRtp(Buffer.from([0x80, 200, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeNull(); // RTCP SR on RTP port
    let seed = 1;
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.alloc(1 + (i % 40));
      for (let k = 0; k < b.length; k++) b[k] = (seed = (seed * 69069 + 1) >>> 0) >>> 24;
      parseRtp(b); // a throw fails the test
      parseRtcp(b);
    }
  });

  test('both ports of the pair stay inside the configured range (what a container publishes)', async () => {
    const open: RtpSession[] = [];
    try {
      // 20000-20003 holds two pairs: 20000/20001 and 20002/20003.
      for (let i = 0; i < 2; i++) open.push(await RtpSession.open({ localAddress: '127.0.0.1', portMin: 20000, portMax: 20003, rtcpIntervalMs: 0 }));
      expect(open.map((s) => s.localPort).sort()).toEqual([20000, 20002]);
      for (const s of open.splice(0)) await s.close();
      // 20000-20002 holds one: 20002 would put RTCP on 20003, outside what is published.
      open.push(await RtpSession.open({ localAddress: '127.0.0.1', portMin: 20000, portMax: 20002, rtcpIntervalMs: 0 }));
      expect(open[0].localPort).toBe(20000);
      await expect(RtpSession.open({ localAddress: '127.0.0.1', portMin: 20000, portMax: 20002, rtcpIntervalMs: 0 })).rejects.toMatchObject({ code: 'media.noFreePort' });
      await expect(RtpSession.open({ localAddress: '127.0.0.1', portMin: 20001, portMax: 20002, rtcpIntervalMs: 0 })).rejects.toMatchObject({ code: 'media.emptyPortRange' });
    } finally {
      for (const s of open) await s.close();
    }
  });

  test('RTCP reports parse back; truncated ones are null', () => {
    const sr = buildRtcpReport({ ssrc: 5, cname: 'x@y', sent: { ntpMs: 1e12, rtpTimestamp: 160, packets: 3, octets: 480 }, bye: true });
    const parsed = parseRtcp(sr);
    expect(parsed?.map((p) => p.type)).toEqual(['SR', 'other', 'BYE']);
    expect(parsed?.[0]).toMatchObject({ ssrc: 5, packets: 3, octets: 480, rtpTimestamp: 160 });
    expect(parseRtcp(sr.subarray(0, 20))).toBeNull();
  });
});

describe('RTP session on loopback', () => {
  const open: Array<RtpSession | dgram.Socket> = [];
  afterEach(async () => {
    for (const s of open.splice(0)) {
      if (s instanceof RtpSession) await s.close();
      else await new Promise<void>((r) => s.close(() => r()));
    }
  });
  async function session(): Promise<RtpSession> {
    const s = await RtpSession.open({ localAddress: '127.0.0.1', rtcpIntervalMs: 0 });
    open.push(s);
    return s;
  }
  async function peer(): Promise<dgram.Socket> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    open.push(s);
    return s;
  }
  const send = (s: dgram.Socket, to: number, seq: number, ssrc = 1, payload = Buffer.alloc(160, 0xff)): void => {
    s.send(buildRtp({ payloadType: 0, sequence: seq, timestamp: seq * 160, ssrc }, payload), to, '127.0.0.1');
  };

  test('binds an even RTP port with RTCP above it, on the given address, and frees both on close', async () => {
    const s = await RtpSession.open({ localAddress: '127.0.0.1', rtcpIntervalMs: 0 });
    expect(s.localPort % 2).toBe(0);
    expect(s.localRtcpPort).toBe(s.localPort + 1);
    const port = s.localPort;
    await s.close();
    await s.close(); // twice is harmless
    for (const p of [port, port + 1]) {
      const probe = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.bind({ port: p, address: '127.0.0.1', exclusive: true }, () => resolve());
      });
      await new Promise<void>((r) => probe.close(() => r()));
    }
  });

  test('latches to where the packets come from and answers there (symmetric RTP)', async () => {
    const s = await session();
    const p = await peer();
    // Signaling says port 9 (a NAT-rewritten lie); packets come from p.
    s.setRemote({ address: '127.0.0.1', port: 9 });
    const got: Buffer[] = [];
    p.on('message', (m) => got.push(m));
    send(p, s.localPort, 1);
    await waitFor(() => s.latchedTo, 'latch');
    expect(s.latchedTo).toEqual({ address: '127.0.0.1', port: p.address().port });
    s.send(0, Buffer.alloc(160, 0xff), s.mediaTimestamp());
    await waitFor(() => got.length > 0, 'our packet at the latched peer');
    expect(parseRtp(got[0])?.ssrc).toBe(s.ssrc);
  });

  test('once latched, RTP from another source is ignored (no media hijack)', async () => {
    const s = await session();
    const panel = await peer();
    const intruder = await peer();
    const seen: number[] = [];
    s.on('rtp', (pkt) => seen.push(pkt.ssrc));
    send(panel, s.localPort, 1, 111);
    await waitFor(() => seen.length === 1, 'first packet');
    for (let i = 0; i < 5; i++) send(intruder, s.localPort, 100 + i, 666);
    send(panel, s.localPort, 2, 111);
    await waitFor(() => seen.length === 2, 'panel packet');
    await waitFor(() => s.stats.rejectedSource === 5, 'intruder rejected');
    expect(seen).toEqual([111, 111]);
  });

  test('an intruder racing the signaled peer to our port loses once the peer sends', async () => {
    const s = await session();
    const panel = await peer();
    const intruder = await peer();
    s.setRemote({ address: '127.0.0.1', port: panel.address().port });
    const seen: number[] = [];
    s.on('rtp', (pkt) => seen.push(pkt.ssrc));
    send(intruder, s.localPort, 1, 666);
    await waitFor(() => seen.length === 1, 'intruder first');
    send(panel, s.localPort, 1, 111);
    await waitFor(() => seen.length === 2, 'panel takes over');
    send(intruder, s.localPort, 2, 666);
    send(panel, s.localPort, 2, 111);
    await waitFor(() => seen.length === 3, 'panel again');
    await waitFor(() => s.stats.rejectedSource === 1, 'intruder rejected');
    expect(seen).toEqual([666, 111, 111]);
    expect(s.latchedTo?.port).toBe(panel.address().port);
  });

  test('malformed packets are counted, the session keeps working', async () => {
    const s = await session();
    const p = await peer();
    const seen: number[] = [];
    s.on('rtp', (pkt) => seen.push(pkt.sequence));
    p.send(Buffer.from('INVITE sip:x SIP/2.0\r\n'), s.localPort, '127.0.0.1');
    p.send(Buffer.alloc(0), s.localPort, '127.0.0.1');
    p.send(Buffer.from([0x80, 0x00]), s.localPort, '127.0.0.1');
    p.send(Buffer.from([1, 2, 3, 4, 5]), s.localRtcpPort, '127.0.0.1');
    send(p, s.localPort, 7);
    await waitFor(() => seen.length === 1, 'valid packet');
    await waitFor(() => s.stats.malformed === 4, 'malformed counted');
  });

  test('SSRC change restarts tracking; duplicates are dropped, reordered packets flagged late', async () => {
    const s = await session();
    const p = await peer();
    const seen: Array<[number, number, boolean]> = [];
    const changes: unknown[] = [];
    s.on('rtp', (pkt, info) => seen.push([pkt.ssrc, pkt.sequence, info.late]));
    s.on('ssrc-change', (c) => changes.push(c));
    for (const seq of [10, 12, 11, 12, 13]) send(p, s.localPort, seq, 1);
    await waitFor(() => seen.length === 4, 'first stream');
    for (const seq of [500, 501]) send(p, s.localPort, seq, 2);
    await waitFor(() => seen.length === 6, 'second stream');
    expect(seen).toEqual([[1, 10, false], [1, 12, false], [1, 11, true], [1, 13, false], [2, 500, false], [2, 501, false]]);
    expect(s.stats.duplicates).toBe(1);
    expect(changes).toEqual([{ from: 1, to: 2 }]);
  });

  test('a new remote from signaling (re-INVITE) clears the latch', async () => {
    const s = await session();
    const a = await peer();
    const b = await peer();
    let n = 0;
    s.on('rtp', () => n++);
    send(a, s.localPort, 1);
    await waitFor(() => n === 1, 'a');
    s.setRemote({ address: '127.0.0.1', port: b.address().port });
    send(b, s.localPort, 1, 9);
    await waitFor(() => n === 2, 'b accepted after re-INVITE');
    expect(s.latchedTo?.port).toBe(b.address().port);
  });

  test('sends RTCP reports to the peer and BYE on close', async () => {
    const s = await RtpSession.open({ localAddress: '127.0.0.1', rtcpIntervalMs: 50 });
    const rtcpPeer = await peer();
    const got: string[] = [];
    rtcpPeer.on('message', (m) => got.push(...(parseRtcp(m) ?? []).map((x) => x.type)));
    s.setRemote({ address: '127.0.0.1', port: rtcpPeer.address().port - 1 }, { address: '127.0.0.1', port: rtcpPeer.address().port });
    await waitFor(() => got.includes('RR'), 'receiver report');
    s.send(0, Buffer.alloc(160), 0);
    await waitFor(() => got.includes('SR'), 'sender report');
    await s.close();
    await waitFor(() => got.includes('BYE'), 'BYE');
  });
});

describe('reorder buffer for the audio path', () => {
  const run = (seqs: number[], depth = 3): number[] => {
    const out: number[] = [];
    const rb = new ReorderBuffer<number>((x) => out.push(x), depth);
    for (const s of seqs) rb.push(s, s);
    return out;
  };
  test('in-order packets pass straight through; swapped ones come out in order', () => {
    expect(run([1, 2, 3])).toEqual([1, 2, 3]);
    expect(run([1, 3, 2, 4, 6, 5])).toEqual([1, 2, 3, 4, 5, 6]);
  });
  test('across the 16-bit wrap', () => {
    expect(run([65534, 0, 65535, 1])).toEqual([65534, 65535, 0, 1]);
  });
  test('a lost packet is skipped once the buffer is full; a late one is dropped', () => {
    expect(run([1, 3, 4, 5, 6, 2, 7])).toEqual([1, 3, 4, 5, 6, 7]);
  });
  test('a big jump restarts the stream', () => {
    expect(run([10, 11, 5000, 5001])).toEqual([10, 11, 5000, 5001]);
  });
});
