/**
 * intercom-sip-call's actions without Node-RED: where each action takes its value from,
 * what it refuses, and the actions themselves on real calls between two accounts on
 * loopback.
 */
import { actOnCall, callIdOf, chooseAction, dial, dialTarget, dtmfDigits, forwardSetup, liveCall, playSource, redirectTarget, rejectCode } from '../../nodes/lib/calls/actions';
import { SipAccount } from '../../nodes/lib/sip/account';
import type { Call } from '../../nodes/lib/sip/call';
import { freeSipPort } from '../helpers/ports';
import { silentMediaFactory } from '../helpers/silent-media';
import { waitFor } from '../helpers/wait';

/** The code an IntercomError carries (its message starts with it). */
function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return 'no error';
}

describe('what an action reads, and from where', () => {
  test('the action: msg.action first, else the node unless it says "msg"; case does not matter', () => {
    expect(chooseAction({ action: 'Answer' }, { action: 'reject' })).toBe('answer');
    expect(chooseAction({}, { action: 'reject' })).toBe('reject');
    expect(code(() => chooseAction({}, { action: 'msg' }))).toBe('calls.noAction');
    expect(code(() => chooseAction({ action: 'explode' }, {}))).toBe('calls.unknownAction');
  });

  test('reject: msg.code, the node code, else 486; only 300-699', () => {
    expect(rejectCode({}, {})).toBe(486);
    expect(rejectCode({}, { code: '603' })).toBe(603);
    expect(rejectCode({ code: 480 }, { code: 603 })).toBe(480);
    for (const bad of [42, 700, '48x', 486.5]) expect(code(() => rejectCode({ code: bad }, {}))).toBe('calls.rejectCode');
  });

  test('redirect: msg.target, the node target, then the payload; nothing is an error', () => {
    expect(redirectTarget({ target: 'sip:a@b', payload: 'x' }, { target: 'c' })).toBe('sip:a@b');
    expect(redirectTarget({ payload: 'x' }, { target: ' 5588 ' })).toBe('5588');
    expect(redirectTarget({ payload: '5589' }, {})).toBe('5589');
    expect(code(() => redirectTarget({ payload: 42 }, {}))).toBe('calls.noRedirectTarget');
  });

  test('play: msg.prompt, the node prompt, then the payload', () => {
    expect(playSource({ prompt: 'goodbye', payload: 'x' }, { prompt: 'beep' })).toBe('goodbye');
    expect(playSource({ payload: 'answer' }, { prompt: 'door-opened' })).toBe('door-opened');
    expect(playSource({ payload: 'beep' }, {})).toBe('beep');
    expect(code(() => playSource({}, {}))).toBe('calls.noPrompt');
  });

  test('dtmf: msg.digits, the node digits, then the payload (a number counts); 1-32 DTMF keys', () => {
    expect(dtmfDigits({ digits: '9#', payload: '1' }, { digits: '5' })).toBe('9#');
    expect(dtmfDigits({ payload: '1' }, { digits: '5' })).toBe('5');
    expect(dtmfDigits({ payload: 9 }, {})).toBe('9');
    for (const bad of ['', '9x', '1'.repeat(33)]) expect(code(() => dtmfDigits({ digits: bad }, {}))).toBe('calls.badDigits');
  });

  test('the calls a message names, and the number to dial', () => {
    expect(callIdOf({ call: { id: 'c1' } })).toBe('c1');
    expect(code(() => callIdOf({ call: {} }))).toBe('calls.noCallId');
    expect(callIdOf({ bridge: { id: 'c2' } }, 'bridge')).toBe('c2');
    expect(callIdOf({ bridgeTo: 'c3' }, 'bridge')).toBe('c3');
    expect(code(() => callIdOf({}, 'bridge'))).toBe('calls.noBridgePeer');
    expect(code(() => liveCall(() => undefined, 'gone'))).toBe('calls.noLiveCall');
    expect(dialTarget({ payload: 5588 })).toBe('5588');
    expect(code(() => dialTarget({ payload: ' ' }))).toBe('calls.noDialTarget');
  });

  test('forward: targets from the message, the node or the apartment table; ring times in seconds, checked', () => {
    const panel = { info: { to: { user: '223' } } } as Call;
    const apartments = new Map([['223', ['sip:5588@pbx', '5589']]]);
    expect(forwardSetup(panel, { targets: '5590' }, { targets: '1' }, apartments)).toMatchObject({ targets: ['5590'], mode: 'sequential', options: { perTargetMs: 20_000 } });
    expect(forwardSetup(panel, {}, { forwardMode: 'all', ringTime: '0.5', monitor: 'sip:mon@10.0.0.2', monitorTime: 3 }, apartments)).toMatchObject({
      targets: ['sip:5588@pbx', '5589'],
      mode: 'all',
      monitor: 'sip:mon@10.0.0.2',
      options: { mode: 'all', perTargetMs: 500, monitorMs: 3000 },
    });
    expect(forwardSetup(panel, { ringTime: 7 }, { monitor: '5500' }).options).toMatchObject({ perTargetMs: 7000, monitor: '5500' });
    expect(code(() => forwardSetup(panel, {}, {}, new Map()))).toBe('calls.forwardNoTargets');
    expect(code(() => forwardSetup(panel, { mode: 'random' }, { targets: '1' }))).toBe('calls.forwardMode');
    expect(code(() => forwardSetup(panel, { ringTime: 0 }, { targets: '1' }))).toBe('setting.number');
    expect(code(() => forwardSetup(panel, {}, { targets: 'http://x' }))).toBe('calls.badTarget');
  });
});

