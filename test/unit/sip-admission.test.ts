/**
 * Who may call and who may register, on real accounts over UDP on 127.0.0.1: a raw socket
 * plays the stranger and the panel. A source outside allowed sources gets 403 and creates
 * no call; in registrar mode an INVITE needs the panel's digest (401 without, 403 with a
 * wrong password) and a REGISTER with a wrong password binds nothing. These fail when
 * admission or digest checking is broken, without any peer program.
 */
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { SipAccount, type AccountConfig } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import { authorize, parseChallenge } from '../../nodes/lib/auth/digest';
import { freeSipPort } from '../helpers/ports';
import { silentMediaFactory } from '../helpers/silent-media';
import { delay, waitFor } from '../helpers/wait';

const SDP = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

/** A SIP peer that is nothing but a UDP socket: what a scanner or a panel sends, byte for byte. */
class RawPeer {
  readonly replies: string[] = [];
  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (m) => this.replies.push(m.toString()));
  }
  static async open(): Promise<RawPeer> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new RawPeer(s);
  }
  get port(): number {
    return this.socket.address().port;
  }
  send(text: string, port: number): void {
    this.socket.send(text, port, '127.0.0.1');
  }
  /** The responses to one request (by Call-ID and CSeq), status codes in order. */
  statuses(callId: string, cseq: number, method = 'INVITE'): number[] {
    return this.replies.filter((r) => r.includes(`\r\nCall-ID: ${callId}\r\n`) && r.includes(`\r\nCSeq: ${cseq} ${method}\r\n`)).map((r) => Number(r.split(' ')[1]));
  }
  response(callId: string, cseq: number, status: number, method = 'INVITE'): string | undefined {
    return this.replies.find((r) => r.startsWith(`SIP/2.0 ${status} `) && r.includes(`\r\nCall-ID: ${callId}\r\n`) && r.includes(`\r\nCSeq: ${cseq} ${method}\r\n`));
  }
  close(): void {
    this.socket.close();
  }
}

