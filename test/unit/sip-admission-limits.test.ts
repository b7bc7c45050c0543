/**
 * Fair admission inside the allowed sources (issue #13, point 1): new dialogs per source at
 * a panel's pace, calls per source, the cap, slots of unACKed answers reclaimed, only the
 * request-URI users the account expects. First the decisions alone (a clock we step), then
 * on a real account over UDP on 127.0.0.1 with raw sockets as scanner and panel.
 */
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { Admission, type Slot } from '../../nodes/lib/sip/admission';
import { SipAccount, type AccountConfig } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import type { SipRequest } from '../../nodes/lib/sip/message';
import type { ServerTransaction } from '../../nodes/lib/sip/transactions';
import { parseCidrList } from '../../nodes/lib/net/cidr';
import type { SecurityEvent } from '../../nodes/lib/sip/security';
import { freeSipPort } from '../helpers/ports';
import { silentMediaFactory } from '../helpers/silent-media';
import { delay, waitFor } from '../helpers/wait';

const lan = parseCidrList('127.0.0.0/8').rules;
const req = (uri = 'sip:door@127.0.0.1') => ({ uri }) as SipRequest;
const tx = {} as ServerTransaction;
const from = (address: string, port: number) => ({ address, port, protocol: 'udp' as const });

describe('admission decisions', () => {
  let now = 1_000_000;
  const clock = () => now;

  test('a source gets its burst back to back, then one INVITE a second; another source is not held up', () => {
    const a = new Admission({ allowedSources: lan }, clock);
    const scanner = from('127.0.0.2', 5060);
    const kinds = Array.from({ length: 8 }, () => a.decide(req(), tx, scanner, []).kind);
    expect(kinds).toEqual(['admitted', 'admitted', 'admitted', 'admitted', 'admitted', 'rate', 'rate', 'rate']);
    expect(a.decide(req(), tx, from('127.0.0.3', 5060), []).kind).toBe('admitted');
    now += 1000;
    expect(a.decide(req(), tx, scanner, []).kind).toBe('admitted');
    expect(a.decide(req(), tx, scanner, []).kind).toBe('rate');
  });

  test('ports of one address that never completed a call share a bucket; a port whose call was ACKed skips it', () => {
    const a = new Admission({ allowedSources: lan, limits: { perSourceBurst: 1, perAddressFactor: 4 } }, clock);
    now += 3_600_000;
    const kinds = Array.from({ length: 6 }, (_, i) => a.decide(req(), tx, from('127.0.0.2', 20000 + i), []).kind);
    expect(kinds).toEqual(['admitted', 'admitted', 'admitted', 'admitted', 'rate', 'rate']);
    const panel = from('127.0.0.2', 5062);
    expect(a.decide(req(), tx, panel, []).kind).toBe('rate');
    a.markGood(panel);
    now += 1000;
    expect(a.decide(req(), tx, panel, []).kind).toBe('admitted');
  });

  test('calls at once per source and in all; an answered call without ACK past the grace gives its slot', () => {
    const a = new Admission({ allowedSources: lan, limits: { maxInboundCalls: 3, perSourceCalls: 2, perSourceBurst: 100, ackGraceMs: 2000 } }, clock);
    now += 3_600_000;
    const slot = (sourceKey: string, answeredAt?: number, acked = false): Slot => ({ sourceKey, answeredAt, acked, isEnded: false });
    const scanner = from('127.0.0.2', 5060);
    const two = [slot('127.0.0.2:5060', now - 100), slot('127.0.0.2:5060')];
    expect(a.decide(req(), tx, scanner, two).kind).toBe('source-busy');
    const old = slot('127.0.0.2:5060', now - 2500);
    expect(a.decide(req(), tx, scanner, [old, slot('127.0.0.2:5060')])).toEqual({ kind: 'admitted', evict: old });
    const full = [slot('127.0.0.3:1', now - 100), slot('127.0.0.4:1', now - 5000, true), slot('127.0.0.5:1')];
    expect(a.decide(req(), tx, from('127.0.0.1', 5062), full).kind).toBe('overload');
    const stale = slot('127.0.0.6:1', now - 3000);
    expect(a.decide(req(), tx, from('127.0.0.1', 5062), [...full.slice(1), stale])).toEqual({ kind: 'admitted', evict: stale });
  });

  test('only the request-URI users it expects, when it names them; a URI without a user always passes', () => {
    const a = new Admission({ allowedSources: lan, limits: { acceptUsers: ['door', '1'], perSourceBurst: 100 } }, clock);
    const p = from('127.0.0.1', 5062);
    expect(a.decide(req('sip:door@127.0.0.1'), tx, p, []).kind).toBe('admitted');
    expect(a.decide(req('sip:1@127.0.0.1:5060;transport=udp'), tx, p, []).kind).toBe('admitted');
    expect(a.decide(req('sip:127.0.0.1'), tx, p, []).kind).toBe('admitted');
    expect(a.decide(req('sip:00441234@127.0.0.1'), tx, p, [])).toEqual({ kind: 'unknown-user', user: '00441234' });
  });

  test('a source outside the allowed sources is forbidden before any limit', () => {
    const a = new Admission({ allowedSources: parseCidrList('10.0.0.0/8').rules }, clock);
    expect(a.decide(req(), tx, from('127.0.0.1', 1), []).kind).toBe('forbidden');
  });
});

