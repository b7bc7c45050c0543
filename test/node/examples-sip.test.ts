/**
 * examples/SIP/* and DTMF/*, each loaded from its file with only what its comment says to
 * set changed (test/helpers/examples.ts refuses anything else), against the peers they
 * name: baresip panels, phones and a SIP gateway (registering with digest), and kamailio
 * registrars standing in for the PBX and the second SIP service.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadExample, nodeOf, setAfterImport } from '../helpers/examples';
import { inputsOf, intercomErrors, journalEvents, press } from '../helpers/example-peers';
import { helper } from '../helpers/node-red';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from '../peer/media-baresip';
import { startKamailio, type Kamailio } from '../peer/sip-peer-kamailio';
import accountNode = require('../../nodes/intercom-sip-account');
import sipInNode = require('../../nodes/intercom-sip-in');
import sipCallNode = require('../../nodes/intercom-sip-call');
import dtmfNode = require('../../nodes/intercom-dtmf');
import journalNode = require('../../nodes/intercom-journal');
const core = ['common/20-inject.js', 'common/21-debug.js', 'common/90-comment.js', 'function/10-switch.js', 'function/89-delay.js'].map((f) => require(`@node-red/nodes/core/${f}`));
const nodes = [accountNode, sipInNode, sipCallNode, dtmfNode, journalNode, ...core];

jest.setTimeout(60000);

let dir: string;
const stops: Array<() => Promise<void>> = [];
beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'examples-sip-'));
  helper.settings({ userDir: dir });
  await new Promise<void>((r) => helper.startServer(() => r()));
});
afterEach(async () => {
  await helper.unload();
  await new Promise((r) => helper.stopServer(r));
  for (const s of stops.splice(0).reverse()) await s();
  rmSync(dir, { recursive: true, force: true });
});

async function baresip(account?: (sipPort: number) => string, answer: 'auto' | 'manual' = 'auto'): Promise<Baresip> {
  const b = await startBaresip(mkdtempSync(path.join(dir, 'baresip-')), undefined, [], answer, account);
  stops.push(() => b.stop());
  return b;
}

async function kamailio(): Promise<Kamailio> {
  const k = await startKamailio(await freeSipPort(), { algorithm: 'MD5', minExpires: 10, user: '*', password: 'pw' });
  stops.push(() => k.stop());
  return k;
}

const events = (b: Baresip, type: string): Array<Record<string, unknown>> => b.events.filter((e) => e.type === type);
/** a baresip that registers at a registrar on loopback */
const registering = (user: string, registrar: number, password: string) => () =>
  `<sip:${user}@127.0.0.1:${registrar}>;auth_pass=${password};regint=60`;

/**
 * baresip registers as it starts, before its control socket is up (the REGISTER_OK event
 * is lost): ask it with `reginfo` until its user agent reads OK.
 */
async function registered(b: Baresip, what: string): Promise<void> {
  await waitFor(async () => {
    const before = b.events.length;
    b.command('reginfo');
    const answer = await waitFor(() => b.events.slice(before).find((e) => e.response === true), `${what}: reginfo`, 2000);
    // "OK" (in green) once registered
    return String(answer?.data).includes('OK');
  }, what, 10000, 200);
}

const account = (ex: ReturnType<typeof loadExample>, name: string) => helper.getNode(nodeOf(ex, 'intercom-sip-account', name).id) as any;

describeWithPeers(['baresip', 'sox'], 'SIP/Answer a panel calling Node-RED directly', () => {
  test('the allowed panel is answered; its call events reach the debug sidebar', async () => {
    const panel = await baresip();
    const port = await freeSipPort();
    const ex = loadExample('SIP/Answer a panel calling Node-RED directly.json');
    setAfterImport(ex, { door: { allowedSources: '127.0.0.1', bindAddress: '127.0.0.1', bindPort: port } });
    await helper.load(nodes, ex.flow);
    await account(ex, 'door').ready;
    const seen = inputsOf(nodeOf(ex, 'debug').id);
    panel.command('dial', `sip:door@127.0.0.1:${port}`);
    await waitFor(() => events(panel, 'CALL_ESTABLISHED').length > 0, 'answered', 10000);
    panel.command('hangup');
    await waitFor(() => seen.some((m) => m.topic === 'ended'), 'ended', 10000);
    expect(seen.map((m) => m.topic)).toEqual(expect.arrayContaining(['ring', 'answered', 'ended']));
    expect(seen[0].call).toMatchObject({ direction: 'inbound', from: { user: 'phone' }, source: expect.stringContaining('127.0.0.1') });
    expect(intercomErrors(nodeOf(ex, 'intercom-sip-account').id)).toEqual([]);
  });
});

