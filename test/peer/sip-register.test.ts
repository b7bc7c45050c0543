/** Registration client against a real kamailio registrar (digest MD5 and SHA-256). */
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import type { Call } from '../../nodes/lib/sip/call';
import { Registration, type RegistrationState } from '../../nodes/lib/sip/registration';
import { startKamailio, type Kamailio } from './sip-peer-kamailio';
import { killAll, scenario, sipp, startEndpoint } from './sip-harness';

jest.setTimeout(30000);

describeWithPeers(['kamailio', 'sipp'], 'registration against kamailio', () => {
  let kam: Kamailio | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    killAll();
    for (const c of cleanups.splice(0).reverse()) await c();
    await kam?.stop();
    kam = undefined;
  });

  async function setup(algorithm: 'MD5' | 'SHA-256', password: string, minExpires: number, protocol: 'udp' | 'tcp' = 'udp', running?: Kamailio) {
    const kport = running?.port ?? (await freeSipPort());
    if (!running) kam = await startKamailio(kport, { algorithm, minExpires, user: 'door', password: 's3cret' });
    const server = { address: '127.0.0.1', port: kport, protocol };
    const s = await startEndpoint({ protocol, mode: 'client', server, domain: '127.0.0.1', credentials: { user: 'door', password } });
    cleanups.push(async () => {
      await s.ep.close();
      await s.transport.close();
    });
    const states: RegistrationState[] = [];
    const reg = new Registration(s.ep, { user: 'door', domain: '127.0.0.1', server, credentials: { user: 'door', password }, expires: 1, minBackoffMs: 200 });
    const details: unknown[] = [];
    reg.on('state', (st: RegistrationState, d: unknown) => {
      states.push(st);
      details.push(d);
    });
    cleanups.push(() => reg.stop());
    return { ...s, reg, states, details, kport };
  }

  test('SHA-256: 423 raises the interval, every refresh is challenged, calls arrive through the registrar, unregister removes the binding', async () => {
    const { ep, wire, reg, states, kport } = await setup('SHA-256', 's3cret', 2);
    reg.start();
    await waitFor(() => reg.state === 'registered', 'registered');
    expect(reg.grantedExpires).toBe(2);
    expect(wire.some((w) => w.first.startsWith('SIP/2.0 423'))).toBe(true);
    expect(wire.find((w) => w.first.startsWith('SIP/2.0 401'))?.data).toContain('algorithm=SHA-256');
    // refresh at half the 2 s binding: more successful REGISTERs, each after its own 401
    await waitFor(() => wire.filter((w) => w.first.startsWith('SIP/2.0 200') && w.data.includes('REGISTER')).length >= 3, 'two refreshes', 6000);
    expect(reg.state).toBe('registered');
    const regOks = wire.filter((w) => w.first.startsWith('SIP/2.0 200') && w.data.includes('REGISTER')).length;
    expect(wire.filter((w) => w.first.startsWith('SIP/2.0 401')).length).toBeGreaterThanOrEqual(regOks);
    expect(states).toEqual(['registering', 'registered']);

    // a panel (sipp) calls door@kamailio: the INVITE reaches us through the binding
    ep.on('call', (c: Call) => void c.answer());
    const r = await sipp(['-sf', scenario('uac-bye'), '-s', 'door', '-m', '1', '-p', String(await freeSipPort()), `127.0.0.1:${kport}`]);
    expect(r.code).toBe(0);

    await reg.stop();
    expect(reg.state).toBe('unregistered');
    const after = await sipp(['-sf', scenario('uac-bye'), '-s', 'door', '-m', '1', '-p', String(await freeSipPort()), `127.0.0.1:${kport}`], 5000);
    expect(after.code).not.toBe(0); // 404: the binding is gone
    expect(wire.some((w) => w.direction === 'out' && w.data.startsWith('REGISTER') && /\r\nExpires: 0\r\n/.test(w.data))).toBe(true);
  });

  test('MD5 works too, over UDP and over TCP', async () => {
    const { reg } = await setup('MD5', 's3cret', 1);
    reg.start();
    await waitFor(() => reg.state === 'registered', 'registered');
    const tcp = await setup('MD5', 's3cret', 1, 'tcp', kam);
    tcp.reg.start();
    await waitFor(() => tcp.reg.state === 'registered', 'registered over TCP');
    expect(tcp.wire.some((w) => w.direction === 'out' && w.data.startsWith('REGISTER') && w.data.includes('SIP/2.0/TCP'))).toBe(true);
  });

  test('a wrong password gives a clear failed state and retries with backoff', async () => {
    const { reg, details, wire } = await setup('MD5', 'nope', 1);
    reg.start();
    await waitFor(() => reg.state === 'failed', 'failed');
    expect(details[details.length - 1]).toMatchObject({ reason: 'authFailed', status: 401 });
    await waitFor(() => wire.filter((w) => w.direction === 'out' && w.first.startsWith('REGISTER')).length >= 4, 'a retry after backoff', 3000);
  });
});
