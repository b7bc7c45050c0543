/**
 * Two accounts on two registrars (kamailio): when the first registrar goes away, the next
 * call times out there and is carried by the failover account; an account that is not
 * registered is skipped straight away.
 */
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { SipAccount } from '../../nodes/lib/sip/account';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import type { Call } from '../../nodes/lib/sip/call';
import { startKamailio, type Kamailio } from './sip-peer-kamailio';

jest.setTimeout(30000);

describeWithPeers(['kamailio'], 'failover to a second account', () => {
  const kams: Kamailio[] = [];
  const accounts: SipAccount[] = [];
  afterEach(async () => {
    for (const a of accounts.splice(0)) await a.close();
    for (const k of kams.splice(0)) await k.stop();
  });

  async function client(name: string, user: string, kport: number, timers = { T1: 20 }) {
    const a = new SipAccount(
      { name, mode: 'client', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: await freeSipPort(), server: `127.0.0.1:${kport}`, domain: '127.0.0.1', user, password: 'pw', expires: 60 },
      { mediaFactory: createRtpMediaFactory(), timers },
    );
    accounts.push(a);
    await a.start();
    await waitFor(() => a.status === 'registered', `${name} registered`);
    return a;
  }

  test('first registrar stopped: the call times out there and goes via the second', async () => {
    const k1 = await startKamailio(await freeSipPort(), { algorithm: 'MD5', minExpires: 1, user: '*', password: 'pw' });
    const k2 = await startKamailio(await freeSipPort(), { algorithm: 'MD5', minExpires: 1, user: '*', password: 'pw' });
    kams.push(k1, k2);
    const first = await client('first', 'door', k1.port);
    const second = await client('second', 'door', k2.port);
    const flat = await client('flat', 'flat1', k2.port);
    flat.on('call', (c: Call) => void c.answer());
    first.failover = second;

    await k1.stop();
    kams.splice(kams.indexOf(k1), 1);
    const call = first.dial('flat1');
    const next = await new Promise<Call>((resolve) => call.once('failover', resolve));
    expect(call.info).toMatchObject({ account: 'first', reason: 'timeout', status: 408 });
    await waitFor(() => next.state === 'answered', 'answered via the second account', 5000);
    expect(next.info.account).toBe('second');
    next.hangup();
  });

  test('first account not registered: dial goes straight to the failover', async () => {
    const k2 = await startKamailio(await freeSipPort(), { algorithm: 'MD5', minExpires: 1, user: '*', password: 'pw' });
    kams.push(k2);
    const dead = new SipAccount(
      { name: 'dead', mode: 'client', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: await freeSipPort(), server: `127.0.0.1:${await freeSipPort()}`, user: 'door', password: 'pw' },
      { mediaFactory: createRtpMediaFactory(), timers: { T1: 20 } },
    );
    accounts.push(dead);
    await dead.start();
    await waitFor(() => dead.status === 'failed', 'first account failed');
    const second = await client('second', 'door', k2.port);
    const flat = await client('flat', 'flat1', k2.port);
    flat.on('call', (c: Call) => void c.answer());
    dead.failover = second;
    const call = dead.dial('flat1');
    expect(call.info.account).toBe('second');
    await waitFor(() => call.state === 'answered', 'answered');
    call.hangup();
  });
});