function request(method: 'INVITE' | 'REGISTER', to: { port: number; user: string }, from: RawPeer, opts: { callId: string; cseq: number; auth?: string; uri?: string }): string {
  const uri = opts.uri ?? (method === 'REGISTER' ? 'sip:127.0.0.1' : `sip:${to.user}@127.0.0.1:${to.port}`);
  const body = method === 'INVITE' ? SDP : '';
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${from.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    `From: <sip:panel@127.0.0.1>;tag=${randomBytes(4).toString('hex')}`,
    `To: <sip:${to.user}@127.0.0.1>`,
    `Call-ID: ${opts.callId}`,
    `CSeq: ${opts.cseq} ${method}`,
    `Contact: <sip:panel@127.0.0.1:${from.port}>`,
    ...(method === 'REGISTER' ? ['Expires: 120'] : ['Content-Type: application/sdp']),
    ...(opts.auth ? [`Authorization: ${opts.auth}`] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** The Authorization answering a 401, with the password given. */
function answer(res: string, method: string, uri: string, password: string): string {
  const www = /\r\nWWW-Authenticate: (.*)\r\n/i.exec(res)?.[1] ?? '';
  const ch = parseChallenge(www);
  if (!ch) throw new Error(`no digest challenge in ${res.split('\r\n')[0]}`);
  return authorize(ch, { user: 'panel', password }, method, uri, 1);
}

describe('admission on a real account (UDP, 127.0.0.1)', () => {
  const accounts: SipAccount[] = [];
  let peer: RawPeer;
  beforeEach(async () => {
    peer = await RawPeer.open();
  });
  afterEach(async () => {
    peer.close();
    for (const a of accounts.splice(0)) await a.close();
  });

  async function account(config: Partial<AccountConfig>): Promise<{ account: SipAccount; port: number; calls: Call[] }> {
    const port = await freeSipPort();
    const a = new SipAccount({ name: `door-${port}`, mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', ...config }, { mediaFactory: silentMediaFactory() });
    accounts.push(a);
    const calls: Call[] = [];
    a.on('call', (c) => calls.push(c));
    await a.start();
    return { account: a, port, calls };
  }

  test('a source outside the allowed sources gets 403 and creates no call', async () => {
    const { port, calls } = await account({ allowedSources: '10.0.0.0/8, 192.168.1.20' });
    peer.send(request('INVITE', { port, user: 'door' }, peer, { callId: 'stranger', cseq: 1 }), port);
    await waitFor(() => peer.response('stranger', 1, 403), '403 to the stranger');
    await delay(50);
    expect(peer.statuses('stranger', 1)).toEqual([403]);
    expect(calls).toHaveLength(0);
  });

  test('an allowed source gets 100 and 180, and the flow gets a call', async () => {
    const { port, calls } = await account({ allowedSources: '10.0.0.0/8, 127.0.0.1' });
    peer.send(request('INVITE', { port, user: 'door' }, peer, { callId: 'panel', cseq: 1 }), port);
    await waitFor(() => peer.response('panel', 1, 180), '180 to the panel');
    expect(peer.statuses('panel', 1)).toEqual([100, 180]);
    expect(calls).toHaveLength(1);
    expect(calls[0].info).toMatchObject({ direction: 'inbound', source: `127.0.0.1:${peer.port}`, state: 'ringing' });
  });

  describe('registrar mode: a panel INVITE needs its digest credentials', () => {
    const setup = () => account({ mode: 'registrar', domain: '127.0.0.1', registrarAccounts: [{ user: 'panel', password: 'pan3l' }] });

    test('no credentials: 401 with a challenge, no call', async () => {
      const { port, calls } = await setup();
      peer.send(request('INVITE', { port, user: 'door' }, peer, { callId: 'bare', cseq: 1 }), port);
      const res = await waitFor(() => peer.response('bare', 1, 401), '401');
      expect(res).toMatch(/\r\nWWW-Authenticate: Digest realm="127\.0\.0\.1", nonce="/);
      await delay(50);
      expect(peer.statuses('bare', 1)).toEqual([401]);
      expect(calls).toHaveLength(0);
    });

    test('a wrong password: 403, no call; the right one: 100, 180 and a call', async () => {
      const { port, calls } = await setup();
      const uri = `sip:door@127.0.0.1:${port}`;
      peer.send(request('INVITE', { port, user: 'door' }, peer, { callId: 'wrong', cseq: 1 }), port);
      const challenge = (await waitFor(() => peer.response('wrong', 1, 401), '401'))!;
      peer.send(request('INVITE', { port, user: 'door' }, peer, { callId: 'wrong', cseq: 2, auth: answer(challenge, 'INVITE', uri, 'guess') }), port);
      await waitFor(() => peer.response('wrong', 2, 403), '403 to the wrong password');
      await delay(50);
      expect(peer.statuses('wrong', 2)).toEqual([403]);
      expect(calls).toHaveLength(0);

      peer.send(request('INVITE', { port, user: 'door' }, peer, { callId: 'right', cseq: 1 }), port);
      const again = (await waitFor(() => peer.response('right', 1, 401), '401'))!;
      peer.send(request('INVITE', { port, user: 'door' }, peer, { callId: 'right', cseq: 2, auth: answer(again, 'INVITE', uri, 'pan3l') }), port);
      await waitFor(() => peer.response('right', 2, 180), '180 to the panel');
      expect(peer.statuses('right', 2)).toEqual([100, 180]);
      expect(calls).toHaveLength(1);
      expect(calls[0].info.source).toBe(`127.0.0.1:${peer.port}`);
    });

    test('REGISTER with a wrong password binds nothing (403); the right one binds', async () => {
      const { account: acc, port } = await setup();
      const uri = 'sip:127.0.0.1';
      peer.send(request('REGISTER', { port, user: 'panel' }, peer, { callId: 'reg', cseq: 1 }), port);
      const challenge = (await waitFor(() => peer.response('reg', 1, 401, 'REGISTER'), '401'))!;
      peer.send(request('REGISTER', { port, user: 'panel' }, peer, { callId: 'reg', cseq: 2, auth: answer(challenge, 'REGISTER', uri, 'guess') }), port);
      await waitFor(() => peer.response('reg', 2, 403, 'REGISTER'), '403');
      expect(acc.registrar?.lookup('panel')).toEqual([]);

      peer.send(request('REGISTER', { port, user: 'panel' }, peer, { callId: 'reg', cseq: 3 }), port);
      const again = (await waitFor(() => peer.response('reg', 3, 401, 'REGISTER'), '401'))!;
      peer.send(request('REGISTER', { port, user: 'panel' }, peer, { callId: 'reg', cseq: 4, auth: answer(again, 'REGISTER', uri, 'pan3l') }), port);
      await waitFor(() => peer.response('reg', 4, 200, 'REGISTER'), '200');
      expect(acc.registrar?.lookup('panel').map((b) => b.contact)).toEqual([`sip:panel@127.0.0.1:${peer.port}`]);
    });
  });
});
