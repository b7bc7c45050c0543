/**
 * The one 401/407 answer (challenge.ts): which header answers which challenge, how often,
 * and an outbound INVITE that a real registrar challenges on loopback.
 */
import { ChallengeAnswerer, withAuth } from '../../nodes/lib/sip/challenge';
import { SipAccount } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import { DigestServer } from '../../nodes/lib/auth/digest';
import { parseMessage, type SipResponse } from '../../nodes/lib/sip/message';
import { freeSipPort } from '../helpers/ports';
import { silentMediaFactory } from '../helpers/silent-media';
import { waitFor } from '../helpers/wait';

function response(status: number, header?: string): SipResponse {
  const text = [`SIP/2.0 ${status} X`, 'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx', 'From: <sip:a@b>;tag=1', 'To: <sip:c@d>;tag=2', 'Call-ID: c1', 'CSeq: 1 INVITE', ...(header ? [header] : []), 'Content-Length: 0', '', ''].join('\r\n');
  const r = parseMessage(text);
  if (!r.ok || r.message.kind !== 'response') throw new Error('bad test response');
  return r.message;
}

describe('answering a digest challenge', () => {
  const server = new DigestServer('door', () => 1000);
  const pw = (u: string) => (u === 'door' ? 's3cret' : undefined);

  test('401 → Authorization, 407 → Proxy-Authorization, each one the server verifies', () => {
    const a = new ChallengeAnswerer({ user: 'door', password: 's3cret' });
    const www = a.answer(response(401, `WWW-Authenticate: ${server.challenge('MD5')}`), 'INVITE', 'sip:x@127.0.0.1');
    expect(www?.[0]).toBe('Authorization');
    expect(server.verify(www![1], 'INVITE', pw)).toMatchObject({ ok: true, user: 'door' });
    const proxy = a.answer(response(407, `Proxy-Authenticate: ${server.challenge('SHA-256')}`), 'REGISTER', 'sip:127.0.0.1');
    expect(proxy?.[0]).toBe('Proxy-Authorization');
    expect(server.verify(proxy![1], 'REGISTER', pw)).toMatchObject({ ok: true });
  });

  test('at most twice per request; nothing without credentials or without a digest challenge', () => {
    const a = new ChallengeAnswerer({ user: 'door', password: 'x' });
    const res = response(401, `WWW-Authenticate: ${server.challenge('MD5')}`);
    expect(a.answer(res, 'INVITE', 'sip:x@y')).toBeDefined();
    expect(a.answer(res, 'INVITE', 'sip:x@y')).toBeDefined();
    expect(a.answer(res, 'INVITE', 'sip:x@y')).toBeUndefined();
    expect(new ChallengeAnswerer(undefined).answer(res, 'INVITE', 'sip:x@y')).toBeUndefined();
    expect(new ChallengeAnswerer({ user: 'u', password: 'p' }).answer(response(401, 'WWW-Authenticate: Basic realm="x"'), 'INVITE', 'sip:x@y')).toBeUndefined();
    expect(new ChallengeAnswerer({ user: 'u', password: 'p' }).answer(response(403), 'INVITE', 'sip:x@y')).toBeUndefined();
  });

  test('a new answer replaces the earlier one of the same name only', () => {
    expect(withAuth([['To', 't'], ['authorization', 'old'], ['Proxy-Authorization', 'p']], ['Authorization', 'new'])).toEqual([['To', 't'], ['Proxy-Authorization', 'p'], ['Authorization', 'new']]);
  });
});

describe('an outbound INVITE challenged by a registrar (loopback)', () => {
  const accounts: SipAccount[] = [];
  afterEach(async () => {
    for (const a of accounts.splice(0)) await a.close();
  });
  async function start(config: Partial<ConstructorParameters<typeof SipAccount>[0]>): Promise<SipAccount> {
    const a = new SipAccount({ name: `a${accounts.length}`, mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: await freeSipPort(), user: 'panel', ...config }, { mediaFactory: silentMediaFactory() });
    accounts.push(a);
    await a.start();
    return a;
  }

  test.each([
    ['pan3l', 'rings with the right password', true],
    ['guess', 'is refused (403) with a wrong one', false],
  ])('the panel answering with %s %s', async (password, _what, admitted) => {
    const registrar = await start({ mode: 'registrar', user: 'door', domain: '127.0.0.1', registrarAccounts: [{ user: 'panel', password: 'pan3l' }] });
    const calls: Call[] = [];
    registrar.on('call', (c) => calls.push(c));
    const panel = await start({ password });
    const out = panel.dial(`sip:door@127.0.0.1:${registrar.port}`);
    if (admitted) {
      await waitFor(() => calls.length === 1 && out.state === 'ringing', 'the call rings at the registrar');
      out.hangup();
    } else {
      await waitFor(() => out.isEnded, 'the call ended');
      expect(out.info).toMatchObject({ reason: 'rejected', status: 403 });
      expect(calls).toHaveLength(0);
    }
  });
});
