/**
 * PIN guessing over DTMF (issue #13): baresip calls Node-RED (a child process, as users
 * run it), keys PINs in by RFC 4733, hangs up and calls again. The flow answers, collects
 * four digits (intercom-dtmf) and checks them (intercom-whitelist, 3 tries). The third
 * wrong PIN locks the caller out across calls; after a restart of Node-RED the right PIN is
 * still refused, because the counters are in the user dir, not in memory. The journal
 * records every decision and never a PIN.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { ensureBuilt, prepareUserDir, startNodeRed, stopNodeRed, type Child } from '../node/access-node-red-child';
import { startBaresip, type Baresip } from './media-baresip';

jest.setTimeout(120_000);

const RIGHT = '2580';

function flow(sipPort: number) {
  const z = 'a7f0tab';
  return [
    { id: z, type: 'tab', label: 'pin' },
    { id: 'a7f0acc', type: 'intercom-sip-account', name: 'door', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: String(sipPort), user: 'door', allowedSources: '127.0.0.1' },
    { id: 'a7f0in', z, type: 'intercom-sip-in', account: 'a7f0acc', events: 'ring, dtmf', wires: [['a7f0sw'], []] },
    { id: 'a7f0sw', z, type: 'switch', property: 'topic', propertyType: 'msg', rules: [{ t: 'eq', v: 'ring', vt: 'str' }, { t: 'eq', v: 'dtmf', vt: 'str' }], checkall: 'false', outputs: 2, wires: [['a7f0ans'], ['a7f0dtmf']] },
    { id: 'a7f0ans', z, type: 'intercom-sip-call', account: 'a7f0acc', action: 'answer', wires: [[]] },
    { id: 'a7f0dtmf', z, type: 'intercom-dtmf', mode: 'sequence', scope: 'all', length: 4, terminator: '#', interDigitTimeout: 5, totalTimeout: 20, wires: [['a7f0pin']] },
    { id: 'a7f0pin', z, type: 'intercom-whitelist', name: 'PIN', mode: 'pin', callerProp: 'call.from.user', pinProp: 'payload', pinLength: 4, maxTries: 3, maxDoorTries: 10, lockoutSec: 600, maxLockoutMin: 60, wires: [['a7f0jr'], ['a7f0jr']] },
    { id: 'a7f0jr', z, type: 'intercom-journal', file: 'journal.jsonl', wires: [] },
  ];
}

describeWithPeers(['baresip', 'sox'], 'PIN guessing over DTMF, across calls and a restart', () => {
  let nr: Child | null = null;
  let panel: Baresip | undefined;
  let dir = '';
  let bdir = '';
  let sipPort = 0;
  let uiPort = 0;

  beforeAll(async () => {
    ensureBuilt(['nodes/lib/access/pin.ts', 'nodes/intercom-whitelist.ts', 'nodes/lib/auth/state-file.ts']);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pin-nr-'));
    bdir = fs.mkdtempSync(path.join(os.tmpdir(), 'pin-baresip-'));
    sipPort = await freeSipPort();
    uiPort = await freeTcpPort();
    prepareUserDir(dir, uiPort, flow(sipPort));
    // credentialSecret false: the credentials file is plain JSON, as Node-RED writes it then
    fs.writeFileSync(path.join(dir, 'flows_cred.json'), JSON.stringify({ a7f0pin: { pins: `alice:${RIGHT}` } }));
    nr = await start();
    panel = await startBaresip(bdir);
  });
  afterAll(async () => {
    await panel?.stop();
    await stopNodeRed(nr, 'SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(bdir, { recursive: true, force: true });
  });

  async function start(): Promise<Child> {
    const c = startNodeRed(dir);
    await waitFor(() => c.log.some((l) => l.includes('Started flows')), 'Node-RED started', 30_000);
    return c;
  }
  const journal = (): Array<Record<string, string>> =>
    fs.existsSync(path.join(dir, 'journal.jsonl')) ? fs.readFileSync(path.join(dir, 'journal.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];

  /** One call: dial, key each PIN in (waiting for its decision in the journal), hang up. */
  async function call(pins: string[]): Promise<string[]> {
    const from = panel!.events.length;
    panel!.command('dial', `sip:door@127.0.0.1:${sipPort}`);
    await waitFor(() => panel!.events.slice(from).some((e) => e.type === 'CALL_ESTABLISHED'), 'call established', 10_000);
    await delay(300); // audio running: baresip sends RFC 4733 only then
    const decisions: string[] = [];
    for (const pin of pins) {
      const before = journal().length;
      for (const d of pin) {
        panel!.command('sndcode', d);
        await delay(200);
        panel!.command('sndcode', '');
        await delay(200);
      }
      const e = await waitFor(() => journal()[before], `the decision on ${pin}`, 8000);
      decisions.push(`${e.result} ${e.reason}`);
    }
    const closing = panel!.events.length;
    panel!.command('hangup');
    await waitFor(() => panel!.events.slice(closing).some((e) => e.type === 'CALL_CLOSED'), 'hung up', 5000);
    return decisions;
  }

  test('three wrong PINs over two calls lock the caller out; a restart does not lift it; no PIN is journaled', async () => {
    expect(await call(['1111', '2222'])).toEqual(['denied pin-wrong', 'denied pin-wrong']);
    // Hanging up and calling again gives no fresh tries.
    expect(await call(['3333', RIGHT])).toEqual(['denied lockout', 'denied locked-out']);

    await stopNodeRed(nr, 'SIGTERM');
    nr = await start();
    expect(await call([RIGHT])).toEqual(['denied locked-out']);

    // Neither the journal (times and call ids aside) nor the counters' file holds a PIN.
    const pins = ['1111', '2222', '3333', RIGHT];
    const fields = journal().flatMap(({ time: _t, callId: _c, ...rest }) => Object.values(rest).map(String));
    expect(fields.filter((v) => pins.some((p) => v.includes(p)))).toEqual([]);
    const [file] = fs.readdirSync(path.join(dir, 'intercom-access'));
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'intercom-access', file), 'utf8')) as { counters: Array<[string, Record<string, number>]> };
    expect(state.counters.some(([, c]) => c.lockedUntil > Date.now())).toBe(true);
    expect(state.counters.map(([k]) => k).filter((k) => pins.some((p) => k.includes(p)))).toEqual([]);
  });
});
