/**
 * Seeded fuzz against a running account, through Node-RED (issue "Hardening"): a real flow
 * (P2P account on 127.0.0.1 → sip-in → answer the panel / reject the rest; its key presses →
 * a 6-digit PIN → whitelist → door-open → an HTTP relay that counts requests) gets at least
 * 10,000 mutated packets: SIP requests (INVITE/ACK/BYE/INFO/OPTIONS with flipped bytes,
 * deleted or doubled headers, huge headers, bad Content-Length), SDP bodies (bad m= lines,
 * absurd ports, no c=, bad rtpmap), and RTP/RTCP to the media ports of a call the flow
 * answered (short headers, bad versions, CSRC counts past the end, extensions and padding
 * that lie, RFC 4733 events with odd durations and end bits from random SSRCs).
 *
 * Then: no uncaught exception and no unhandled rejection in the process, the relay was never
 * asked (only the PIN opens, and no fuzz packet can type six right digits), the account
 * still answers OPTIONS and a proper INVITE, and that call's PIN does open (the path was
 * live all along), and once the fuzz's transactions have ended (Timer J/H, 32 s) the heap
 * after a forced GC is within a few MB of before.
 */
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { getNode, helper } from '../helpers/node-red';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { callRegistry } from '../../nodes/lib/sip/registry';
import type { RtpCallMedia } from '../../nodes/lib/media/call-media';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');
import dtmfNode = require('../../nodes/intercom-dtmf');
import whitelistNode = require('../../nodes/intercom-whitelist');
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
const switchNode = require('@node-red/nodes/core/function/10-switch.js');

jest.setTimeout(90_000);

const SEED = 0x5eed4475;
const PACKETS = 10_000;
const PIN = '731904';

/** mulberry32: small, seeded, the same sequence on every machine. */
function rng(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)], chance: (p) => next() < p };
}

/** A forced full GC: the flag is set at run time, as jest's config gives node no --expose-gc. */
function forcedGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