describe('actions on real calls (two accounts on loopback)', () => {
  const accounts: SipAccount[] = [];
  afterEach(async () => {
    for (const a of accounts.splice(0)) await a.close();
  });
  async function account(name: string): Promise<SipAccount> {
    const a = new SipAccount({ name, mode: 'p2p', protocol: 'udp', bindAddress: '127.0.0.1', bindPort: await freeSipPort(), user: name }, { mediaFactory: silentMediaFactory() });
    accounts.push(a);
    await a.start();
    return a;
  }
  /** The panel calls the door; resolves with both ends once the door's call rings. */
  async function ringing(): Promise<{ door: SipAccount; panel: SipAccount; inbound: Call; out: Call }> {
    const door = await account(`door${accounts.length}`);
    const panel = await account(`panel${accounts.length}`);
    let inbound: Call | undefined;
    door.on('call', (c) => (inbound = c));
    const out = panel.dial(`sip:door@127.0.0.1:${door.port}`);
    await waitFor(() => inbound && out.state === 'ringing', 'ringing');
    return { door, panel, inbound: inbound!, out };
  }
  const find = (calls: Call[]) => (id: string) => calls.find((c) => c.id === id);

  test('reject with the node code: the caller gets it', async () => {
    const { inbound, out } = await ringing();
    await actOnCall('reject', inbound, {}, { code: 603 }, find([]));
    await waitFor(() => out.isEnded, 'caller ended');
    expect(out.info).toMatchObject({ reason: 'rejected', status: 603 });
  });

  test('redirect sends 302 to the chosen target; the caller follows it', async () => {
    const { inbound, out } = await ringing();
    const flat = await account('flat');
    flat.on('call', (c) => void c.answer());
    const redirected: string[] = [];
    out.on('redirected', (uri) => redirected.push(uri));
    await actOnCall('redirect', inbound, { payload: 'ring' }, { target: `sip:flat@127.0.0.1:${flat.port}` }, find([]));
    await waitFor(() => out.state === 'answered', 'answered at the new target');
    expect(redirected).toEqual([`sip:flat@127.0.0.1:${flat.port}`]);
    expect(inbound.info).toMatchObject({ reason: 'redirected', status: 302 });
  });

  test('play and dtmf need an answered call; answer, then bridge refuses a call with itself', async () => {
    const { inbound, out } = await ringing();
    await expect(actOnCall('play', inbound, { prompt: 'beep' }, {}, find([]))).rejects.toMatchObject({ code: 'calls.playNotAnswered' });
    await expect(actOnCall('dtmf', inbound, { digits: '9' }, {}, find([]))).rejects.toMatchObject({ code: 'calls.dtmfNotAnswered' });
    await actOnCall('answer', inbound, {}, {}, find([]));
    await waitFor(() => out.state === 'answered', 'answered');
    await expect(actOnCall('bridge', inbound, { bridgeTo: inbound.id }, {}, find([inbound]))).rejects.toMatchObject({ code: 'calls.bridgeSelf' });
    await expect(actOnCall('bridge', inbound, { bridgeTo: 'gone' }, {}, find([inbound]))).rejects.toMatchObject({ code: 'calls.noLiveCall' });
    await actOnCall('hangup', inbound, {}, {}, find([]));
    await waitFor(() => out.isEnded, 'caller got the BYE');
    expect(out.info.reason).toBe('remote-bye');
  });

  test('dial: from the node account, from msg.account by name, or on every msg.accounts at once', async () => {
    const a = await account('a');
    const b = await account('b');
    const flat = await account('flat');
    const rang: Call[] = [];
    flat.on('call', (c) => rang.push(c));
    const named = (n: string) => [a, b].find((x) => x.config.name === n);
    const target = `sip:flat@127.0.0.1:${flat.port}`;
    const [one] = await dial({ payload: target }, async () => a, named);
    expect(one.info).toMatchObject({ account: 'a', direction: 'outbound' });
    const [two] = await dial({ payload: target, account: 'b' }, async () => a, named);
    expect(two.info.account).toBe('b');
    const both = await dial({ payload: target, accounts: ['a', 'b'] }, async () => undefined, named);
    expect(both.map((c) => c.info.account)).toEqual(['a', 'b']);
    await waitFor(() => rang.length === 4, 'four calls at the flat');
    await expect(dial({ payload: target, account: 'nope' }, async () => a, named)).rejects.toMatchObject({ code: 'calls.noSuchAccount' });
    await expect(dial({ payload: target }, async () => undefined, named)).rejects.toMatchObject({ code: 'calls.dialNeedsAccount' });
    for (const c of [one, two, ...both]) c.hangup();
  });
});
