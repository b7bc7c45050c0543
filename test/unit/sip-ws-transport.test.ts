/**
 * SIP over WebSocket (RFC 7118) on real accounts on 127.0.0.1, with the `ws` client in the
 * role of a browser's SIP stack (byte for byte what sip.js sends): the handshake needs the
 * `sip` subprotocol and an allowed Origin; REGISTER is digest-challenged, a wrong password
 * binds nothing; the 200 echoes the Contact with `;expires=`; a dial by the registered user
 * name goes out on that page's WebSocket; a closed page loses its binding and its call;
 * malformed and oversize frames are answered or cut, and the account lives on. Node-RED's
 * own HTTP server case: the account answers only its path and leaves other upgrades alone.
 */
import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { SipAccount, type AccountConfig } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import { authorize, parseChallenge } from '../../nodes/lib/auth/digest';
import { originAllowed } from '../../nodes/lib/sip/ws-transport';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { silentMediaFactory } from '../helpers/silent-media';
import { createCallMediaFactory } from '../../nodes/lib/media/media-factory';
import { delay, waitFor } from '../helpers/wait';

/** A browser's SIP stack over one WebSocket: what it sends and what comes back. */
class WsPeer {
  readonly inbox: string[] = [];
  readonly contact = `sip:${randomBytes(4).toString('hex')}@${randomBytes(4).toString('hex')}.invalid;transport=ws`;
  closed?: { code: number };
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => this.inbox.push(d.toString()));
    ws.on('close', (code) => (this.closed = { code }));
  }
  static open(url: string, opts: { protocol?: string | null; origin?: string } = {}): Promise<WsPeer> {
    return new Promise((resolve, reject) => {
      const protocols = opts.protocol === null ? [] : [opts.protocol ?? 'sip'];
      const ws = new WebSocket(url, protocols, { origin: opts.origin });
      ws.once('open', () => resolve(new WsPeer(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }
  send(s: string | Buffer): void {
    this.ws.send(s);
  }
  async response(callId: string, cseq: number, method: string, status?: number): Promise<string> {
    return waitFor<string>(
      () => this.inbox.find((m) => m.startsWith('SIP/2.0 ') && m.includes(`Call-ID: ${callId}\r\n`) && m.includes(`CSeq: ${cseq} ${method}\r\n`) && (!status || m.startsWith(`SIP/2.0 ${status} `)) && !m.startsWith('SIP/2.0 100')) ?? '',
      `${method} ${cseq} response${status ? ' ' + status : ''}`,
      3000,
    );
  }
  register(user: string, cseq: number, callId: string, auth?: string): void {
    this.send(
      [
        `REGISTER sip:127.0.0.1 SIP/2.0`,
        `Via: SIP/2.0/WS ${randomBytes(4).toString('hex')}.invalid;branch=z9hG4bK${randomBytes(6).toString('hex')}`,
        'Max-Forwards: 70',
        `To: <sip:${user}@127.0.0.1>`,
        `From: <sip:${user}@127.0.0.1>;tag=${randomBytes(4).toString('hex')}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} REGISTER`,
        `Contact: <${this.contact}>;expires=600`,
        'Expires: 600',
        ...(auth ? [`Authorization: ${auth}`] : []),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  }
  /** REGISTER with the digest answer to the 401; resolves with the final response. */
  async registerWithPassword(user: string, password: string): Promise<string> {
    const callId = randomBytes(6).toString('hex');
    this.register(user, 1, callId);
    const challenge = await this.response(callId, 1, 'REGISTER', 401);
    const www = /^WWW-Authenticate: (.*)$/im.exec(challenge)![1];
    const auth = authorize(parseChallenge(www)!, { user, password }, 'REGISTER', 'sip:127.0.0.1', 1);
    this.register(user, 2, callId, auth);
    return this.response(callId, 2, 'REGISTER');
  }
  close(): void {
    this.ws.close();
  }
}

const base = (port: number, wsPort: number, extra: Partial<AccountConfig> = {}): AccountConfig => ({
  name: 'door',
  mode: 'registrar',
  protocol: 'udp',
  bindAddress: '127.0.0.1',
  bindPort: port,
  user: 'door',
  registrarAccounts: [{ user: 'hall', password: 'hall-secret' }],
  websocket: { on: 'port', path: '/sip', port: wsPort, origins: ['https://ha.example:8123'] },
  ...extra,
});

describe('SIP over WebSocket on an account of its own port', () => {
  let account: SipAccount;
  let url: string;
  const peers: WsPeer[] = [];
  beforeEach(async () => {
    const port = await freeSipPort();
    const wsPort = await freeTcpPort();
    account = new SipAccount(base(port, wsPort), { mediaFactory: silentMediaFactory() });
    await account.start();
    url = `ws://127.0.0.1:${wsPort}/sip`;
    expect(account.statusDetail.listen).toBe(`udp:127.0.0.1:${port} ws://127.0.0.1:${wsPort}/sip`);
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) p.close();
    await account.close();
  });
  const open = async (opts?: Parameters<typeof WsPeer.open>[1]): Promise<WsPeer> => {
    const p = await WsPeer.open(url, opts);
    peers.push(p);
    return p;
  };

  test('the handshake needs the sip subprotocol, the right path and an allowed origin', async () => {
    await expect(WsPeer.open(url, { protocol: null })).rejects.toThrow('HTTP 400');
    await expect(WsPeer.open(url, { protocol: 'chat' })).rejects.toThrow('HTTP 400');
    await expect(WsPeer.open(url.replace('/sip', '/other'))).rejects.toThrow('HTTP 404');
    await expect(WsPeer.open(url, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    // the page's own origin (the Host it asked), a listed one, and a client without Origin
    const own = await open({ origin: `http://${new URL(url).host}` });
    expect(own.ws.protocol).toBe('sip');
    await open({ origin: 'https://ha.example:8123' });
    await open();
    expect(account.ws!.stats.refusedHandshakes).toBe(3);
  });

  test('REGISTER is digest-authenticated: 401, then 200 echoing the Contact with ;expires=', async () => {
    const page = await open();
    const ok = await page.registerWithPassword('hall', 'hall-secret');
    expect(ok).toMatch(/^SIP\/2\.0 200 /);
    expect(ok).toContain(`Contact: <${page.contact}>;expires=600`);
    expect(account.registrar!.lookup('hall').map((b) => b.source.protocol)).toEqual(['ws']);
  });

  test('a wrong password binds nothing (403), an unknown user gets the same 403', async () => {
    const page = await open();
    expect(await page.registerWithPassword('hall', 'wrong')).toMatch(/^SIP\/2\.0 403 /);
    // an unknown user is challenged like a known one (a 403 at once would tell a scanner which
    // names exist), and its answer gets the same 403 as a wrong password
    page.register('nobody', 1, 'unknown-user');
    expect(await page.response('unknown-user', 1, 'REGISTER')).toMatch(/^SIP\/2\.0 401 /);
    expect(await page.registerWithPassword('nobody', 'guess')).toMatch(/^SIP\/2\.0 403 /);
    expect(account.registrar!.lookup('hall')).toEqual([]);
  });

  test('dialling the registered name sends the INVITE on its WebSocket; a closed page ends the call and loses its binding', async () => {
    const page = await open();
    await page.registerWithPassword('hall', 'hall-secret');
    const call: Call = account.dial('hall');
    const invite = await waitFor(() => page.inbox.find((m) => m.startsWith('INVITE ')) ?? '', 'INVITE on the WebSocket', 3000);
    expect(invite.split('\r\n')[0]).toBe(`INVITE ${page.contact} SIP/2.0`);
    expect(invite).toMatch(/^Via: SIP\/2\.0\/WS 127\.0\.0\.1:\d+;branch=/m);
    expect(call.peer.protocol).toBe('ws');
    // the page answers 180, then vanishes (tab closed)
    const callId = /^Call-ID: (.*)$/im.exec(invite)![1].trim();
    const via = /^Via: (.*)$/im.exec(invite)![1];
    const from = /^From: (.*)$/im.exec(invite)![1];
    const to = /^To: (.*)$/im.exec(invite)![1];
    page.send(['SIP/2.0 180 Ringing', `Via: ${via}`, `From: ${from}`, `To: ${to};tag=page1`, `Call-ID: ${callId}`, 'CSeq: 1 INVITE', `Contact: <${page.contact}>`, 'Content-Length: 0', '', ''].join('\r\n'));
    await waitFor(() => call.state === 'ringing', 'the call rings at the page', 3000);
    page.close();
    await waitFor(() => call.isEnded, 'call ended when the page closed', 3000);
    expect(call.info.reason).toBe('ws-closed');
    expect(account.registrar!.lookup('hall')).toEqual([]);
    expect(() => account.dial('hall')).toThrow(); // not registered any more: cannot dial it
  });

  test('malformed and oversize frames: 400 or the connection is cut; the account serves the next page', async () => {
    const page = await open();
    page.send('INVITE sip:door@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS x.invalid;branch=z9hG4bK1\r\nFrom: <sip:a@x>\r\nTo: <sip:door@x>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n');
    await waitFor(() => page.inbox.some((m) => m.startsWith('SIP/2.0 400 ')), '400 to an INVITE whose From has no tag', 3000);
    page.send(Buffer.from([0xff, 0xfe, 0x00, 0x01]));
    page.send('\r\n\r\n'); // RFC 5626 keepalive ping
    await waitFor(() => page.inbox.includes('\r\n'), 'keepalive pong', 3000);
    const big = await open();
    big.send('x'.repeat(70_000));
    await waitFor(() => big.closed, 'oversize frame closes the connection', 3000);
    expect(big.closed!.code).toBe(1009);
    expect(account.ws!.stats.oversize).toBeGreaterThanOrEqual(1);
    const next = await open();
    expect(await next.registerWithPassword('hall', 'hall-secret')).toMatch(/^SIP\/2\.0 200 /);
  });
});

describe('a page that calls the door (P2P over WebSocket) with an SDP WebRTC cannot take', () => {
  test('no DTLS fingerprint: the answer is 488 before anything rings, nothing else happens', async () => {
    const port = await freeSipPort();
    const wsPort = await freeTcpPort();
    const account = new SipAccount({ ...base(port, wsPort), mode: 'p2p', allowedSources: '127.0.0.1', registrarAccounts: undefined }, { mediaFactory: createCallMediaFactory() });
    await account.start();
    const answered: Call[] = [];
    account.on('call', (c: Call) => {
      answered.push(c);
      c.answer().catch(() => undefined); // (never: the offer is refused before a call reaches the flow)
    });
    const page = await WsPeer.open(`ws://127.0.0.1:${wsPort}/sip`);
    try {
      const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 0', 'c=IN IP4 0.0.0.0', 'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789abcdef012345', 'a=candidate:1 1 udp 1 127.0.0.1 9 typ host', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
      page.send(
        [
          `INVITE sip:door@127.0.0.1:${port} SIP/2.0`,
          `Via: SIP/2.0/WS x.invalid;branch=z9hG4bK${randomBytes(6).toString('hex')}`,
          'Max-Forwards: 70',
          `From: <sip:hall@127.0.0.1>;tag=${randomBytes(4).toString('hex')}`,
          '<sip:door@127.0.0.1>'.replace(/^/, 'To: '),
          'Call-ID: nofp',
          'CSeq: 1 INVITE',
          `Contact: <${page.contact}>`,
          'Content-Type: application/sdp',
          `Content-Length: ${Buffer.byteLength(sdp)}`,
          '',
          sdp,
        ].join('\r\n'),
      );
      // neither WebRTC (no DTLS fingerprint) nor plain RTP: refused as an offer we could never answer
      expect(await page.response('nofp', 1, 'INVITE', 488)).toMatch(/^SIP\/2\.0 488 /);
      await delay(200);
      expect(answered).toEqual([]);
      expect(account.endpoint!.activeCalls).toHaveLength(0);
    } finally {
      page.close();
      await account.close();
    }
  });
});

describe("SIP over WebSocket on Node-RED's own HTTP server", () => {
  test('only its path is answered, under httpNodeRoot; other upgrades are left to their owners; close detaches', async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const httpPort = (server.address() as { port: number }).port;
    let otherUpgrades = 0;
    server.on('upgrade', (req, socket) => {
      if (req.url === '/comms') {
        otherUpgrades++;
        socket.destroy();
      }
    });
    const account = new SipAccount(base(await freeSipPort(), 0, { websocket: { on: 'node-red', path: '/sip', origins: [] } }), {
      mediaFactory: silentMediaFactory(),
      httpServer: { server, root: '/red/', secure: false },
    });
    await account.start();
    // a second account on the same path is refused at start, naming the path
    const twin = new SipAccount(base(await freeSipPort(), 0, { name: 'twin', websocket: { on: 'node-red', path: 'sip', origins: [] } }), { mediaFactory: silentMediaFactory(), httpServer: { server, root: '/red', secure: false } });
    await expect(twin.start()).rejects.toMatchObject({ code: 'sip.wsPathInUse' });
    await twin.close();
    try {
      const page = await WsPeer.open(`ws://127.0.0.1:${httpPort}/red/sip`);
      expect(await page.registerWithPassword('hall', 'hall-secret')).toMatch(/^SIP\/2\.0 200 /);
      page.close();
      await expect(WsPeer.open(`ws://127.0.0.1:${httpPort}/comms`)).rejects.toThrow();
      expect(otherUpgrades).toBe(1);
    } finally {
      await account.close();
    }
    expect(server.listenerCount('upgrade')).toBe(1);
    // the path is free again after close (a redeploy)
    const again = new SipAccount(base(await freeSipPort(), 0, { websocket: { on: 'node-red', path: '/sip', origins: [] } }), { mediaFactory: silentMediaFactory(), httpServer: { server, root: '/red/', secure: false } });
    await again.start();
    await again.close();
    await delay(10);
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe('originAllowed', () => {
  test.each([
    [undefined, 'h:1', [], true],
    ['http://h:1', 'h:1', [], true],
    ['http://other:1', 'h:1', [], false],
    ['https://ha.example:8123', 'h:1', ['https://ha.example:8123/'], true],
    ['https://ha.example:8124', 'h:1', ['https://ha.example:8123'], false],
    ['null', 'h:1', [], false],
    ['https://any', 'h:1', ['*'], true],
  ])('origin %s host %s allowed %j → %s', (origin, host, allowed, ok) => {
    expect(originAllowed(origin as string | undefined, host as string, allowed as string[])).toBe(ok);
  });
});
