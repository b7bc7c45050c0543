/**
 * The registrar check of a client account (nodes/lib/sip/keepalive.ts + the Registration's
 * answers to it), against a scripted registrar on a loopback UDP socket: what each answer
 * to the account's OPTIONS leads to, and what it must not lead to (a REGISTER storm at a
 * registrar that refuses the password).
 */
import * as dgram from 'node:dgram';
import { SipAccount } from '../../nodes/lib/sip/account';
import { silentMediaFactory } from '../helpers/silent-media';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';

interface Script {
  register: number; // status for REGISTER (0 = silence)
  options: number; // status for OPTIONS (0 = silence)
}

async function registrar(script: Script) {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const seen: Array<{ at: number; method: string }> = [];
  s.on('message', (m, rinfo) => {
    const t = m.toString();
    const method = t.split(' ', 1)[0];
    seen.push({ at: Date.now(), method });
    const status = method === 'REGISTER' ? script.register : method === 'OPTIONS' ? script.options : 200;
    if (!status) return;
    const head = t.slice(0, t.indexOf('\r\n\r\n')).split('\r\n');
    const keep = head.filter((l) => /^(via|from|to|call-id|cseq|contact):/i.test(l)).map((l) => (/^to:/i.test(l) && !/tag=/.test(l) ? l + ';tag=reg' : l));
    const extra = method === 'REGISTER' && status === 200 ? ['Expires: 600'] : [];
    s.send([`SIP/2.0 ${status} X`, ...keep, ...extra, 'Content-Length: 0', '', ''].join('\r\n'), rinfo.port, rinfo.address);
  });
  return { port: s.address().port, seen, close: () => new Promise<void>((r) => s.close(() => r())) };
}

jest.setTimeout(15_000);

describe('registrar check', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function account(script: Script, keepalive?: number) {
    const reg = await registrar(script);
    const acc = new SipAccount(
      { name: 'd', mode: 'client', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: await freeSipPort(), server: `127.0.0.1:${reg.port}`, domain: '127.0.0.1', user: 'door', keepaliveMs: keepalive },
      { mediaFactory: silentMediaFactory() },
    );
    cleanups.push(() => reg.close(), () => acc.close());
    await acc.start();
    return { reg, acc };
  }
  const count = (seen: Array<{ at: number; method: string }>, method: string, since = 0) => seen.filter((x) => x.method === method && x.at >= since).length;

  test('404 to the check (binding forgotten): REGISTER again at once', async () => {
    const script = { register: 200, options: 200 };
    const { reg, acc } = await account(script);
    await waitFor(() => acc.status === 'registered', 'registered');
    await waitFor(() => count(reg.seen, 'OPTIONS') >= 2, 'checks every second', 3000);
    expect(count(reg.seen, 'REGISTER')).toBe(1);
    script.options = 404;
    const t = Date.now();
    await waitFor(() => count(reg.seen, 'REGISTER', t) >= 1, 'a new REGISTER', 2500);
    expect(acc.status).toBe('registered');
  });

  test('no answer: failed (noAnswer) after two checks; the first answer brings a REGISTER', async () => {
    const script = { register: 200, options: 200 };
    const { reg, acc } = await account(script);
    await waitFor(() => acc.status === 'registered', 'registered');
    script.options = 0;
    script.register = 0;
    await waitFor(() => acc.status === 'failed', 'failed', 5000);
    expect(acc.statusDetail.reason).toBe('noAnswer');
    script.options = 200;
    script.register = 200;
    const t = Date.now();
    await waitFor(() => acc.status === 'registered', 'registered again', 2000);
    expect(Date.now() - t).toBeLessThan(1200); // checks every 0.5 s while it is gone
    expect(count(reg.seen, 'REGISTER', t)).toBeGreaterThanOrEqual(1);
  });

  test('a registrar refusing the password is not hammered because the check says 404', async () => {
    const script = { register: 200, options: 200 };
    const { reg, acc } = await account(script);
    await waitFor(() => acc.status === 'registered', 'registered');
    // the registrar restarts with the password changed: the binding is gone, and it is refused
    script.register = 403;
    script.options = 404;
    await waitFor(() => acc.status === 'failed', 'failed');
    expect(acc.statusDetail.reason).toBe('authFailed');
    const t = Date.now();
    await delay(4000);
    // the registration's own backoff (2 s, then 4 s...), not one REGISTER per check (4 here)
    expect(count(reg.seen, 'REGISTER', t)).toBeLessThanOrEqual(2);
  });

  test('0 turns the check off', async () => {
    const { reg, acc } = await account({ register: 200, options: 200 }, 0);
    await waitFor(() => acc.status === 'registered', 'registered');
    await delay(2500);
    expect(count(reg.seen, 'OPTIONS')).toBe(0);
  });
});