const SDP = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

class Peer {
  readonly replies: string[] = [];
  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (m) => this.replies.push(m.toString()));
  }
  static async open(address = '127.0.0.1'): Promise<Peer> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, address, () => r()));
    return new Peer(s);
  }
  get port(): number {
    return this.socket.address().port;
  }
  get address(): string {
    return this.socket.address().address;
  }
  invite(port: number, callId: string, user = 'door'): void {
    const lines = [
      `INVITE sip:${user}@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.address}:${this.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
      'Max-Forwards: 70',
      `From: <sip:panel@${this.address}>;tag=${randomBytes(4).toString('hex')}`,
      `To: <sip:${user}@127.0.0.1>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:panel@${this.address}:${this.port}>`,
      'Content-Type: application/sdp',
      `Content-Length: ${SDP.length}`,
      '',
      SDP,
    ];
    this.socket.send(lines.join('\r\n'), port, '127.0.0.1');
  }
  ack(port: number, okResponse: string): void {
    const get = (h: string) => new RegExp(`\\r\\n${h}: ([^\\r]*)`, 'i').exec(okResponse)?.[1] ?? '';
    const lines = [
      `ACK sip:door@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.address}:${this.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
      'Max-Forwards: 70',
      `From: ${get('From')}`,
      `To: ${get('To')}`,
      `Call-ID: ${get('Call-ID')}`,
      'CSeq: 1 ACK',
      'Content-Length: 0',
      '',
      '',
    ];
    this.socket.send(lines.join('\r\n'), port, '127.0.0.1');
  }
  status(callId: string, status: number): string | undefined {
    return this.replies.find((r) => r.startsWith(`SIP/2.0 ${status} `) && r.includes(`\r\nCall-ID: ${callId}\r\n`));
  }
  firstLines(callId: string): string[] {
    return this.replies.filter((r) => r.includes(`\r\nCall-ID: ${callId}\r\n`)).map((r) => r.split('\r\n')[0]);
  }
  close(): void {
    this.socket.close();
  }
}

