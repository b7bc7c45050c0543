/**
 * Calls against sipp on loopback: sipp plays the intercom panel (UAC) or the PBX/phone
 * (UAS); our endpoint is the Node-RED side. Each scenario is a real RFC 3261 exchange.
 */
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import type { IntercomError } from '../../nodes/lib/core/errors';
import { type Call, onCallTopics } from '../../nodes/lib/sip/call';
import type { SipEndpoint } from '../../nodes/lib/sip/endpoint';
import { killAll, scenario, sipp, startEndpoint, type Wire } from './sip-harness';
import { SipAccount } from '../../nodes/lib/sip/account';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';

jest.setTimeout(30000);

describeWithPeers(['sipp'], 'SIP calls with sipp (UDP)', () => {
  let ep: SipEndpoint;
  let wire: Wire[];
  let port: number;
  let close: () => Promise<void>;
  const events: Array<{ topic: string; payload: unknown; call: Call }> = [];

  beforeEach(async () => {
    const s = await startEndpoint();
    ep = s.ep;
    wire = s.wire;
    port = s.port;
    events.length = 0;
    ep.on('call', (call: Call) => onCallTopics(call, (topic, payload) => events.push({ topic, payload, call })));
    close = async () => {
      await s.ep.close();
      await s.transport.close();
    };
  });
  afterEach(async () => {
    killAll();
    await close();
  });

  const uac = async (name: string) => sipp(['-sf', scenario(name), '-s', 'door', '-m', '1', '-p', String(await freeSipPort()), `127.0.0.1:${port}`]);

  test('the panel calls, we answer, the panel hangs up (BYE from remote)', async () => {
    ep.on('call', (call: Call) => void call.answer());
    const r = await uac('uac-bye');
    expect(r.errors).toBe('');
    expect(r.code).toBe(0);
    expect(events.map((e) => e.topic)).toEqual(['ring', 'answered', 'ended']);
    const info = events[0].call.info;
    expect(info.from).toMatchObject({ user: 'panel', display: 'Panel' });
    expect(info.headers['p-asserted-identity']).toContain('Front Door');
    expect(info.source).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(events[2].payload).toMatchObject({ reason: 'remote-bye' });
    // the answer declined video with port 0 and kept PCMU + telephone-event
    const ok = wire.find((w) => w.direction === 'out' && w.first.startsWith('SIP/2.0 200') && w.data.includes('m=audio'));
    expect(ok?.data).toMatch(/m=audio \d+ RTP\/AVP 0 101/);
    expect(ok?.data).toMatch(/m=video 0 RTP\/AVP/);
  });

  test('P2P to sip:IP with no user part (the sip.js 404 trap) is a normal call', async () => {
    ep.on('call', (call: Call) => void call.answer());
    const r = await uac('uac-nouser');
    expect(r.errors).toBe('');
    expect(r.code).toBe(0);
    expect(events.map((e) => e.topic)).toEqual(['ring', 'answered', 'ended']);
    expect(events[0].call.info.to.user).toBe('');
  });

  test('we answer and then hang up (BYE from us)', async () => {
    ep.on('call', (call: Call) => {
      call.on('answered', () => setTimeout(() => call.hangup(), 200));
      void call.answer();
    });
    const r = await uac('uac-wait-bye');
    expect(r.code).toBe(0);
    await waitFor(() => events.some((e) => e.topic === 'ended'), 'ended');
    expect(events.find((e) => e.topic === 'ended')?.payload).toMatchObject({ reason: 'local-bye' });
  });

  test('the panel cancels while ringing: 200 to CANCEL, 487 to INVITE, "cancelled" event', async () => {
    const r = await uac('uac-cancel');
    expect(r.errors).toBe('');
    expect(r.code).toBe(0);
    expect(events.map((e) => e.topic)).toEqual(['ring', 'cancelled', 'ended']);
    expect(wire.some((w) => w.first.startsWith('SIP/2.0 487'))).toBe(true);
  });

  test.each([
    ['uac-486', (c: Call) => c.reject(486), 486],
    ['uac-603', (c: Call) => c.reject(603), 603],
    ['uac-302', (c: Call) => c.redirect('sip:flat12@127.0.0.1:5099'), 302],
  ])('the flow decides: %s', async (name, act, status) => {
    ep.on('call', (call: Call) => act(call));
    const r = await uac(name);
    expect(r.errors).toBe('');
    expect(r.code).toBe(0);
    expect(events.find((e) => e.topic === 'ended')?.payload).toMatchObject({ status });
    if (status === 302) expect(wire.find((w) => w.first.startsWith('SIP/2.0 302'))?.data).toContain('Contact: <sip:flat12@127.0.0.1:5099>');
  });

  test('re-INVITE for hold is answered with SDP, INFO DTMF arrives as a dtmf event', async () => {
    ep.on('call', (call: Call) => void call.answer());
    const r = await uac('uac-reinvite');
    expect(r.errors).toBe('');
    expect(r.code).toBe(0);
    const topics = events.map((e) => e.topic);
    expect(topics).toEqual(['ring', 'answered', 'reinvite', 'dtmf', 'dtmf', 'ended']);
    expect(events[2].payload).toEqual({ hold: true });
    expect(events[3].payload).toMatchObject({ digit: '5', method: 'info', durationMs: 160 });
    expect(events[4].payload).toMatchObject({ digit: '#', method: 'info' }); // Signal=11
  });

  test('Timer G: our 200 is resent until the late ACK arrives, and the call survives', async () => {
    ep.on('call', (call: Call) => void call.answer());
    const r = await uac('uac-late-ack');
    expect(r.code).toBe(0);
    const oks = wire.filter((w) => w.direction === 'out' && w.first.startsWith('SIP/2.0 200') && w.data.includes('CSeq: 1 INVITE'));
    // sent at 0, T1, 3*T1 before the ACK at ~1.8 s
    expect(oks.length).toBeGreaterThanOrEqual(3);
    expect(oks[1].at - oks[0].at).toBeGreaterThanOrEqual(400);
    expect(events.find((e) => e.topic === 'ended')?.payload).toMatchObject({ reason: 'remote-bye' });
  });

  test('OPTIONS keepalive is answered 200 with Allow, from anyone, without creating a call', async () => {
    const r = await uac('uac-options');
    // check_it on the Allow header fails the call (exit code 1) if INVITE..BYE is missing
    expect(r.code).toBe(0);
    expect(events).toHaveLength(0);
    expect(ep.activeCalls).toHaveLength(0);
  });
});

