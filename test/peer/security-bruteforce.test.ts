/**
 * Password guessing at the registrar (issue #13, point 2) with a real guesser: sipp answers
 * the 401 with one password of a list per run, one REGISTER after another. The registrar
 * slows it down (0.5 s doubling after three), locks the address after ten, refuses the
 * right password from there too, and keeps the lockout over a restart; baresip, the real
 * panel on another address, registers meanwhile. Then the timing of a wrong password for a
 * real name against an unknown name, 200 each from fresh addresses, interleaved: the two
 * distributions must be the same (a two-sample Kolmogorov-Smirnov test), or the time of
 * the 403 would tell a scanner which names exist.
 */
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { authorize, parseChallenge } from '../../nodes/lib/auth/digest';
import { SipAccount, type AccountConfig } from '../../nodes/lib/sip/account';
import type { SecurityEvent } from '../../nodes/lib/sip/security';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { killAll, scenario, sipp } from './sip-harness';
import { startBaresip, type Baresip } from './sip-peer-baresip';

jest.setTimeout(120_000);

describeWithPeers(['sipp', 'baresip'], 'password guessing at the registrar', () => {
  let dir = '';
  let account: SipAccount | undefined;
  let panel: Baresip | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guess-'));
  });
  afterEach(async () => {
    killAll();
    await panel?.stop();
    await account?.close();
    panel = account = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function registrar(port: number, extra: Partial<AccountConfig> = {}, guardPolicy = {}): Promise<{ account: SipAccount; events: SecurityEvent[] }> {
    const a = new SipAccount(
      { name: 'reg', mode: 'registrar', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', domain: '127.0.0.1', registrarAccounts: [{ user: 'panel', password: 'Right-Pass-1' }], ...extra },
      { mediaFactory: createRtpMediaFactory(), guardFile: path.join(dir, 'guard.json'), guardPolicy },
    );
    const events: SecurityEvent[] = [];
    a.on('security', (e) => events.push(e));
    await a.start();
    return { account: a, events };
  }

  test('sipp guessing from one address: slowed down, locked out after ten, also for the right password and after a restart; the panel registers', async () => {
    const port = await freeSipPort();
    const first = await registrar(port);
    account = first.account;
    const guesses = [...Array.from({ length: 14 }, (_, i) => `guess-${i}`), 'Right-Pass-1'];
    const guess = (password: string) => sipp(['-sf', scenario('uac-register-guess'), '-au', 'panel', '-ap', password, '-m', '1', '-i', '127.0.0.21', '-p', '5060', `127.0.0.1:${port}`], 20_000);
    const t0 = Date.now();
    for (const g of guesses) expect((await guess(g)).code).toBe(0);
    const seconds = (Date.now() - t0) / 1000;
    const reg = account.registrar!;
    expect(reg.lookup('panel')).toEqual([]);
    expect(reg.stats.refused).toBe(guesses.length);
    expect(reg.stats.locked).toBe(guesses.length - 10);
    // failures 4..9 wait 0.5 + 1 + 2 + 4 + 8 + 8 s: 500 guesses can no longer take 0.67 s
    expect(seconds).toBeGreaterThan(23);
    expect(first.events).toEqual([expect.objectContaining({ kind: 'lockout', reason: 'source', source: expect.stringMatching(/^127\.0\.0\.21:/) })]);

    panel = await startBaresip(`<sip:panel@127.0.0.1:${port}>;auth_pass=Right-Pass-1;regint=60`);
    await waitFor(() => reg.lookup('panel').length === 1, 'the real panel registered');

    // Restart on the same state file: the guesser is still locked out, with the right password too.
    await panel.stop();
    panel = undefined;
    await account.close();
    const second = await registrar(port);
    account = second.account;
    expect((await guess('Right-Pass-1')).code).toBe(0);
    expect(account.registrar!.lookup('panel')).toEqual([]);
    expect(account.registrar!.stats.locked).toBe(1);
  });

  test('a wrong password for a real name and for an unknown one: the same answers, the same timing (200 each)', async () => {
    const port = await freeSipPort();
    const users = Array.from({ length: 10 }, (_, i) => ({ user: `panel${i}`, password: `Pass-${i}-${randomBytes(4).toString('hex')}` }));
    // Each try from its own address, and the guard's delays per name out of the way: what is
    // timed is the check itself (the delays and lockouts count real and unknown names alike,
    // auth-guard.test.ts).
    account = (await registrar(port, { registrarAccounts: users }, { freeFailures: 1000, userMaxFailures: 1000 })).account;
    const samples: { real: number[]; unknown: number[]; statuses: Set<string> } = { real: [], unknown: [], statuses: new Set() };
    for (let i = 0; i < 400; i++) {
      const real = i % 2 === 0;
      const user = real ? `panel${(i >> 1) % 10}` : `ghost${(i >> 1) % 10}`;
      const address = `127.1.${i >> 7}.${(i & 127) + 1}`;
      const r = await attempt(port, address, user, "wrong-guess");
      samples.statuses.add(`${r.first} ${r.second}`);
      (real ? samples.real : samples.unknown).push(r.ms);
    }
    expect([...samples.statuses]).toEqual(['401 403']);
    const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];
    const d = ks(samples.real, samples.unknown);
    process.stdout.write(
      `timing of a wrong password (ms) real name p10/p50/p90 ${[0.1, 0.5, 0.9].map((p) => q(samples.real, p).toFixed(3)).join('/')}, unknown name ${[0.1, 0.5, 0.9].map((p) => q(samples.unknown, p).toFixed(3)).join('/')}, KS D=${d.toFixed(3)}\n`,
    );
    // Critical D for n = m = 200 at alpha = 0.001: 1.95 * sqrt(2/200) = 0.195.
    expect(d).toBeLessThan(0.195);
  });
});

/** A challenge, then one wrong answer to it from `address`: the two statuses and the time of the second (ms). */
async function attempt(port: number, address: string, user: string, password: string): Promise<{ first: number; second: number; ms: number }> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, address, () => resolve());
  });
  try {
    const me = `${address}:${s.address().port}`;
    const callId = randomBytes(6).toString('hex');
    const reg = (cseq: number, auth?: string) =>
      [
        'REGISTER sip:127.0.0.1 SIP/2.0',
        `Via: SIP/2.0/UDP ${me};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
        'Max-Forwards: 70',
        `From: <sip:${user}@127.0.0.1>;tag=${callId}`,
        `To: <sip:${user}@127.0.0.1>`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} REGISTER`,
        `Contact: <sip:${user}@${me}>`,
        ...(auth ? [`Authorization: ${auth}`] : []),
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    const next = () =>
      new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no answer to ${user} from ${address}`)), 10_000);
        s.once('message', (m) => {
          clearTimeout(t);
          resolve(m.toString());
        });
      });
    let reply = next();
    s.send(reg(1), port, '127.0.0.1');
    const challenge = await reply;
    const ch = parseChallenge(/\r\nWWW-Authenticate: ([^\r]+)/i.exec(challenge)?.[1] ?? '');
    const auth = authorize(ch!, { user, password }, 'REGISTER', 'sip:127.0.0.1', 1);
    reply = next();
    const t0 = process.hrtime.bigint();
    s.send(reg(2, auth), port, '127.0.0.1');
    const res = await reply;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { first: Number(challenge.split(' ')[1]), second: Number(res.split(' ')[1]), ms };
  } finally {
    s.close();
  }
}

/** The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical distributions. */
function ks(a: number[], b: number[]): number {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] <= v) i++;
    while (j < y.length && y[j] <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}