describeWithPeers(['baresip', 'sox'], 'SIP/Answer then send DTMF 9 and hang up', () => {
  test('baresip calls, hears DTMF 9 about a second after the answer, then gets BYE', async () => {
    const panel = await baresip();
    const port = await freeSipPort();
    const ex = loadExample('SIP/Answer then send DTMF 9 and hang up.json');
    setAfterImport(ex, { door: { allowedSources: '127.0.0.1', bindAddress: '127.0.0.1', bindPort: port } });
    await helper.load(nodes, ex.flow);
    await account(ex, 'door').ready;
    panel.command('dial', `sip:1@127.0.0.1:${port}`);
    await waitFor(() => events(panel, 'CALL_ESTABLISHED')[0], 'answered', 8000);
    const answeredAt = Date.now();
    await waitFor(() => events(panel, 'CALL_DTMF_START')[0], 'DTMF at the panel', 5000);
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(800);
    await waitFor(() => events(panel, 'CALL_CLOSED')[0], 'BYE at the panel', 5000);
    expect(events(panel, 'CALL_DTMF_START').map((e) => String(e.param))).toEqual(['9']);
    expect(intercomErrors(nodeOf(ex, 'intercom-sip-account').id)).toEqual([]);
  });
});

describeWithPeers(['baresip', 'sox'], 'DTMF/Collect a 4-digit PIN', () => {
  test('the caller is answered, types 1 2 3 4, the digits come out once, the call ends with goodbye', async () => {
    const caller = await baresip();
    const port = await freeSipPort();
    const ex = loadExample('DTMF/Collect a 4-digit PIN.json');
    setAfterImport(ex, { 'pin line': { allowedSources: '127.0.0.1', bindAddress: '127.0.0.1', bindPort: port } });
    await helper.load(nodes, ex.flow);
    await account(ex, 'pin line').ready;
    const digits = inputsOf(nodeOf(ex, 'debug').id);
    caller.command('dial', `sip:door@127.0.0.1:${port}`);
    await waitFor(() => events(caller, 'CALL_ESTABLISHED').length > 0, 'answered', 10000);
    await delay(600); // audio running: baresip sends RFC 4733 only then
    for (const key of ['1', '2', '3', '4']) {
      caller.command('sndcode', key);
      await delay(200);
      caller.command('sndcode', '');
      await delay(150);
    }
    await waitFor(() => digits.length > 0, 'the PIN', 8000);
    await waitFor(() => events(caller, 'CALL_CLOSED').length > 0, 'goodbye and hang up', 15000);
    expect(digits.map((m) => m.payload)).toEqual(['1234']);
    expect(digits[0]).toMatchObject({ topic: 'digits', dtmf: { reason: 'length', method: 'rfc4733' }, call: { direction: 'inbound' } });
  });
});

describeWithPeers(['baresip', 'sox', 'kamailio'], 'SIP/Register to a PBX with a failover account', () => {
  test("the PBX is down: the call to flat 11 goes out on 'cloud', registered at the second registrar", async () => {
    const cloud = await kamailio();
    const flat = await baresip(registering('11', cloud.port, 'pw'));
    await registered(flat, 'flat 11 registered');
    const downPbx = await freeTcpPort();
    const ex = loadExample('SIP/Register to a PBX with a failover account.json');
    const creds = setAfterImport(ex, {
      pbx: { server: `127.0.0.1:${downPbx}`, user: '620', authUser: 'door', password: 'pw', bindAddress: '127.0.0.1', bindPort: await freeSipPort() },
      cloud: { server: `127.0.0.1:${cloud.port}`, user: 'door2', authUser: 'door2', password: 'pw', bindAddress: '127.0.0.1', bindPort: await freeSipPort() },
      'call flat 11': { payload: '11' },
    });
    await helper.load(nodes, ex.flow, creds);
    await waitFor(() => account(ex, 'cloud').account.status === 'registered', "'cloud' registered at kamailio", 10000);
    const calls = inputsOf(nodeOf(ex, 'debug').id);
    press(nodeOf(ex, 'inject').id);
    await waitFor(() => events(flat, 'CALL_ESTABLISHED').length > 0, 'flat 11 answers', 15000);
    const dialled = await waitFor(() => calls.find((m) => m.payload === 'dial'), 'the dial result');
    expect(dialled?.call).toMatchObject({ direction: 'outbound', account: 'cloud' });
    expect(account(ex, 'pbx').account.status).not.toBe('registered');
  });
});

