/**
 * RFC 4475 (SIP torture test messages), §3, sent over a real UDP socket to a running P2P
 * endpoint; each is checked against what the RFC says a robust element does with it: the
 * valid ones are parsed and answered (the right status, Via/From/To/Call-ID/CSeq echoed),
 * the invalid ones answered 400 (or 416, 505, 406, 415, 420 where the RFC names that)
 * when an answer can be sent, and dropped when not (responses that match nothing). None
 * throws, rejects a promise, or rings when it must be refused.
 *
 * The messages are test/fixtures/rfc4475/<name>.txt in the RFC's own notation (§2):
 * `<hex>..</hex>` for octets that are not printable, `<repeat count=N>..</repeat>` for long
 * runs; lines end in CRLF on the wire. Their Vias name other hosts and (mostly) no port, so
 * the answer goes to the address the request came from and port 5060 (RFC 3261 §18.2.2):
 * the "peer" here is a socket on port 5060 of a loopback address picked free (127.x.y.z),
 * and one on 5050 for the message whose Via names that port.
 */
import * as dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { silentMediaFactory } from '../helpers/silent-media';
import { SipEndpoint } from '../../nodes/lib/sip/endpoint';
import type { Call } from '../../nodes/lib/sip/call';
import { parseCidrList } from '../../nodes/lib/net/cidr';
import { parseMessage } from '../../nodes/lib/sip/message';
import { SipTransport } from '../../nodes/lib/sip/transport';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';

const DIR = path.join(__dirname, '..', 'fixtures', 'rfc4475');

/** A fixture as octets on the wire (RFC 4475 §2: CRLF line ends, hex and repeat notation). */
export function torture(name: string): Buffer {
  const text = readFileSync(path.join(DIR, name + '.txt'), 'utf8')
    .replace(/<repeat count=(\d+)>([\s\S]*?)<\/repeat>/g, (_m, n: string, s: string) => s.repeat(Number(n)))
    .replace(/\n/g, '\r\n');
  const parts: Buffer[] = [];
  let at = 0;
  for (const m of text.matchAll(/<hex>([0-9A-Fa-f]*)<\/hex>/g)) {
    parts.push(Buffer.from(text.slice(at, m.index), 'utf8'), Buffer.from(m[1], 'hex'));
    at = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(at), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * The test's own reading of a request's header fields (unfolded, compact names expanded,
 * whitespace collapsed), to check the echo against: not the parser under test.
 */
const COMPACT: Record<string, string> = { i: 'call-id', f: 'from', t: 'to', v: 'via', l: 'content-length', m: 'contact', c: 'content-type' };
function fields(msg: Buffer): Map<string, string[]> {
  const head = msg.toString('latin1').split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' ');
  const out = new Map<string, string[]>();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    let name = line.slice(0, colon).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    const v = line.slice(colon + 1).replace(/\s+/g, ' ').trim();
    out.set(name, [...(out.get(name) ?? []), v]);
  }
  return out;
}
const collapse = (s: string): string => s.replace(/\s+/g, ' ').trim();

interface Answered {
  /** the final (or, for a call that rings, the provisional) status the RFC asks for */
  status: number;
  /** it rings: one `call` event, 100 then 180 */
  call?: boolean;
  /** an answer to a Via list that did not parse echoes the top Via only */
  topViaOnly?: boolean;
  /** header the answer must carry (name: value pattern) */
  carries?: Record<string, RegExp>;
}
type Outcome = Answered | { dropped: 'response' | 'unroutable' };

/**
 * What RFC 4475 says of each message, for a UAS that is not a registrar (a P2P door: REGISTER
 * is a method it does not serve, which RFC 3261 §8.2.1 checks before the registrar's rules
 * of §10.3 could apply, so the REGISTER tests that need a registrar's verdict get 405).
 */
/**
 * The RFC's INVITE bodies describe video as `a=rtpmap:31 LPC`, without the clock rate RFC
 * 4566 §6 requires. media/sdp.ts reads such an rtpmap as none (payload type 31 is then the
 * static table's H.261, which a door declines), so the audio in the same offer counts and
 * these valid INVITEs ring, as RFC 4475 §3.1.1 wants of valid messages.
 */
const RINGS: Answered = { status: 180, call: true };

