/**
 * Security of the SIP side against real peers on loopback (issue #13, "what the earlier
 * issues asked"): a From spoofed from a source not allowed for it, a P-Asserted-Identity
 * from an untrusted source, a registrar binding another source tries to take over, and
 * digest answers that are replayed, stale, for the wrong realm or with a forged nonce.
 * sipp and baresip are the honest and the lying peers; a raw socket crafts what only an
 * attacker sends. Loopback addresses 127.0.0.x stand in for the hosts of a LAN.
 */
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { authorize, parseChallenge } from '../../nodes/lib/auth/digest';
import { planFrom } from '../../nodes/lib/access/number';
import { RuleSet, parseRuleSource, trustedList } from '../../nodes/lib/access/rules';
import { SipAccount, type AccountConfig } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { killAll, scenario, sipp } from './sip-harness';
import { startBaresip, type Baresip } from './sip-peer-baresip';

jest.setTimeout(60_000);

const accounts: SipAccount[] = [];
async function account(config: Partial<AccountConfig>, clock?: { now(): number; setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout }): Promise<{ account: SipAccount; port: number; calls: Call[] }> {
  const port = await freeSipPort();
  const a = new SipAccount({ name: 'door', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', domain: '127.0.0.1', ...config }, { mediaFactory: createRtpMediaFactory(), ...(clock ? { clock: clock as never } : {}) });
  accounts.push(a);
  const calls: Call[] = [];
  a.on('call', (c) => calls.push(c));
  await a.start();
  return { account: a, port, calls };
}

/** sipp calls once from `from` with this From user/host and header line. */
async function callAs(port: number, from: string, user: string, host: string, header = 'X-None: 1'): Promise<number | null> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ident-'));
  const csv = path.join(dir, 'who.csv');
  fs.writeFileSync(csv, `SEQUENTIAL\n${user};${host};${header}\n`);
  const r = await sipp(['-sf', scenario('uac-identity'), '-inf', csv, '-m', '1', '-i', from, `127.0.0.1:${port}`], 15_000);
  fs.rmSync(dir, { recursive: true, force: true });
  return r.code;
}

describeWithPeers(['sipp', 'baresip'], 'SIP security against real peers', () => {
  let panel: Baresip | undefined;
  afterEach(async () => {
    killAll();
    await panel?.stop();
    panel = undefined;
    for (const a of accounts.splice(0)) await a.close();
  });

  test('a From spoofed from a source not allowed for it: 403 and no call at the account, "source-not-allowed" at the whitelist', async () => {
    // The account admits only the panel's address.
    const only = await account({ allowedSources: '127.0.0.30' });
    only.account.on('call', (c) => void c.answer());
    expect(await callAs(only.port, '127.0.0.31', 'panel', '127.0.0.30')).toBe(0);
    expect(only.calls).toHaveLength(0);
    expect(only.account.endpoint!.stats.rejectedSource).toBe(1);
    expect(await callAs(only.port, '127.0.0.30', 'panel', '127.0.0.30')).toBe(0);
    expect(only.calls).toHaveLength(1);

    // The account admits the LAN; the whitelist lets number 101 in from the panel's address only.
    const plan = planFrom({ countryCode: '49', trunkPrefix: '0', internationalPrefix: '00', nationalDigits: 10 });
    const rules = new RuleSet(parseRuleSource('101 from=127.0.0.30', plan), plan, 'UTC', []);
    const lan = await account({ allowedSources: '127.0.0.0/8' });
    const decisions: string[] = [];
    lan.account.on('call', (c) => {
      const d = rules.decide({ caller: c.info.from.user, source: c.info.source, headers: c.info.headers, now: Date.now() });
      decisions.push(`${c.info.source.split(':')[0]} ${d.result} ${d.reason}`);
      if (d.allowed) void c.answer();
      else c.reject(403);
    });
    expect(await callAs(lan.port, '127.0.0.31', '101', '127.0.0.30')).toBe(0);
    expect(await callAs(lan.port, '127.0.0.30', '101', '127.0.0.30')).toBe(0);
    expect(decisions).toEqual(['127.0.0.31 denied source-not-allowed', '127.0.0.30 allowed listed']);
  });

  test('P-Asserted-Identity from an untrusted source is ignored; from the trusted PBX it is the caller', async () => {
    const plan = planFrom({ countryCode: '49', trunkPrefix: '0', internationalPrefix: '00', nationalDigits: 10 });
    const rules = new RuleSet(parseRuleSource('+4930123456 asserted', plan), plan, 'UTC', trustedList('127.0.0.40'));
    const lan = await account({ allowedSources: '127.0.0.0/8' });
    const decisions: Array<Record<string, unknown>> = [];
    lan.account.on('call', (c) => {
      const d = rules.decide({ caller: c.info.from.user, source: c.info.source, headers: c.info.headers, now: Date.now() });
      decisions.push({ from: c.info.source.split(':')[0], result: d.result, caller: d.caller, identity: d.identity, note: d.note });
      if (d.allowed) void c.answer();
      else c.reject(403);
    });
    const pai = 'P-Asserted-Identity: <sip:+4930123456@pbx.example>';
    expect(await callAs(lan.port, '127.0.0.41', '999', '127.0.0.41', pai)).toBe(0);
    expect(await callAs(lan.port, '127.0.0.40', '999', '127.0.0.40', pai)).toBe(0);
    expect(decisions).toEqual([
      { from: '127.0.0.41', result: 'denied', caller: '999', identity: 'from', note: 'untrusted-pai' },
      { from: '127.0.0.40', result: 'allowed', caller: '4930123456', identity: 'asserted', note: undefined },
    ]);
  });

  test('a registrar binding cannot be taken over by another source without the password', async () => {
    const { account: reg, port } = await account({ mode: 'registrar', registrarAccounts: [{ user: 'panel', password: 'Pan3l-Pass', allowedSources: '127.0.0.1/32' }] });
    panel = await startBaresip(`<sip:panel@127.0.0.1:${port}>;auth_pass=Pan3l-Pass;regint=60;answermode=auto`);
    await waitFor(() => reg.registrar!.lookup('panel').length === 1, 'baresip registered');
    const honest = reg.registrar!.lookup('panel')[0].contact;

    const thief = await RawPeer.open('127.0.0.42');
    try {
      const contact = `<sip:panel@127.0.0.42:${thief.port}>`;
      expect((await thief.register(port, 'panel', contact)).status).toBe(401);
      expect((await thief.register(port, 'panel', contact, { password: 'guess' })).status).toBe(403);
      expect((await thief.register(port, 'panel', '*', { expires: 0 })).status).toBe(401);
      expect((await thief.register(port, 'panel', '*', { expires: 0, password: 'guess' })).status).toBe(403);
      // Even the right password does not bind from an address the panel may not register from.
      expect((await thief.register(port, 'panel', contact, { password: 'Pan3l-Pass' })).status).toBe(403);
    } finally {
      thief.close();
    }
    expect(reg.registrar!.lookup('panel').map((b) => b.contact)).toEqual([honest]);
    const out = reg.dial('panel');
    await waitFor(() => out.state === 'answered', 'the real panel answers', 5000);
    out.hangup();
  });

  test('digest: a replayed answer, a stale nonce, the wrong realm and a forged nonce never bind', async () => {
    let offset = 0;
    const clock = { now: () => Date.now() + offset, setTimeout: ((fn: () => void, ms: number) => setTimeout(fn, ms).unref()) as unknown as typeof setTimeout, clearTimeout };
    const { account: reg, port } = await account({ mode: 'registrar', registrarAccounts: [{ user: 'panel', password: 'Pan3l-Pass' }] }, clock);
    const p = await RawPeer.open('127.0.0.43');
    try {
      const contact = `<sip:panel@127.0.0.43:${p.port}>`;
      // The honest answer binds; the same Authorization sent again (nc not advanced) is refused.
      // (an hour, so the binding outlives the clock moved on below)
      const ok = await p.register(port, 'panel', contact, { password: 'Pan3l-Pass', expires: 3600 });
      expect(ok.status).toBe(200);
      expect((await p.send(port, 'panel', '<sip:panel@127.0.0.43:9>', ok.authorization)).status).toBe(403);
      expect(reg.registrar!.lookup('panel').map((b) => b.contact)).toEqual([`sip:panel@127.0.0.43:${p.port}`]);

      // A nonce older than five minutes: the right answer gets a fresh challenge marked stale.
      const ch = await p.send(port, 'panel', contact);
      offset += 301_000;
      const stale = await p.send(port, 'panel', contact, p.answer(ch.response, 'Pan3l-Pass'));
      expect(stale.status).toBe(401);
      expect(stale.response).toMatch(/WWW-Authenticate: Digest [^\r]*stale=true/);
      // ... and with a wrong password it is a plain 403, not a hint that the nonce was the problem.
      const ch2 = await p.send(port, 'panel', contact);
      offset += 301_000;
      expect((await p.send(port, 'panel', contact, p.answer(ch2.response, 'nope'))).status).toBe(403);

      // The right password for another realm.
      const ch3 = await p.send(port, 'panel', contact);
      const other = p.answer(ch3.response.replace('realm="127.0.0.1"', 'realm="elsewhere"'), 'Pan3l-Pass');
      expect((await p.send(port, 'panel', contact, other)).status).toBe(403);

      // A nonce we never issued, answered correctly: a new challenge, nothing bound.
      const forged = authorize({ scheme: 'Digest', realm: '127.0.0.1', nonce: `${Date.now().toString(16)}.${'0'.repeat(32)}`, algorithm: 'MD5', qop: ['auth'], stale: false, userhash: false }, { user: 'panel', password: 'Pan3l-Pass' }, 'REGISTER', 'sip:127.0.0.1', 1);
      expect((await p.send(port, 'panel', '<sip:panel@127.0.0.43:7>', forged)).status).toBe(401);
      expect(reg.registrar!.lookup('panel').map((b) => b.contact)).toEqual([`sip:panel@127.0.0.43:${p.port}`]);
    } finally {
      p.close();
    }
  });
});

/** An attacker's socket: REGISTERs crafted byte by byte. */
class RawPeer {
  private constructor(private readonly s: dgram.Socket, readonly address: string) {}
  static async open(address: string): Promise<RawPeer> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, address, () => r()));
    return new RawPeer(s, address);
  }
  get port(): number {
    return this.s.address().port;
  }
  private cseq = 1;
  private readonly callId = randomBytes(6).toString('hex');

  send(port: number, user: string, contact: string, authorization?: string, expires = 120): Promise<{ status: number; response: string }> {
    const me = `${this.address}:${this.port}`;
    const text = [
      'REGISTER sip:127.0.0.1 SIP/2.0',
      `Via: SIP/2.0/UDP ${me};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
      'Max-Forwards: 70',
      `From: <sip:${user}@127.0.0.1>;tag=${this.callId}`,
      `To: <sip:${user}@127.0.0.1>`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${this.cseq++} REGISTER`,
      `Contact: ${contact}`,
      `Expires: ${expires}`,
      ...(authorization ? [`Authorization: ${authorization}`] : []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer')), 10_000);
      this.s.once('message', (m) => {
        clearTimeout(t);
        const response = m.toString();
        resolve({ status: Number(response.split(' ')[1]), response });
      });
      this.s.send(text, port, '127.0.0.1');
    });
  }

  answer(challengeResponse: string, password: string): string {
    const ch = parseChallenge(/\r\nWWW-Authenticate: ([^\r]+)/i.exec(challengeResponse)?.[1] ?? '');
    if (!ch) throw new Error('no challenge');
    return authorize(ch, { user: 'panel', password }, 'REGISTER', 'sip:127.0.0.1', 1);
  }

  /** REGISTER; with a password, answer the challenge with it. */
  async register(port: number, user: string, contact: string, o: { password?: string; expires?: number } = {}): Promise<{ status: number; authorization?: string }> {
    const first = await this.send(port, user, contact, undefined, o.expires);
    if (first.status !== 401 || o.password === undefined) return { status: first.status };
    const authorization = this.answer(first.response, o.password);
    const second = await this.send(port, user, contact, authorization, o.expires);
    return { status: second.status, authorization };
  }

  close(): void {
    this.s.close();
  }
}