function sdp(rtpPort: number, lines?: string[]): string {
  return (lines ?? ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${rtpPort} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=sendrecv']).join('\r\n') + '\r\n';
}


function request(method: string, port: number, from: { user: string; port: number; tag: string }, opts: { callId: string; cseq?: number; toTag?: string; branch: string; body?: string; type?: string; extra?: string[] }): string {
  const body = opts.body ?? '';
  return [
    `${method} sip:door@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${from.port};branch=z9hG4bK${opts.branch};rport`,
    'Max-Forwards: 70',
    `From: "${from.user}" <sip:${from.user}@127.0.0.1:${from.port}>;tag=${from.tag}`,
    `To: <sip:door@127.0.0.1:${port}>${opts.toTag ? ';tag=' + opts.toTag : ''}`,
    `Call-ID: ${opts.callId}`,
    `CSeq: ${opts.cseq ?? 1} ${method === 'ACK' ? 'INVITE' : method}`,
    `Contact: <sip:${from.user}@127.0.0.1:${from.port}>`,
    ...(body ? [`Content-Type: ${opts.type ?? 'application/sdp'}`] : []),
    ...(opts.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** A SIP user agent on one UDP socket: collects what it gets, ACKs every final answer to an INVITE. */
async function agent(): Promise<{ sock: dgram.Socket; port: number; got: string[] }> {
  const sock = dgram.createSocket('udp4');
  const got: string[] = [];
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const port = sock.address().port;
  sock.on('message', (m, rinfo) => {
    const t = m.toString('latin1');
    if (got.length < 2000) got.push(t);
    const status = /^SIP\/2\.0 (\d{3}) /.exec(t)?.[1];
    // RFC 3261 §17.1.1.3: a UAC ACKs a non-2xx final answer to its INVITE (the same branch)
    if (status && Number(status) >= 300 && /\r\nCSeq: (\d+) INVITE\r\n/.test(t)) {
      const h = (n: string): string => new RegExp(`\\r\\n${n}: ([^\\r]*)`).exec(t)?.[1] ?? '';
      const ack = [`ACK sip:door@${rinfo.address}:${rinfo.port} SIP/2.0`, `Via: ${h('Via')}`, 'Max-Forwards: 70', `From: ${h('From')}`, `To: ${h('To')}`, `Call-ID: ${h('Call-ID')}`, `CSeq: ${h('CSeq').split(' ')[0]} ACK`, 'Content-Length: 0', '', ''].join('\r\n');
      sock.send(ack, rinfo.port, rinfo.address);
    }
  });
  return { sock, port, got };
}

describe('seeded fuzz against a running P2P account in Node-RED', () => {
  let dir: string;
  let relay: http.Server;
  let relayHits: string[];
  const exceptions: unknown[] = [];
  const rejections: unknown[] = [];
  const onException = (e: unknown): void => void exceptions.push(e);
  const onRejection = (r: unknown): void => void rejections.push(r);
  const sockets: dgram.Socket[] = [];

  beforeAll(async () => {
    process.on('uncaughtException', onException);
    process.on('unhandledRejection', onRejection);
    dir = mkdtempSync(path.join(tmpdir(), 'fuzz-account-'));
    relayHits = [];
    relay = http.createServer((req, res) => {
      relayHits.push(`${req.method} ${req.url}`);
      res.end('OK');
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    helper.settings({ userDir: dir });
    await new Promise<void>((r) => helper.startServer(() => r()));
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    helper.settings({});
    await new Promise((r) => relay.close(r));
    rmSync(dir, { recursive: true, force: true });
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  });

  test(`${PACKETS.toLocaleString('en')}+ mutated SIP/SDP/RTP/RTCP packets (seed 0x${SEED.toString(16)}): no crash, no rejection, no door, still answering, no leak`, async () => {
    const t0 = Date.now();
    const port = await freeSipPort();
    const relayUrl = `http://127.0.0.1:${(relay.address() as { port: number }).port}`;
    await helper.load(
      [accountNode, inNode, callNode, dtmfNode, whitelistNode, doorNode, doorOpenNode, switchNode],
      [
        // per-source limits raised so the fuzz reaches the parser rather than the flood guard
        { id: 'acc', type: 'intercom-sip-account', name: 'fuzzed', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1', maxCalls: 200, sourceCalls: 200, sourceRate: 60000, rtpTimeout: 0, ringTimeout: 5 },
        { id: 'rings', type: 'intercom-sip-in', account: 'acc', events: 'ring', wires: [['who'], []] },
        { id: 'who', type: 'switch', property: 'call.from.user', propertyType: 'msg', rules: [{ t: 'regex', v: '^(panel|resident)$', vt: 'str', case: false }, { t: 'else' }], checkall: 'false', outputs: 2, wires: [['nAnswer'], ['nReject']] },
        { id: 'nAnswer', type: 'intercom-sip-call', account: 'acc', action: 'answer', wires: [[]] },
        { id: 'nReject', type: 'intercom-sip-call', account: 'acc', action: 'reject', code: 486, wires: [[]] },
        { id: 'keys', type: 'intercom-sip-in', account: 'acc', events: 'dtmf,ended', wires: [['pin'], []] },
        { id: 'pin', type: 'intercom-dtmf', mode: 'sequence', scope: 'all', length: 6, terminator: '#', interDigitTimeout: 5, totalTimeout: 20, wires: [['check']] },
        { id: 'check', type: 'intercom-whitelist', mode: 'pin', callerProp: 'call.from.user', pinProp: 'payload', pinLength: 6, maxTries: 100, maxDoorTries: 0, lockoutSec: 1, maxLockoutMin: 1, wires: [['open'], []] },
        { id: 'door', type: 'intercom-door', name: 'Relay', openKind: 'http', method: 'GET', url: relayUrl + '/open', minInterval: 0, retries: 0 },
        { id: 'open', type: 'intercom-door-open', door: 'door', wires: [[]] },
      ],
      { check: { pins: `resident:${PIN}` } },
    );
    const acc = getNode('acc') as any;
    await acc.ready;
    const stats = acc.account.endpoint.transport.stats as { received: number; garbage: number; badRequest: number; handlerErrors: number; muted: number };

    // The panel calls and the flow answers: the call whose media ports the RTP fuzz goes to.
    const panel = await agent();
    const panelRtp = dgram.createSocket('udp4');
    await new Promise<void>((r) => panelRtp.bind(0, '127.0.0.1', () => r()));
    sockets.push(panel.sock, panelRtp);
    const me = { user: 'panel', port: panel.port, tag: 'p1' };
    panel.sock.send(request('INVITE', port, me, { callId: 'fuzz-panel', branch: 'panel1', body: sdp(panelRtp.address().port) }), port, '127.0.0.1');
    const ok = await waitFor(() => panel.got.find((t) => t.startsWith('SIP/2.0 200 ') && t.includes('fuzz-panel')) ?? '', 'the flow answers the panel');
    const toTag = /\r\nTo: [^\r]*;tag=([^;\r]+)/.exec(ok)![1];
    const dialog = { callId: 'fuzz-panel', fromTag: 'p1', toTag };
    panel.sock.send(request('ACK', port, me, { callId: dialog.callId, toTag, branch: 'panel1ack' }), port, '127.0.0.1');
    const mediaPort = Number(/\r\nm=audio (\d+) /.exec(ok)![1]);
    const call = await waitFor(() => callRegistry.getCall(acc.account.endpoint.activeCalls.find((c: any) => c.callId === 'fuzz-panel')?.id ?? '') ?? false, 'the answered call');
    if (!call) throw new Error('no call');
    const rtpStats = (call.media as RtpCallMedia).rtp!.stats;

    const gc = forcedGc();
    await delay(200);
    // node-red-node-test-helper spies on every node's send/status/log (sinon keeps each call's
    // arguments): that record is the harness's, not the account's, so it is emptied first.
    const harness = (helper as unknown as { _sandbox: { resetHistory(): void } })._sandbox;
    harness.resetHistory();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;

    // ---- the fuzz --------------------------------------------------------------------------
    const r = rng(SEED);
    // one client port per 1/8 of the SIP fuzz: the per-source burst (5) is not a setting
    const fuzzers = await Promise.all(Array.from({ length: 8 }, () => agent()));
    const stranger = dgram.createSocket('udp4');
    await new Promise<void>((res) => stranger.bind(0, '127.0.0.1', () => res()));
    sockets.push(...fuzzers.map((f) => f.sock), stranger);

    const sdpMutations: Array<(rtp: number) => string> = [
      (p) => sdp(p).replace(/m=audio \d+/, `m=audio ${r.pick(['0', '65536', '99999999', '-1', '', 'x', '1e9'])}`),
      (p) => sdp(p).replace(/c=[^\r]*\r\n/, ''),
      (p) => sdp(p).replace('a=rtpmap:0 PCMU/8000', r.pick(['a=rtpmap:0 PCMU', 'a=rtpmap:999 X/0', 'a=rtpmap:x', 'a=rtpmap:0 PCMU/99999999999', 'a=rtpmap:101 telephone-event/0'])),
      (p) => sdp(p).replace(/m=audio \d+ RTP\/AVP 0 101/, r.pick([`m=audio ${p} RTP/AVP`, `m=audio ${p} RTP/AVP 300`, `m=audio ${p}`, `m=audio ${p} RTP/AVP ${'0 '.repeat(500)}`, `m=video ${p} RTP/AVP 0`])),
      (p) => sdp(p).replace('v=0', r.pick(['v=1', 'v=', ''])),
      (p) => sdp(p) + `m=audio ${p} RTP/AVP 0\r\n`.repeat(1 + r.int(40)),
      (p) => sdp(p).replace('c=IN IP4 127.0.0.1', r.pick(['c=IN IP4 999.1.1.1', 'c=IN IP6 ::::', 'c=IN IP4', 'c=IN IP4 0.0.0.0'])),
    ];
    const mutateSip = (msg: string): Buffer => {
      const lines = msg.split('\r\n');
      const sep = lines.indexOf('');
      switch (r.int(6)) {
        case 0: {
          // header deletion (never the start line)
          const i = 1 + r.int(Math.max(1, sep - 1));
          lines.splice(i, 1);
          break;
        }
        case 1: {
          const i = 1 + r.int(Math.max(1, sep - 1));
          lines.splice(i, 0, ...Array(1 + r.int(3)).fill(lines[i]));
          break;
        }
        case 2:
          lines.splice(1 + r.int(Math.max(1, sep - 1)), 0, `X-${r.pick(['Pad', 'Via', 'From'])}: ${'a'.repeat(1000 + r.int(58_000))}`);
          break;
        case 3: {
          const i = lines.findIndex((l) => l.startsWith('Content-Length:'));
          lines[i] = `Content-Length: ${r.pick(['-1', '99999', '1000000', 'abc', '', '0x10', String(r.int(400)), '1'.repeat(30)])}`;
          break;
        }
        default:
          break; // bytes only
      }
      const b = Buffer.from(lines.join('\r\n'), 'latin1');
      const flips = r.chance(0.3) ? 0 : 1 + r.int(8);
      for (let k = 0; k < flips; k++) b[r.int(b.length)] = r.int(256);
      return b;
    };
    const sipPacket = (f: { port: number }, i: number): Buffer => {
      const who = { user: 'fuzzer', port: f.port, tag: 'f' + i };
      const callId = `fz-${i}-${r.int(1e9)}`;
      const branch = `fz${i}x${r.int(1e9)}`;
      switch (r.int(5)) {
        case 0: {
          const body = r.chance(0.6) ? r.pick(sdpMutations)(20000 + r.int(40000)) : sdp(20000 + r.int(40000));
          return mutateSip(request('INVITE', port, who, { callId, branch, body }));
        }
        case 1:
          return mutateSip(request('ACK', port, who, { callId, branch, toTag: r.chance(0.5) ? 'nope' : undefined }));
        case 2:
          return mutateSip(request('BYE', port, who, { callId, branch, toTag: 'nope', cseq: 2 }));
        case 3: {
          // INFO inside the answered call (its real tags): key presses the PIN must not mistake
          const body = `Signal=${r.pick(['1', '9', '#', '*', 'X', '', '99', 'A'])}\r\nDuration=${r.pick(['160', '0', '-1', '999999999', 'x'])}\r\n`;
          const real = { user: 'panel', port: f.port, tag: dialog.fromTag };
          return mutateSip(request('INFO', port, real, { callId: dialog.callId, branch, toTag: dialog.toTag, cseq: 10 + i, body, type: r.pick(['application/dtmf-relay', 'application/dtmf', 'text/plain']) }));
        }
        default:
          return mutateSip(request('OPTIONS', port, who, { callId, branch }));
      }
    };
    const rtpPacket = (): Buffer => {
      const ssrc = r.chance(0.5) ? 0x1234 : r.int(2 ** 32);
      const h = Buffer.alloc(12);
      h[0] = (2 << 6) | r.int(16);
      h[1] = (r.chance(0.5) ? 0x80 : 0) | r.pick([0, 101, 8, 13, 127, r.int(128)]);
      h.writeUInt16BE(r.int(65536), 2);
      h.writeUInt32BE(r.int(2 ** 32), 4);
      h.writeUInt32BE(ssrc, 8);
      switch (r.int(7)) {
        case 0:
          return h.subarray(0, r.int(12)); // truncated header
        case 1:
          h[0] = (r.pick([0, 1, 3]) << 6) | (h[0] & 0x3f); // bad version
          return Buffer.concat([h, Buffer.alloc(r.int(200))]);
        case 2:
          h[0] = 0x80 | 0x0f; // 15 CSRCs promised
          return Buffer.concat([h, Buffer.alloc(r.int(40))]);
        case 3: {
          h[0] = 0x90; // extension whose length runs past the end
          const ext = Buffer.alloc(4);
          ext.writeUInt16BE(0xbede, 0);
          ext.writeUInt16BE(r.int(65536), 2);
          return Buffer.concat([h, ext, Buffer.alloc(r.int(16))]);
        }
        case 4: {
          h[0] = 0xa0; // padding count larger than the payload
          const p = Buffer.alloc(1 + r.int(20));
          p[p.length - 1] = 1 + r.int(255);
          return Buffer.concat([h, p]);
        }
        default: {
          // RFC 4733: any event, odd durations, end bits at random, same or other timestamp
          h[0] = 0x80;
          h[1] = (r.chance(0.3) ? 0x80 : 0) | 101;
          const ev = Buffer.alloc(r.chance(0.1) ? r.int(4) : 4);
          if (ev.length === 4) {
            ev[0] = r.chance(0.8) ? r.int(16) : r.int(256);
            ev[1] = (r.chance(0.5) ? 0x80 : 0) | r.int(64);
            ev.writeUInt16BE(r.pick([0, 1, 160, 65535, r.int(65536)]), 2);
          }
          return Buffer.concat([h, ev]);
        }
      }
    };
    const rtcpPacket = (): Buffer => {
      const len = r.int(80);
      const b = Buffer.alloc(len);
      for (let k = 0; k < len; k++) b[k] = r.int(256);
      if (len >= 4) {
        b[0] = (r.chance(0.8) ? 0x80 : 0) | r.int(32);
        b[1] = r.pick([200, 201, 202, 203, 204, r.int(256)]);
        b.writeUInt16BE(r.pick([0, 1, 0xffff, r.int(64)]), 2);
      }
      return b;
    };

    const sent = { sip: 0, rtp: 0, rtcp: 0 };
    const receivedBefore = stats.received;
    const fuzzStart = Date.now();
    for (let i = 0; i < PACKETS; i++) {
      const kind = r.int(10);
      if (kind < 6) {
        const f = fuzzers[i % fuzzers.length];
        f.sock.send(sipPacket(f, i), port, '127.0.0.1');
        sent.sip++;
      } else if (kind < 9) {
        // from the panel's own RTP address, so the packets pass the latch and reach the parser;
        // a few from a stranger, which must not take the stream over
        (r.chance(0.9) ? panelRtp : stranger).send(rtpPacket(), mediaPort, '127.0.0.1');
        sent.rtp++;
      } else {
        panelRtp.send(rtcpPacket(), mediaPort + 1, '127.0.0.1');
        sent.rtcp++;
      }
      // paced: well inside the sockets' buffers and the address-wide INVITE bucket
      if (i % 8 === 7) await delay(1);
    }
    await waitFor(() => stats.received - receivedBefore >= sent.sip * 0.98, `the SIP transport read the fuzz (${stats.received - receivedBefore} of ${sent.sip})`, 15_000);
    const fuzzMs = Date.now() - fuzzStart;
    const sipReceived = stats.received - receivedBefore;

    // ---- afterwards -------------------------------------------------------------------------
    await delay(1500); // the flow's last rejections, ACKs and timers run out
    expect(exceptions).toEqual([]);
    expect(rejections).toEqual([]);
    expect(stats.handlerErrors).toBe(0);
    expect(relayHits).toEqual([]);

    const probe = await agent();
    sockets.push(probe.sock);
    probe.sock.send(request('OPTIONS', port, { user: 'probe', port: probe.port, tag: 'o1' }, { callId: 'fuzz-after-options', branch: 'after1' }), port, '127.0.0.1');
    await waitFor(() => probe.got.find((t) => t.startsWith('SIP/2.0 200 ') && t.includes('fuzz-after-options')) ?? '', 'OPTIONS answered after the fuzz');

    // A proper INVITE from the resident is answered, and its PIN (SIP INFO) opens the door once.
    const resident = { user: 'resident', port: probe.port, tag: 'r1' };
    const residentRtp = dgram.createSocket('udp4');
    await new Promise<void>((res) => residentRtp.bind(0, '127.0.0.1', () => res()));
    sockets.push(residentRtp);
    probe.sock.send(request('INVITE', port, resident, { callId: 'fuzz-after-invite', branch: 'after2', body: sdp(residentRtp.address().port) }), port, '127.0.0.1');
    const ok2 = await waitFor(() => probe.got.find((t) => t.startsWith('SIP/2.0 200 ') && t.includes('fuzz-after-invite')) ?? '', 'a proper INVITE answered after the fuzz');
    const tag2 = /\r\nTo: [^\r]*;tag=([^;\r]+)/.exec(ok2)![1];
    probe.sock.send(request('ACK', port, resident, { callId: 'fuzz-after-invite', toTag: tag2, branch: 'after2ack' }), port, '127.0.0.1');
    for (const [k, d] of [...PIN].entries()) {
      probe.sock.send(request('INFO', port, resident, { callId: 'fuzz-after-invite', toTag: tag2, branch: 'pin' + k, cseq: 2 + k, type: 'application/dtmf-relay', body: `Signal=${d}\r\nDuration=160\r\n` }), port, '127.0.0.1');
      await delay(120);
    }
    await waitFor(() => relayHits.length > 0, 'the PIN opens the door (the path the fuzz could not use)', 5000);
    expect(relayHits).toEqual(['GET /open']);

    // the panel's call lived through the RTP fuzz
    expect(call.isEnded).toBe(false);
    for (const c of acc.account.endpoint.activeCalls) c.hangup();
    // answered requests' transactions absorb retransmissions for 64*T1 (Timer J/H, §17.2):
    // the heap is compared once they are gone, so what stays is what would leak
    const layer = acc.account.endpoint.layer as { counts: { servers: number } };
    await waitFor(() => layer.counts.servers === 0, `the fuzz's server transactions ended (${layer.counts.servers} left)`, 40_000, 250);
    harness.resetHistory();
    gc();
    await delay(100);
    gc();
    const heapAfter = process.memoryUsage().heapUsed;
    const mb = (n: number): string => (n / 1048576).toFixed(1);
    console.log(
      [
        `fuzz seed 0x${SEED.toString(16)}: ${sent.sip + sent.rtp + sent.rtcp} packets in ${fuzzMs} ms (test ${Date.now() - t0} ms)`,
        `  SIP sent ${sent.sip}, transport received ${sipReceived} (garbage ${stats.garbage}, 400s ${stats.badRequest}, muted ${stats.muted})`,
        `  RTP sent ${sent.rtp} + RTCP ${sent.rtcp}; RTP session: ${JSON.stringify(rtpStats)}`,
        `  heap after forced GC: before ${mb(heapBefore)} MB, after ${mb(heapAfter)} MB`,
      ].join('\n'),
    );
    expect(sipReceived).toBeGreaterThanOrEqual(sent.sip * 0.98);
    expect(rtpStats.received + rtpStats.malformed + rtpStats.rejectedSource + rtpStats.rtcpReceived).toBeGreaterThan(sent.rtp * 0.5);
    expect(heapAfter - heapBefore).toBeLessThan(4 * 1048576);
  });
});