const OUTCOME: Record<string, Outcome> = {
  // §3.1.1 valid messages: parsed and answered
  wsinv: { status: 481 }, // a re-INVITE (To has a tag) for no dialog we have, §12.2.2
  intmeth: { status: 501 }, // an unknown method, §8.2.1
  esc01: RINGS,
  escnull: { status: 405, carries: { allow: /INVITE/ } },
  esc02: { status: 501 }, // the method is RE%47IST%45R, not REGISTER
  lwsdisp: { status: 200 },
  longreq: RINGS,
  dblreq: { status: 405 }, // the REGISTER only: the INVITE after its Content-Length is discarded, §18.3
  semiuri: { status: 200 },
  transports: { status: 200 },
  mpart01: { status: 405 }, // MESSAGE, a known method we do not serve
  unreason: { dropped: 'response' }, // parsed (below), matches no transaction of ours
  noreason: { dropped: 'response' },
  // §3.1.2 invalid messages
  badinv01: { status: 400, topViaOnly: true },
  clerr: { status: 400 },
  ncl: { status: 400 },
  scalar02: { status: 400 },
  scalarlg: { dropped: 'response' },
  quotbal: { status: 400 },
  ltgtruri: { status: 400 },
  lwsruri: { status: 400 },
  lwsstart: { status: 400 },
  trws: { status: 400 },
  escruri: { status: 400 },
  baddate: RINGS, // "may accept and ignore the Date": we do
  regbadct: { status: 405 },
  badaspec: { status: 200 }, // "elements may choose to ignore the spaces": OPTIONS does not read To
  baddn: { status: 200 }, // likewise, liberal
  badvers: { status: 505 },
  mismatch01: { status: 400 },
  mismatch02: { status: 400 },
  bigcode: { dropped: 'response' },
  // §3.2, §3.3 transaction and application layer
  badbranch: { status: 200 }, // a branch of just the cookie: matched the RFC 2543 way, still answered
  insuf: { status: 400 },
  unkscm: { status: 416 },
  novelsc: { status: 416 },
  unksm2: { status: 405 },
  bext01: { status: 420, carries: { unsupported: /^nothingSupportedHere$/ } }, // Proxy-Require is for proxies
  invut: { status: 415, carries: { accept: /application\/sdp/ } },
  regaut01: { status: 405 },
  multi01: { status: 400 },
  mcl01: { status: 400 },
  bcast: { dropped: 'response' }, // and nothing goes to 255.255.255.255
  zeronum: RINGS, // Max-Forwards 0 is for proxies; the UAS processes it
  cparam01: { status: 405 },
  cparam02: { status: 405 },
  regescrt: { status: 405 },
  sdp01: { status: 406, carries: { accept: /application\/sdp/ } },
};