describe('admission on a real account (UDP, 127.0.0.1)', () => {
  const accounts: SipAccount[] = [];
  const peers: Peer[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) p.close();
    for (const a of accounts.splice(0)) await a.close();
  });
  const peer = async (address?: string) => {
    const p = await Peer.open(address);
    peers.push(p);
    return p;
  };

  async function account(config: Partial<AccountConfig>): Promise<{ port: number; calls: Call[]; events: SecurityEvent[]; account: SipAccount }> {
    const port = await freeSipPort();
    const a = new SipAccount({ name: 'door', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.0/8', ...config }, { mediaFactory: silentMediaFactory() });
    accounts.push(a);
    const calls: Call[] = [];
    const events: SecurityEvent[] = [];
    a.on('call', (c) => {
      calls.push(c);
      // The flow of the issue: it answers every call.
      void c.answer().catch(() => undefined);
    });
    a.on('security', (ev) => events.push(ev));
    await a.start();
    return { port, calls, events, account: a };
  }

  test('a scanner that never ACKs cannot hold the panel out: its surplus gets 503, it holds no more than its share', async () => {
    const { port, calls, events, account: acc } = await account({ maxInboundCalls: 8 });
    const scanner = await peer('127.0.0.2');
    for (let i = 0; i < 40; i++) scanner.invite(port, `scan-${i}`, `00${i}`);
    const refused = () => scanner.replies.filter((r) => / 503 /.test(r.split('\r\n')[0])).length + acc.endpoint!.transport.stats.muted;
    await waitFor(() => refused() >= 36, '503s to the scanner, then its INVITEs dropped unread');
    // Its first INVITEs were answered (the flow answers all) and never ACKed: at most its share holds slots.
    expect(acc.endpoint!.activeCalls.length).toBeLessThanOrEqual(4);
    expect(scanner.replies.find((r) => r.startsWith('SIP/2.0 503'))).toContain('Retry-After: 5');
    // Told once per kind for the journal, not once per packet.
    expect(events.map((e) => `${e.kind}/${e.reason}`).sort()).toEqual(['flood/rate', 'flood/source-busy']);
    expect(events[0].source).toMatch(/^127\.0\.0\.2:/);

    const panel = await peer('127.0.0.1');
    panel.invite(port, 'panel-1');
    const ok = await waitFor(() => panel.status('panel-1', 200), 'the panel answered');
    panel.ack(port, ok!);
    await waitFor(() => calls.find((c) => c.callId === 'panel-1')?.info.state === 'answered', 'panel call up');
    await delay(100);
    expect(calls.find((c) => c.callId === 'panel-1')?.isEnded).toBe(false);
  });

  test('with every slot held by answered calls that were never ACKed, the panel takes the oldest once its grace is over', async () => {
    const { port, calls, account: acc } = await account({ maxInboundCalls: 2, perSourceCalls: 2 });
    (acc.endpoint!.admission.limits as { ackGraceMs: number }).ackGraceMs = 300;
    const half = await peer('127.0.0.2');
    half.invite(port, 'half-1');
    half.invite(port, 'half-2');
    await waitFor(() => half.status('half-1', 200) && half.status('half-2', 200), 'both answered');
    const panel = await peer('127.0.0.1');
    panel.invite(port, 'early');
    await waitFor(() => panel.status('early', 503), '503 inside the grace');
    await delay(350);
    panel.invite(port, 'panel');
    await waitFor(() => panel.status('panel', 200), 'the panel answered');
    const evicted = calls.find((c) => c.callId === 'half-1')!;
    expect(evicted.info.reason).toBe('no-ack');
    await waitFor(() => half.replies.some((r) => r.startsWith('BYE ') && r.includes('Call-ID: half-1')), 'BYE to the half-open call');
    expect(acc.endpoint!.stats.reclaimed).toBe(1);
  });

  test('a source far past its rate has its INVITEs dropped unread; the panel on the same address, another port, is answered', async () => {
    const { port, account: acc } = await account({});
    const scanner = await peer('127.0.0.1');
    for (let i = 0; i < 300; i++) scanner.invite(port, `m-${i}`, `7${i}`);
    await waitFor(() => acc.endpoint!.transport.stats.muted >= 200, `INVITEs dropped unread (${acc.endpoint!.transport.stats.muted})`);
    // Refused: 5 admitted (its burst), then 503s until more than 20 in a second; the rest unread.
    expect(scanner.replies.filter((r) => r.startsWith('SIP/2.0 503')).length).toBeLessThanOrEqual(25);
    const panel = await peer('127.0.0.1');
    panel.invite(port, 'panel-m');
    await waitFor(() => panel.status('panel-m', 200), 'the panel answered');
  });

  test('only the users it expects: 404 for others, before anything rings', async () => {
    const { port, calls } = await account({ acceptUsers: ['door'] });
    const p = await peer();
    p.invite(port, 'other', '1000');
    await waitFor(() => p.status('other', 404), '404');
    expect(p.firstLines('other')).toEqual(['SIP/2.0 404 Not Found']);
    p.invite(port, 'mine', 'door');
    await waitFor(() => p.status('mine', 200), '200');
    expect(calls.map((c) => c.callId)).toEqual(['mine']);
  });
});
