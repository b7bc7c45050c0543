/** Parallel ring over two accounts: the first answer wins, the other branch is cancelled. */
import { SipAccount } from '../../nodes/lib/sip/account';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import type { Call } from '../../nodes/lib/sip/call';
import { ParallelCall } from '../../nodes/lib/calls/parallel';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';

describe('parallel ring', () => {
  const accounts: SipAccount[] = [];
  afterEach(async () => {
    for (const a of accounts.splice(0)) await a.close();
  });
  async function account(name: string, user: string) {
    const a = new SipAccount({ name, mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: await freeSipPort(), user }, { mediaFactory: createRtpMediaFactory() });
    accounts.push(a);
    await a.start();
    return a;
  }

  test('two accounts ring the flat; it answers one, the other is cancelled with 487', async () => {
    const a = await account('pbx', 'door');
    const b = await account('cloud', 'door2');
    const flat = await account('flat', 'flat');
    const ringing: Call[] = [];
    flat.on('call', (c: Call) => {
      ringing.push(c);
      if (ringing.length === 2) void ringing[1].answer(); // answers the second that rang
    });
    const p = new ParallelCall([a, b], `sip:flat@127.0.0.1:${flat.port}`);
    const winner = await new Promise<Call>((r) => p.once('answered', r));
    expect(p.branches).toHaveLength(2);
    const loser = p.branches.find((c) => c !== winner)!;
    await waitFor(() => loser.isEnded, 'other branch ended');
    expect(loser.info).toMatchObject({ reason: 'answered elsewhere', status: 487 });
    const flatLoser = ringing.find((c) => c.state === 'ended');
    expect(flatLoser?.info.reason).toBe('cancelled');
    winner.hangup();
  });

  test('no usable account is a clear error', async () => {
    const c = new SipAccount({ name: 'x', mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: 0, user: 'x' }, { mediaFactory: createRtpMediaFactory() });
    expect(() => new ParallelCall([c], 'sip:a@127.0.0.1')).toThrow(/^calls\.noUsableAccount/);
  });
});
