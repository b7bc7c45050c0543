import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { getNode, helper, nextMessage, type TestNode } from '../helpers/node-red';
import { waitFor } from '../helpers/wait';
import whitelistNode = require('../../nodes/intercom-whitelist');
import journalNode = require('../../nodes/intercom-journal');

const call = (user: unknown, extra: Record<string, unknown> = {}) => ({ topic: 'ring', call: { id: 'c1', from: { user }, source: '10.0.0.7:5060', ...extra } });

function errors(n: TestNode): string[] {
  const out: string[] = [];
  n.on('call:error', (c: { args: unknown[] }) => out.push(String(c.args[0])));
  return out;
}

/** Sends msg and reports which output it left by. */
async function route(n: TestNode, msg: Record<string, unknown>): Promise<{ out: 'allowed' | 'denied'; msg: Record<string, any> }> {
  const a = nextMessage(getNode('allowed'), 2000).then((m) => ({ out: 'allowed' as const, msg: m }));
  const d = nextMessage(getNode('denied'), 2000).then((m) => ({ out: 'denied' as const, msg: m }));
  n.receive(msg);
  return Promise.race([a, d]);
}

describe('intercom-whitelist node', () => {
  let dir: string;
  beforeEach((done) => {
    dir = mkdtempSync(path.join(tmpdir(), 'whitelist-node-'));
    helper.settings({ userDir: dir });
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const flow = (cfg: Record<string, unknown>) => [
    { id: 'w1', type: 'intercom-whitelist', wires: [['allowed'], ['denied']], ...cfg },
    { id: 'allowed', type: 'helper' },
    { id: 'denied', type: 'helper' },
  ];

  test('caller mode: editor rules, normalization, reasons on the denied output', async () => {
    await helper.load(whitelistNode, flow({ rules: '495-XXX-XX-XX\ndeny +7 495 666-66-66' }));
    const w = getNode('w1');
    expect((await route(w, call('+7 495 123-45-67'))).out).toBe('allowed');
    const ok = await route(w, call('84951234567'));
    expect(ok.out).toBe('allowed');
    expect(ok.msg.access).toMatchObject({ result: 'allowed', reason: 'listed', caller: '74951234567', rule: '495-XXX-XX-XX' });
    expect((await route(w, call('84956666666'))).msg.access.reason).toBe('denied-by-rule');
    expect((await route(w, call('+1 212 555 1234'))).msg.access.reason).toBe('not-listed');
    expect((await route(w, { topic: 'ring' })).msg.access).toMatchObject({ result: 'denied', reason: 'missing-caller' });
    expect((await route(w, call({ evil: true }))).msg.access.reason).toBe('malformed-caller');
    const uri = await route(w, { topic: 'ring', call: { from: '"Guest" <sip:+74951234567@10.0.0.7>' } });
    expect(uri.msg.access).toMatchObject({ result: 'allowed', caller: '74951234567' });
  });

  test('caller from another msg property, door and source conditions', async () => {
    await helper.load(whitelistNode, flow({ callerProp: 'who', rules: '+7495* from=10.0.0.0/24 door=parking' }));
    const w = getNode('w1');
    expect((await route(w, { who: '84951112233', door: 'parking', call: { source: '10.0.0.9:5060' } })).out).toBe('allowed');
    expect((await route(w, { who: '84951112233', door: { doorId: 'front' }, call: { source: '10.0.0.9:5060' } })).msg.access.reason).toBe('door-not-allowed');
    expect((await route(w, { who: '84951112233', door: 'parking', call: { source: '10.9.0.9:5060' } })).msg.access.reason).toBe('source-not-allowed');
  });

  test('P-Asserted-Identity from the trusted PBX only (msg.call.headers)', async () => {
    await helper.load(whitelistNode, flow({ rules: '+7 495 123-45-67 asserted', trustedSources: '10.0.0.5' }));
    const w = getNode('w1');
    const headers = { 'p-asserted-identity': '<sip:+74951234567@pbx.local>' };
    const viaPbx = await route(w, { topic: 'ring', call: { from: { user: 'trunk1' }, source: '10.0.0.5:5060', headers } });
    expect(viaPbx.msg.access).toMatchObject({ result: 'allowed', identity: 'asserted', caller: '74951234567' });
    const spoofed = await route(w, { topic: 'ring', call: { from: { user: '84951234567' }, source: '10.0.0.66:5060', headers } });
    expect(spoofed.msg.access).toMatchObject({ result: 'denied', reason: 'identity-not-asserted', identity: 'from' });
  });

  test('a bad rule file: clear status and error, every call denied; a later bad msg keeps the good list', async () => {
    const file = path.join(dir, 'rules.txt');
    writeFileSync(file, '495-XXX-XX-XX\n/(/\n');
    await helper.load(whitelistNode, flow({ rulesFile: 'rules.txt' }));
    const w = getNode('w1');
    const errs = errors(w);
    const statuses: Array<{ text: string }> = [];
    w.on('call:status', (c: { args: Array<{ text: string }> }) => statuses.push(c.args[0]));
    expect((await route(w, call('84951234567'))).msg.access.reason).toBe('rules-invalid');
    // The file is fixed: the node notices by itself, no redeploy, no msg.
    writeFileSync(file, '495-XXX-XX-XX\n');
    await waitFor(() => statuses.some((s) => /^1 rule \(rules.txt\)$/.test(s.text)), 'reload on file change', 5000);
    expect((await route(w, call('84951234567'))).out).toBe('allowed');
    // A broken file on reload leaves the good list active.
    writeFileSync(file, 'not a number at all\n');
    w.receive({ topic: 'reload' });
    await waitFor(() => errs.some((e) => /rule file rejected: line 1: .*previous list \(1 rule\) stays active/.test(e)), 'reject');
    expect(statuses[statuses.length - 1].text).toMatch(/rule file rejected, kept 1 rule$/);
    expect((await route(w, call('84951234567'))).out).toBe('allowed');
  });

  test('rules replaced by msg at run time survive a restart, until the deployed rules change', async () => {
    const cfg = { rules: '+74951111111' };
    await helper.load(whitelistNode, flow(cfg));
    let w = getNode('w1');
    const errs = errors(w);
    const statuses: Array<{ text: string }> = [];
    w.on('call:status', (c: { args: Array<{ text: string }> }) => statuses.push(c.args[0]));
    w.receive({ topic: 'rules', payload: [{ match: '+7 812 XXX XX XX' }] });
    // The list is saved (file renamed, directory synced) before it is installed: wait for the install.
    await waitFor(() => statuses.some((s) => s.text === '1 rule (run time)'), 'run-time list installed');
    expect(existsSync(path.join(dir, 'intercom-access', 'whitelist-w1.json'))).toBe(true);
    expect((await route(w, call('88121234567'))).out).toBe('allowed');
    expect((await route(w, call('84951111111'))).out).toBe('denied');
    // A malformed replacement is refused with an error; the run-time list stays.
    w.receive({ topic: 'rules', payload: { rules: [{ match: '' }] } });
    await waitFor(() => errs.some((e) => /rules from msg rejected: rule 1: no "match"/.test(e)), 'rejected');
    expect((await route(w, call('88121234567'))).out).toBe('allowed');
    await helper.unload();

    await helper.load(whitelistNode, flow(cfg));
    w = getNode('w1');
    expect((await route(w, call('88121234567'))).out).toBe('allowed');
    await helper.unload();

    // A redeploy with edited rules wins over the old run-time list.
    await helper.load(whitelistNode, flow({ rules: '+74952222222' }));
    w = getNode('w1');
    expect((await route(w, call('88121234567'))).out).toBe('denied');
    expect((await route(w, call('84952222222'))).out).toBe('allowed');
  });

  test('PIN mode: PINs from credentials, lockout journaled, the PIN never leaves the node', async () => {
    const file = path.join(dir, 'journal.jsonl');
    const f = [
      { id: 'w1', type: 'intercom-whitelist', mode: 'pin', maxTries: 2, lockoutSec: 60, wires: [['allowed', 'j1'], ['denied', 'j1']] },
      { id: 'j1', type: 'intercom-journal', file, wires: [[]] },
      { id: 'allowed', type: 'helper' },
      { id: 'denied', type: 'helper' },
    ];
    await helper.load([whitelistNode, journalNode], f, { w1: { pins: 'alice:1234\nbob:0042' } });
    const w = getNode('w1');
    const dtmf = (digits: string) => ({ topic: 'dtmf', payload: digits, door: 'front', call: { id: 'c9', from: { user: '200' } } });
    const ok = await route(w, dtmf('0042'));
    expect(ok.out).toBe('allowed');
    expect(ok.msg.access).toMatchObject({ result: 'allowed', reason: 'pin-ok', user: 'bob' });
    expect(ok.msg.payload).toBe('[entered]');
    expect((await route(w, dtmf('123'))).msg.access.reason).toBe('pin-length');
    const lock = await route(w, dtmf('9999'));
    expect(lock.msg.access).toMatchObject({ result: 'denied', reason: 'lockout', scope: 'caller' });
    expect((await route(w, dtmf('1234'))).msg.access.reason).toBe('locked-out');
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').split('\n').length >= 5, 'journal lines');
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/"reason":"lockout"/);
    expect(text).not.toMatch(/0042|9999|1234/);
    // The flow JSON the runtime holds carries no PIN either.
    expect(JSON.stringify(f)).not.toMatch(/0042/);
  });

  test('PIN mode with a broken PIN list: denied, with an error naming the line only', async () => {
    await helper.load(whitelistNode, flow({ mode: 'pin' }), { w1: { pins: 'alice:12345' } });
    const w = getNode('w1');
    const r = await route(w, { topic: 'dtmf', payload: '1234' });
    expect(r.msg.access).toMatchObject({ result: 'denied', reason: 'bad-configuration' });
  });
});
