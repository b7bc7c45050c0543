/**
 * Password guessing at the registrar (issue #13, point 2) on real accounts over UDP on
 * 127.0.0.1: raw sockets on several loopback addresses play the guessers and the panel.
 * Every name is challenged; unknown names and wrong passwords get the same 403; failures
 * are answered later and later, then the address is locked out, also for the right password,
 * also after the account restarts on the same state file; INVITE digest the same.
 */
import * as dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SipAccount } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import type { SecurityEvent } from '../../nodes/lib/sip/security';
import { authorize, parseChallenge } from '../../nodes/lib/auth/digest';
import { freeSipPort } from '../helpers/ports';
import { silentMediaFactory } from '../helpers/silent-media';
import { waitFor } from '../helpers/wait';

const SDP = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

class Guesser {
  private readonly waiting = new Map<string, (r: string) => void>();
  private constructor(private readonly socket: dgram.Socket, readonly address: string) {
    socket.on('message', (m) => {
      const t = m.toString();
      if (t.startsWith('SIP/2.0 100 ')) return;
      const id = `${/\r\nCall-ID: ([^\r]+)/.exec(t)?.[1]}|${/\r\nCSeq: (\d+)/.exec(t)?.[1]}`;
      this.waiting.get(id)?.(t);
    });
  }
  static async open(address: string): Promise<Guesser> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, address, () => r()));
    return new Guesser(s, address);
  }
  /** Send one request, resolve with its final response and how long it took (ms). */
  request(port: number, method: 'REGISTER' | 'INVITE', user: string, callId: string, cseq: number, auth?: string): Promise<{ res: string; ms: number }> {
    const me = `${this.address}:${this.socket.address().port}`;
    const uri = method === 'REGISTER' ? 'sip:127.0.0.1' : `sip:door@127.0.0.1:${port}`;
    const body = method === 'INVITE' ? SDP : '';
    const text = [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${me};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
      'Max-Forwards: 70',
      `From: <sip:${user}@127.0.0.1>;tag=${randomBytes(4).toString('hex')}`,
      `To: <sip:${method === 'REGISTER' ? user : 'door'}@127.0.0.1>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:${user}@${me}>`,
      ...(method === 'REGISTER' ? ['Expires: 120'] : ['Content-Type: application/sdp']),
      ...(auth ? [`Authorization: ${auth}`] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    return new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const timer = setTimeout(() => reject(new Error(`no answer to ${method} ${callId}/${cseq}`)), 15000);
      this.waiting.set(`${callId}|${cseq}`, (res) => {
        clearTimeout(timer);
        this.waiting.delete(`${callId}|${cseq}`);
        resolve({ res, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
      });
      this.socket.send(text, port, '127.0.0.1');
    });
  }
  /** Challenge, then answer it with this password: the final status and the time of the second request. */
  async attempt(port: number, method: 'REGISTER' | 'INVITE', user: string, password: string): Promise<{ status: number; ms: number }> {
    const callId = randomBytes(6).toString('hex');
    const first = await this.request(port, method, user, callId, 1);
    if (!first.res.startsWith('SIP/2.0 401')) return { status: Number(first.res.split(' ')[1]), ms: first.ms };
    const ch = parseChallenge(/\r\nWWW-Authenticate: ([^\r]+)/i.exec(first.res)?.[1] ?? '')!;
    const uri = method === 'REGISTER' ? 'sip:127.0.0.1' : `sip:door@127.0.0.1:${port}`;
    const second = await this.request(port, method, user, callId, 2, authorize(ch, { user, password }, method, uri, 1));
    return { status: Number(second.res.split(' ')[1]), ms: second.ms };
  }
  close(): void {
    this.socket.close();
  }
}

describe('registrar against password guessing (UDP, 127.0.0.1)', () => {
  let dir: string;
  const open: Array<{ close(): unknown }> = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sip-guard-'));
  });
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function registrar(port: number, policy = { baseDelayMs: 40, maxDelayMs: 200 }): Promise<{ account: SipAccount; events: SecurityEvent[]; calls: Call[] }> {
    const account = new SipAccount(
      { name: 'reg', mode: 'registrar', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', domain: '127.0.0.1', registrarAccounts: [{ user: 'panel', password: 'pan3l-Secret', allowedSources: '127.0.0.0/8' }] },
      { mediaFactory: silentMediaFactory(), guardFile: path.join(dir, 'guard.json'), guardPolicy: policy },
    );
    const events: SecurityEvent[] = [];
    const calls: Call[] = [];
    account.on('security', (e) => events.push(e));
    account.on('call', (c) => calls.push(c));
    await account.start();
    open.push(account);
    return { account, events, calls };
  }
  const guesser = async (address: string) => {
    const g = await Guesser.open(address);
    open.push(g);
    return g;
  };

  test('a name that is no account is challenged like a real one, and refused with the same 403', async () => {
    const port = await freeSipPort();
    await registrar(port);
    const g = await guesser('127.0.0.11');
    const real = await g.attempt(port, 'REGISTER', 'panel', 'guess');
    const none = await g.attempt(port, 'REGISTER', 'nobody', 'guess');
    expect([real.status, none.status]).toEqual([403, 403]);
    const a = await g.request(port, 'REGISTER', 'panel', 'x1', 1);
    const b = await g.request(port, 'REGISTER', 'nobody', 'x2', 1);
    expect([a.res.split('\r\n')[0], b.res.split('\r\n')[0]]).toEqual(['SIP/2.0 401 Unauthorized', 'SIP/2.0 401 Unauthorized']);
  });

  test('guesses from one address slow down, then lock it out, also for the right password and across a restart; the panel elsewhere registers', async () => {
    const port = await freeSipPort();
    const first = await registrar(port);
    const g = await guesser('127.0.0.12');
    const tries: Array<{ status: number; ms: number }> = [];
    for (let i = 0; i < 10; i++) tries.push(await g.attempt(port, 'REGISTER', 'panel', `guess${i}`));
    expect(tries.map((t) => t.status)).toEqual(Array(10).fill(403));
    // failures 4..9 are answered 40, 80, 160, 200, 200, 200 ms late; the first three at once
    expect(Math.max(...tries.slice(0, 3).map((t) => t.ms))).toBeLessThan(35);
    expect(tries[6].ms).toBeGreaterThanOrEqual(150);
    expect(first.events).toEqual([expect.objectContaining({ kind: 'lockout', reason: 'source', account: 'reg', source: expect.stringMatching(/^127\.0\.0\.12:/) })]);
    expect(await g.attempt(port, 'REGISTER', 'panel', 'pan3l-Secret')).toMatchObject({ status: 403 });
    expect(first.account.registrar!.lookup('panel')).toEqual([]);

    const panel = await guesser('127.0.0.13');
    expect((await panel.attempt(port, 'REGISTER', 'panel', 'pan3l-Secret')).status).toBe(200);

    // Restart: a new account on the same state file still refuses the guesser.
    await first.account.close();
    const second = await registrar(port);
    expect((await g.attempt(port, 'REGISTER', 'panel', 'pan3l-Secret')).status).toBe(403);
    expect(second.account.registrar!.stats.locked).toBe(1);
    expect((await panel.attempt(port, 'REGISTER', 'panel', 'pan3l-Secret')).status).toBe(200);
  });

  test('INVITE digest is guarded the same way: locked out, no call, even with the right password', async () => {
    const port = await freeSipPort();
    const { calls, events } = await registrar(port);
    const g = await guesser('127.0.0.14');
    for (let i = 0; i < 10; i++) expect((await g.attempt(port, 'INVITE', 'panel', `guess${i}`)).status).toBe(403);
    expect((await g.attempt(port, 'INVITE', 'panel', 'pan3l-Secret')).status).toBe(403);
    expect(calls).toHaveLength(0);
    expect(events.map((e) => `${e.kind}/${e.reason}`)).toEqual(['lockout/source']);
    const panel = await guesser('127.0.0.15');
    expect((await panel.attempt(port, 'INVITE', 'panel', 'pan3l-Secret')).status).toBe(180);
    await waitFor(() => calls.length === 1, 'the panel call');
  });
});
