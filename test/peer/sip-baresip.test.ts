/** baresip as the panel: P2P calls to sip:IP and sip:1@IP, and registration to our registrar. */
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import type { Call } from '../../nodes/lib/sip/call';
import { SipAccount } from '../../nodes/lib/sip/account';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import { startBaresip, type Baresip } from './sip-peer-baresip';

jest.setTimeout(30000);

describeWithPeers(['baresip'], 'baresip panel against our account', () => {
  let panel: Baresip | undefined;
  let account: SipAccount | undefined;
  afterEach(async () => {
    await panel?.stop();
    await account?.close();
    panel = undefined;
    account = undefined;
  });

  // baresip itself turns a user-less sip:IP into user@domain, so sip:IP is proven with sipp (sip-calls.test.ts)
  test.each(['sip:1@127.0.0.1:PORT', 'sip:door@127.0.0.1:PORT'])('P2P: baresip dials %s, we answer, then hang up', async (target) => {
    const port = await freeSipPort();
    account = new SipAccount({ name: 'p2p', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1' }, { mediaFactory: createRtpMediaFactory() });
    await account.start();
    const calls: Call[] = [];
    account.on('call', (c: Call) => {
      calls.push(c);
      void c.answer();
    });
    panel = await startBaresip('<sip:panel@127.0.0.1>;regint=0');
    await panel.command('dial', target.replace('PORT', String(port)));
    await panel.waitEvent('CALL_ESTABLISHED');
    expect(calls).toHaveLength(1);
    expect(calls[0].info.from.user).toBe('panel');
    calls[0].hangup();
    await panel.waitEvent('CALL_CLOSED');
    expect(calls[0].info.reason).toBe('local-bye');
  });

  test('P2P admission: a source outside the allowed list gets 403 and no call', async () => {
    const port = await freeSipPort();
    account = new SipAccount({ name: 'p2p', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '10.0.0.0/8' }, { mediaFactory: createRtpMediaFactory() });
    await account.start();
    let calls = 0;
    account.on('call', () => calls++);
    panel = await startBaresip('<sip:panel@127.0.0.1>;regint=0');
    await panel.command('dial', `sip:1@127.0.0.1:${port}`);
    const closed = await panel.waitEvent('CALL_CLOSED');
    expect(String(closed.param)).toMatch(/403/);
    expect(calls).toBe(0);
  });

  test('registrar: baresip registers with digest, calls us through it, we call it back by user name', async () => {
    const port = await freeSipPort();
    account = new SipAccount({
      name: 'reg',
      mode: 'registrar',
      protocol: 'udp',
      bindAddress: '127.0.0.1',
      bindPort: port,
      user: 'door',
      domain: '127.0.0.1',
      registrarAccounts: [{ user: 'panel', password: 'pan3l', allowedSources: '127.0.0.1/32' }],
    }, { mediaFactory: createRtpMediaFactory() });
    await account.start();
    const calls: Call[] = [];
    account.on('call', (c: Call) => {
      calls.push(c);
      if (c.direction === 'inbound') void c.answer();
    });
    panel = await startBaresip(`<sip:panel@127.0.0.1:${port}>;auth_pass=pan3l;regint=60;answermode=auto`);
    // baresip registers at start-up, before its control socket is up: watch our side
    await waitFor(() => account!.registrar!.lookup('panel').length === 1, 'binding for panel');
    expect(account.registrar?.stats.challenged).toBeGreaterThanOrEqual(1);

    const challengedBefore = account.registrar!.stats.challenged;
    await panel.command('dial', `sip:door@127.0.0.1:${port}`);
    await panel.waitEvent('CALL_ESTABLISHED');
    // the INVITE itself was challenged and answered with the panel's credentials
    expect(account.registrar!.stats.challenged).toBe(challengedBefore + 1);
    await panel.command('hangup');
    await waitFor(() => calls[0]?.isEnded, 'inbound call ended');
    expect(calls[0].info.reason).toBe('remote-bye');

    // Node-RED calls the panel by its user name: the registrar's binding routes it.
    const out = account.dial('panel');
    await waitFor(() => out.state === 'answered', 'panel auto-answered', 5000);
    out.hangup();
    await waitFor(() => panel!.events.filter((e) => e.type === 'CALL_CLOSED').length >= 2, 'second call closed');
  });

  test('registrar: a wrong password is refused', async () => {
    const port = await freeSipPort();
    account = new SipAccount({
      name: 'reg',
      mode: 'registrar',
      protocol: 'udp',
      bindAddress: '127.0.0.1',
      bindPort: port,
      user: 'door',
      domain: '127.0.0.1',
      registrarAccounts: [{ user: 'panel', password: 'pan3l' }],
    }, { mediaFactory: createRtpMediaFactory() });
    await account.start();
    panel = await startBaresip(`<sip:panel@127.0.0.1:${port}>;auth_pass=wrong;regint=60`);
    await waitFor(() => account!.registrar!.stats.refused >= 1, 'REGISTER refused');
    expect(account.registrar?.lookup('panel')).toHaveLength(0);
  });
});