describe('RFC 4475 torture messages to a running P2P endpoint (UDP, 127.0.0.0/8)', () => {
  let transport: SipTransport;
  let ep: SipEndpoint;
  let peer: string;
  const sockets: dgram.Socket[] = [];
  const replies: Array<{ text: string; port: number }> = [];
  /** everything the transport put on the wire, and where (its SIP trace hook) */
  const wire: Array<{ text: string; address: string }> = [];
  const calls: Call[] = [];
  const rejections: unknown[] = [];
  const exceptions: unknown[] = [];
  const onRejection = (r: unknown): void => void rejections.push(r);
  const onException = (e: unknown): void => void exceptions.push(e);

  /** A loopback address whose 5060 and 5050 are free, and sockets on both. */
  async function bindPeer(): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const addr = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
      const bound: dgram.Socket[] = [];
      try {
        for (const port of [5060, 5050]) {
          const s = dgram.createSocket('udp4');
          bound.push(s);
          await new Promise<void>((resolve, reject) => {
            s.once('error', reject);
            s.bind(port, addr, () => resolve());
          });
          s.on('message', (m) => replies.push({ text: m.toString('latin1'), port }));
        }
        peer = addr;
        sockets.push(...bound);
        return;
      } catch {
        for (const s of bound) s.close();
      }
    }
    throw new Error('no loopback address with 5060 and 5050 free');
  }

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    await bindPeer();
    const port = await freeSipPort();
    transport = new SipTransport({ protocol: 'udp', host: '127.0.0.1', port });
    await transport.start();
    transport.trace = (dir, data, remote) => void (dir === 'out' && wire.push({ text: data, address: remote.address }));
    ep = new SipEndpoint({
      transport, mediaFactory: silentMediaFactory(), mode: 'p2p', user: 'door',
      allowedSources: parseCidrList('127.0.0.0/8').rules,
      limits: { perSourceCalls: 100, perSourceBurst: 100, perSourceRate: 6000, muteAfter: 1_000_000 },
    });
    ep.on('call', (c) => calls.push(c));
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await ep.close();
    await transport.close();
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });

  test('every fixture has an outcome and every outcome a fixture', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.txt')).map((f) => f.replace(/\.txt$/, '')).sort();
    expect(files).toEqual(Object.keys(OUTCOME).sort());
  });

  const send = (data: Buffer): void => void sockets[0].send(data, transport.port, '127.0.0.1');
  const answersTo = (callId: string | undefined): Array<{ text: string; port: number }> =>
    replies.filter((r) => callId !== undefined ? new RegExp(`\\r\\nCall-ID: ${callId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\r\\n`).test(r.text) : !/\r\nCall-ID:/.test(r.text));

  test.each(Object.keys(OUTCOME))('%s', async (name) => {
    const msg = torture(name);
    const want = OUTCOME[name];
    const f = fields(msg);
    const callId = f.get('call-id')?.[0];
    const before = { received: transport.stats.received, calls: calls.length, errors: transport.stats.handlerErrors };
    send(msg);
    await waitFor(() => transport.stats.received > before.received, 'the datagram read');

    if ('dropped' in want) {
      await delay(150);
      expect(answersTo(callId)).toEqual([]);
      expect(wire.filter((w) => callId !== undefined && w.text.includes(callId))).toEqual([]);
      if (want.dropped === 'response') {
        // RFC: these parse (the valid ones) or are discarded (the invalid ones); none is answered
        const parsed = parseMessage(msg.toString('utf8'));
        expect(parsed.ok).toBe(name === 'unreason' || name === 'noreason' || name === 'bcast');
      }
    } else {
      const final = await waitFor(() => answersTo(callId).find((r) => r.text.startsWith(`SIP/2.0 ${want.status} `)) ?? false, `${want.status} to ${name} (${answersTo(callId).map((r) => r.text.split('\r\n')[0]).join(' | ') || 'nothing'})`, 2000);
      const statuses = answersTo(callId).map((r) => Number(r.text.split(' ')[1]));
      if (want.call) expect(statuses.slice(0, 2)).toEqual([100, 180]);
      else expect(statuses).toEqual([want.status]);
      // it went where §18.2.2 sends it: the source address, the top Via's port (or rport)
      const viaPort = /^SIP\/2\.0\/\w+ [^;:\s]+:(\d+)/.exec(collapse(f.get('via')?.[0] ?? ''))?.[1];
      if (!final) throw new Error('no answer');
      expect(final.port).toBe(/;rport/.test(f.get('via')?.[0] ?? '') ? 5060 : Number(viaPort ?? 5060));
      const got = fields(Buffer.from(final.text, 'latin1'));
      // §8.2.6.2: Via, From, To, Call-ID and CSeq come back as they were sent
      const sentVias = (f.get('via') ?? []).flatMap((v) => v.split(',').map(collapse));
      const gotVias = (got.get('via') ?? []).map(collapse);
      expect(gotVias[0]).toMatch(new RegExp(`;received=${peer.replace(/\./g, '\\.')}$`));
      if (want.topViaOnly) {
        expect(gotVias).toHaveLength(1);
        expect(sentVias[0].startsWith(gotVias[0].replace(/;received=.*$/, '').replace(/;rport=\d+/, ';rport'))).toBe(true);
      } else {
        // the top Via's received is the real source (§18.2.1), whatever the request claimed
        const top = (v: string): string => v.replace(/;received=[^;]*/g, '').replace(/;rport=\d+/, ';rport');
        expect([top(gotVias[0]), ...gotVias.slice(1)]).toEqual([top(sentVias[0]), ...sentVias.slice(1)]);
      }
      if (callId !== undefined) expect(got.get('call-id')).toEqual([callId]);
      if (f.has('from')) expect(got.get('from')).toEqual([f.get('from')![0]]);
      if (f.has('to')) expect(got.get('to')?.[0].startsWith(f.get('to')![0])).toBe(true);
      if (want.status > 100 && f.has('to') && !/;\s*tag\s*=/i.test(f.get('to')![0].replace(/"[^"]*"/g, '')) && want.status !== 400 && want.status !== 416 && want.status !== 505) {
        expect(got.get('to')?.[0]).toMatch(/;tag=\w+$/);
      }
      const cseq = /^0*(\d+) (\S+)$/.exec(f.get('cseq')?.[0] ?? '');
      if (cseq && Number(cseq[1]) < 2 ** 31) expect(got.get('cseq')).toEqual([`${cseq[1]} ${cseq[2].toUpperCase()}`]);
      else if (f.has('cseq')) expect(got.get('cseq')).toEqual([f.get('cseq')![0]]);
      for (const [h, re] of Object.entries(want.carries ?? {})) expect(got.get(h)?.[0]).toMatch(re);
      // a message that must be refused never rings; one that is valid rings once
      const rang = calls.slice(before.calls);
      expect(rang.map((c) => c.callId)).toEqual(want.call ? [callId] : []);
      for (const c of rang) c.hangup();
    }
    expect(transport.stats.handlerErrors).toBe(before.errors);
    expect(rejections).toEqual([]);
    expect(exceptions).toEqual([]);
  });

  test('the endpoint still answers a plain OPTIONS after all of them', async () => {
    replies.length = 0;
    const me = `${peer}:5060`;
    send(Buffer.from([
      'OPTIONS sip:door@127.0.0.1 SIP/2.0', `Via: SIP/2.0/UDP ${me};branch=z9hG4bKafter`, 'Max-Forwards: 70', `From: <sip:probe@${me}>;tag=a`,
      'To: <sip:door@127.0.0.1>', 'Call-ID: after-torture', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
    ].join('\r\n')));
    const r = await waitFor(() => answersTo('after-torture')[0], 'the 200');
    expect(r.text).toMatch(/^SIP\/2\.0 200 /);
    expect(ep.activeCalls.filter((c) => !c.isEnded)).toEqual([]);
  });
});