describeWithPeers(['sipp'], 'listen mode (a FRITZ!Box ring group member that never disturbs)', () => {
  afterEach(() => killAll());

  test('rings at most (100, 180), refuses to answer, and reports the caller giving up', async () => {
    const s = await startEndpoint({ mode: 'listen' });
    const topicsSeen: string[] = [];
    const refusals: string[] = [];
    s.ep.on('call', (call: Call) => {
      onCallTopics(call, (t) => topicsSeen.push(t));
      call.answer().catch((err: IntercomError) => refusals.push(err.code));
    });
    const r = await sipp(['-sf', scenario('uac-cancel'), '-s', 'door', '-m', '1', '-p', String(await freeSipPort()), `127.0.0.1:${s.port}`]);
    await s.ep.close();
    await s.transport.close();
    expect(r.code).toBe(0);
    expect(refusals).toEqual(['sip.listenNeverAnswers']);
    // every status we sent is 100, 180, or the 487/200 that CANCEL demands; never 2xx to INVITE or 486
    const finals = s.wire.filter((w) => w.direction === 'out' && w.data.includes('CSeq: 1 INVITE')).map((w) => w.first);
    expect(finals).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 180 Ringing', 'SIP/2.0 487 Request Terminated']);
    expect(topicsSeen).toEqual(['ring', 'cancelled', 'ended']);
  });
});

describeWithPeers(['sipp'], 'registrar mode admission', () => {
  afterEach(() => killAll());

  test('an INVITE without panel credentials gets a 401 challenge and creates no call', async () => {
    const account = new SipAccount({ name: 'reg', mode: 'registrar', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: await freeSipPort(), user: 'door', registrarAccounts: [{ user: 'panel', password: 'pan3l' }] }, { mediaFactory: createRtpMediaFactory() });
    account.trace.enabled = true;
    await account.start();
    let calls = 0;
    account.on('call', () => calls++);
    const r = await sipp(['-sf', scenario('uac-bye'), '-s', 'door', '-m', '1', '-p', String(await freeSipPort()), `127.0.0.1:${account.port}`], 4000);
    await account.close();
    expect(r.code).not.toBe(0);
    expect(calls).toBe(0);
    expect(account.trace.text()).toMatch(/SIP\/2\.0 401 Unauthorized[\s\S]*WWW-Authenticate: Digest/);
  });
});
