/**
 * Dialling a registrar's panel by name (issue #13, point 4): before it registers the error
 * says it is not registered (not "this account has no server"); once baresip registers as
 * phone1 (its Contact user is phone1-0x…) the call reaches it and msg.call.to is phone1.
 */
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { SipAccount } from '../../nodes/lib/sip/account';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import { translate } from '../helpers/i18n';
import { startBaresip, type Baresip } from './sip-peer-baresip';

jest.setTimeout(30000);

describeWithPeers(['baresip'], 'dialling a registrar panel by name', () => {
  let panel: Baresip | undefined;
  let account: SipAccount | undefined;
  afterEach(async () => {
    await panel?.stop();
    await account?.close();
    panel = account = undefined;
  });

  test('not registered yet: a clear error; registered: it rings, and msg.call.to names phone1, not its Contact', async () => {
    const port = await freeSipPort();
    account = new SipAccount(
      { name: 'reg', mode: 'registrar', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', domain: '127.0.0.1', registrarAccounts: [{ user: 'phone1', password: 'ph0ne-Secret', allowedSources: '127.0.0.1/32' }] },
      { mediaFactory: createRtpMediaFactory() },
    );
    await account.start();
    const err = (() => {
      try {
        account.dial('phone1');
      } catch (e) {
        return e as { code: string; params: Record<string, string> };
      }
      throw new Error('dialled an unregistered panel');
    })();
    expect(translate(`intercom.errors.${err.code}`, err.params)).toBe('cannot dial phone1: that panel is not registered now (it has no binding at this registrar)');
    expect(() => account!.dial('phone7')).toThrow(/^sip\.noSuchPanel/);

    panel = await startBaresip(`<sip:phone1@127.0.0.1:${port}>;auth_pass=ph0ne-Secret;regint=60;answermode=auto`);
    await waitFor(() => account!.registrar!.lookup('phone1').length === 1, 'phone1 registered');
    const contact = account.registrar!.lookup('phone1')[0].contact;
    expect(contact).not.toMatch(/^sip:phone1@/); // baresip registers a per-device Contact user
    const call = account.dial('phone1');
    expect(call.info.to).toMatchObject({ user: 'phone1', uri: 'sip:phone1@127.0.0.1' });
    await waitFor(() => call.state === 'answered', 'phone1 answered', 5000);
    expect(call.info.to.user).toBe('phone1');
    call.hangup();
    await panel.waitEvent('CALL_CLOSED');
  });
});
