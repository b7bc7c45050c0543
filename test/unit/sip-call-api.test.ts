/**
 * The call object other nodes use (dtmf, door-open by DTMF): found by id in the registry,
 * SIP INFO DTMF both ways, re-INVITE refused while not answered. Two of our endpoints on
 * loopback talk real SIP to each other.
 */
import { SipAccount } from '../../nodes/lib/sip/account';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import type { Call } from '../../nodes/lib/sip/call';
import type { DtmfEvent } from '../../nodes/lib/media/port';
import { callRegistry } from '../../nodes/lib/sip/registry';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

describe.each(['udp', 'tcp'] as const)('call API over %s', (protocol) => {
  const accounts: SipAccount[] = [];
  afterEach(async () => {
    for (const a of accounts.splice(0)) await a.close();
  });
  async function account(name: string, dtmfSend: 'info' | 'rfc4733' = 'info') {
    const a = new SipAccount({ name, mode: 'p2p', protocol, bindAddress: '127.0.0.1', bindPort: await freeSipPort(), user: name, dtmfSend }, { mediaFactory: createRtpMediaFactory() });
    accounts.push(a);
    await a.start();
    return a;
  }

  test('registry finds a live call by id; INFO DTMF flows both ways; the id is gone after the end', async () => {
    const door = await account('door');
    const flat = await account('flat');
    let inbound: Call | undefined;
    door.on('call', (c: Call) => {
      if (c.direction === 'inbound') {
        inbound = c;
        void c.answer();
      }
    });
    const out = flat.dial(`sip:door@127.0.0.1:${door.port}`);
    await waitFor(() => out.state === 'answered' && inbound?.state === 'answered', 'answered');
    const found = callRegistry.getCall(inbound!.id);
    expect(found).toBe(inbound);

    const atDoor: DtmfEvent[] = [];
    found!.on('dtmf', (e: DtmfEvent) => atDoor.push(e));
    await out.sendDtmf('1#');
    await waitFor(() => atDoor.length === 2, 'two digits at the door');
    expect(atDoor.map((e) => [e.digit, e.method])).toEqual([
      ['1', 'info'],
      ['#', 'info'],
    ]);
    const atFlat: string[] = [];
    out.on('dtmf', (e: DtmfEvent) => atFlat.push(e.digit));
    found!.sendInfoDtmf('9');
    await waitFor(() => atFlat.join('') === '9', 'digit at the flat');
    expect(() => found!.sendInfoDtmf('x')).toThrow(expect.objectContaining({ code: 'sip.notDtmfDigit' }));

    out.hangup();
    await waitFor(() => inbound!.isEnded, 'ended');
    expect(callRegistry.getCall(inbound!.id)).toBeUndefined();
    expect(() => inbound!.sendInfoDtmf('1')).toThrow(expect.objectContaining({ code: 'sip.dtmfNotAnswered' }));
  });

  test('an outbound call follows a 302 to the new target, which answers', async () => {
    const front = await account('front');
    const flat = await account('flat12');
    const caller = await account('caller');
    front.on('call', (c: Call) => c.redirect(`sip:flat12@127.0.0.1:${flat.port}`));
    flat.on('call', (c: Call) => void c.answer());
    const out = caller.dial(`sip:front@127.0.0.1:${front.port}`);
    const redirected: unknown[] = [];
    out.on('redirected', (uri) => redirected.push(uri));
    await waitFor(() => out.state === 'answered', 'answered at the new target');
    expect(redirected).toEqual([`sip:flat12@127.0.0.1:${flat.port}`]);
    out.hangup();
  });
});