describeWithPeers(['baresip', 'sox'], 'SIP/Analog panel behind a SIP gateway', () => {
  test('the gateway registers with its password, its call rings the flat, the resident\'s 9 reaches the panel line; journaled', async () => {
    const port = await freeSipPort();
    const flat = await baresip();
    const ex = loadExample('SIP/Analog panel behind a SIP gateway.json');
    const creds = setAfterImport(ex, {
      'gateway line': { registrarUsers: 'ht801 127.0.0.1', registrarPasswords: 'ht801:gw-secret', bindAddress: '127.0.0.1', bindPort: port },
      'forward to the flat': { targets: `sip:phone@127.0.0.1:${flat.sipPort}` },
    });
    await helper.load(nodes, ex.flow, creds);
    await account(ex, 'gateway line').ready;
    // the HT801 stand-in: registers with digest, then calls 100 when the panel's button is pressed
    const gateway = await baresip(registering('ht801', port, 'gw-secret'));
    await waitFor(() => account(ex, 'gateway line').account.registrar.lookup('ht801').length === 1, 'the gateway registered', 10000);
    gateway.command('dial', `sip:100@127.0.0.1:${port}`);
    await waitFor(() => events(flat, 'CALL_ESTABLISHED').length > 0 && events(gateway, 'CALL_ESTABLISHED').length > 0, 'the flat answers, bridged to the gateway', 15000);
    await delay(600);
    flat.command('sndcode', '9');
    await delay(250);
    flat.command('sndcode', '');
    await waitFor(() => events(gateway, 'CALL_DTMF_START').length > 0, "the resident's 9 at the gateway", 8000);
    expect(events(gateway, 'CALL_DTMF_START').map((e) => String(e.param))).toEqual(['9']);
    const journal = await journalEvents(path.join(dir, 'intercom-journal.jsonl'), (ev) => ev.some((e) => e.result === 'forward' || e.event === 'forwarded'), 'forwarded in the journal');
    expect(journal.some((e) => e.event === 'ring')).toBe(true);
  });

  test('a gateway with a wrong password is not registered and its call is refused', async () => {
    const port = await freeSipPort();
    const flat = await baresip();
    const ex = loadExample('SIP/Analog panel behind a SIP gateway.json');
    const creds = setAfterImport(ex, {
      'gateway line': { registrarUsers: 'ht801 127.0.0.1', registrarPasswords: 'ht801:gw-secret', bindAddress: '127.0.0.1', bindPort: port },
      'forward to the flat': { targets: `sip:phone@127.0.0.1:${flat.sipPort}` },
    });
    await helper.load(nodes, ex.flow, creds);
    await account(ex, 'gateway line').ready;
    const gateway = await baresip(registering('ht801', port, 'wrong'));
    await waitFor(() => account(ex, 'gateway line').account.registrar.stats.refused >= 1, 'the registration refused', 10000);
    expect(account(ex, 'gateway line').account.registrar.lookup('ht801')).toHaveLength(0);
    gateway.command('dial', `sip:100@127.0.0.1:${port}`);
    await waitFor(() => events(gateway, 'CALL_CLOSED').length > 0, 'the call refused', 10000);
    expect(events(flat, 'CALL_ESTABLISHED')).toEqual([]);
  });
});

describeWithPeers(['baresip', 'sox', 'kamailio'], 'SIP/Two buttons on two SIP accounts', () => {
  test('button 1 rings the residents through SIP 1, button 2 security through SIP 2, button 3 gets 404', async () => {
    const [pbx, service] = [await kamailio(), await kamailio()];
    const residents = await baresip(registering('100', pbx.port, 'pw'));
    const security = await baresip(registering('200', service.port, 'pw'));
    await registered(residents, 'the residents registered');
    await registered(security, 'security registered');
    const port = await freeSipPort();
    const ex = loadExample('SIP/Two buttons on two SIP accounts.json');
    const creds = setAfterImport(ex, {
      'panel line': { allowedSources: '127.0.0.1', bindAddress: '127.0.0.1', bindPort: port },
      'SIP 1': { server: `127.0.0.1:${pbx.port}`, password: 'pw', bindAddress: '127.0.0.1', bindPort: await freeSipPort() },
      'SIP 2': { server: `127.0.0.1:${service.port}`, password: 'pw', bindAddress: '127.0.0.1', bindPort: await freeSipPort() },
    });
    await helper.load(nodes, ex.flow, creds);
    await waitFor(() => account(ex, 'SIP 1').account.status === 'registered' && account(ex, 'SIP 2').account.status === 'registered', 'SIP 1 and SIP 2 registered', 10000);
    const panel = await baresip();

    panel.command('dial', `sip:1@127.0.0.1:${port}`);
    await waitFor(() => events(residents, 'CALL_ESTABLISHED').length > 0, 'the residents answer button 1', 15000);
    expect(events(security, 'CALL_ESTABLISHED')).toEqual([]);
    // the residents' call came from SIP 1's user, through SIP 1's registrar
    expect(String(events(residents, 'CALL_ESTABLISHED')[0]?.peeruri)).toContain('panel1');
    panel.command('hangup');
    await waitFor(() => events(residents, 'CALL_CLOSED').length > 0, 'button 1 call over', 10000);

    panel.command('dial', `sip:2@127.0.0.1:${port}`);
    await waitFor(() => events(security, 'CALL_ESTABLISHED').length > 0, 'security answers button 2', 15000);
    expect(String(events(security, 'CALL_ESTABLISHED')[0]?.peeruri)).toContain('panel2');
    expect(events(residents, 'CALL_ESTABLISHED')).toHaveLength(1);
    panel.command('hangup');
    await waitFor(() => events(security, 'CALL_CLOSED').length > 0, 'button 2 call over', 10000);

    const closedBefore = events(panel, 'CALL_CLOSED').length;
    panel.command('dial', `sip:3@127.0.0.1:${port}`);
    await waitFor(() => events(panel, 'CALL_CLOSED').length > closedBefore, 'button 3 refused', 10000);
    expect(String(events(panel, 'CALL_CLOSED').at(-1)?.param)).toContain('404');
  });
});
