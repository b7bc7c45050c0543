/**
 * The flood of issue #13, point 1, against Node-RED as users run it (a child process): a P2P
 * account that admits 127.0.0.0/8, a flow that answers every call and opens a Shelly relay
 * (a small HTTP stand-in) for the panel, sip-in's second output into a journal. sipp floods
 * INVITEs with SDP to a new user each, never ACKed, at 5,000/s, first from the panel's
 * subnet (127.0.0.2), then from the panel's own address on another port; baresip is the
 * panel and calls five times meanwhile. Every panel call must be answered and open the door,
 * and the log and the journal must not grow with the packet rate.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { ensureBuilt, prepareUserDir, startNodeRed, stopNodeRed, type Child } from '../node/access-node-red-child';
import { startBaresip, type Baresip } from './sip-peer-baresip';

const PPS = Number(process.env.SIP_FLOOD_PPS || 5000);
const SECONDS = Number(process.env.SIP_FLOOD_SECONDS || 15);
const CALLS = 5;
const SCENARIO = path.resolve(__dirname, '..', '..', 'bench', 'sip', 'invite-flood.xml');

jest.setTimeout(180_000);

function flow(sipPort: number, relayPort: number) {
  const z = 'f1';
  return [
    { id: z, type: 'tab', label: 'flood' },
    { id: 'f100acc', type: 'intercom-sip-account', name: 'door', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: String(sipPort), user: 'door', allowedSources: '127.0.0.0/8' },
    { id: 'f100door', type: 'intercom-door', name: 'Gate', doorId: 'gate', openKind: 'preset', preset: 'shelly-gen1', host: `http://127.0.0.1:${relayPort}`, relay: 1, pulse: 1, timeout: 3000, retries: 0, minInterval: 0, confirm: 'none', camera: 'none' },
    { id: 'f100in', z, type: 'intercom-sip-in', account: 'f100acc', events: 'ring', wires: [['f100answer'], ['f100journal']] },
    // As in the issue: the flow answers every call; the panel's calls open the gate.
    { id: 'f100answer', z, type: 'intercom-sip-call', account: 'f100acc', action: 'answer', wires: [['f100panel']] },
    { id: 'f100panel', z, type: 'switch', property: 'call.from.user', propertyType: 'msg', rules: [{ t: 'eq', v: 'panel', vt: 'str' }], checkall: 'true', outputs: 1, wires: [['f100open']] },
    { id: 'f100open', z, type: 'intercom-door-open', door: 'f100door', wires: [['f100journal']] },
    { id: 'f100journal', z, type: 'intercom-journal', file: 'journal.jsonl', wires: [] },
  ];
}

function flood(sipPort: number, from: string): { stop(): Promise<void>; done: Promise<unknown> } {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'sipp-flood-'));
  const child = spawn('sipp', ['-sf', SCENARIO, '-i', from, '-p', '0', '-r', String(PPS), '-l', '100000000', '-m', String(PPS * SECONDS), '-nostdin', `127.0.0.1:${sipPort}`], { cwd, stdio: 'ignore' });
  const done = new Promise((r) => child.once('exit', r));
  return {
    done,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await done;
      fs.rmSync(cwd, { recursive: true, force: true });
    },
  };
}

async function call(panel: Baresip, target: string): Promise<boolean> {
  const from = panel.events.length;
  await panel.command('dial', target);
  const ev = await waitFor(() => panel.events.slice(from).find((e) => e.type === 'CALL_ESTABLISHED' || e.type === 'CALL_CLOSED'), 'the call set up or refused', 5000).catch(() => undefined);
  const after = panel.events.length;
  await panel.command('hangup');
  if (ev?.type !== 'CALL_CLOSED') await waitFor(() => panel.events.slice(after).find((e) => e.type === 'CALL_CLOSED'), 'hung up', 3000).catch(() => undefined);
  return ev?.type === 'CALL_ESTABLISHED';
}

describeWithPeers(['sipp', 'baresip'], 'a flood from inside the allowed sources does not lock the panel out', () => {
  let nr: Child | null = null;
  let panel: Baresip | undefined;
  let relay: http.Server | undefined;
  let dir = '';
  const opens: string[] = [];
  let sipPort = 0;

  beforeAll(async () => {
    ensureBuilt(['nodes/lib/sip/admission.ts', 'nodes/lib/sip/endpoint.ts', 'nodes/lib/sip/transport.ts', 'nodes/intercom-sip-in.ts']);
    relay = http.createServer((req, res) => {
      opens.push(req.url ?? '');
      res.setHeader('Content-Type', 'application/json');
      res.end('{"ison":true}');
    });
    await new Promise<void>((r) => relay!.listen(0, '127.0.0.1', r));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flood-nr-'));
    sipPort = await freeSipPort();
    prepareUserDir(dir, await freeTcpPort(), flow(sipPort, (relay.address() as { port: number }).port));
    nr = startNodeRed(dir);
    await waitFor(() => nr!.log.some((l) => l.includes('Started flows')), 'Node-RED started', 30000);
    panel = await startBaresip('<sip:panel@127.0.0.1>;regint=0');
  });
  afterAll(async () => {
    await panel?.stop();
    await stopNodeRed(nr, 'SIGTERM');
    await new Promise((r) => relay?.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ["the panel's subnet", '127.0.0.2'],
    ["the panel's own address, another port", '127.0.0.1'],
  ])('from %s: every panel call answered and opened; the log and the journal stay small', async (_label, from) => {
    const logBefore = nr!.log.length;
    const journalFile = path.join(dir, 'journal.jsonl');
    const journalBefore = fs.existsSync(journalFile) ? fs.readFileSync(journalFile, 'utf8').trim().split('\n').filter(Boolean).length : 0;
    opens.length = 0;
    const f = flood(sipPort, from);
    await new Promise((r) => setTimeout(r, 1000));
    const spacing = ((SECONDS - 3) * 1000) / CALLS;
    let answered = 0;
    for (let i = 0; i < CALLS; i++) {
      const t0 = Date.now();
      if (await call(panel!, `sip:door@127.0.0.1:${sipPort}`)) answered++;
      await new Promise((r) => setTimeout(r, Math.max(0, spacing - (Date.now() - t0))));
    }
    await f.done;
    await f.stop();
    expect(answered).toBe(CALLS);
    await waitFor(() => opens.length >= CALLS, 'the gate opened for each panel call', 5000);
    expect(opens).toHaveLength(CALLS);
    expect(opens.every((u) => u.startsWith('/relay/0?turn=on'))).toBe(true);
    // ~75,000 INVITEs: a handful of summary lines, not one per packet.
    const lines = nr!.log.slice(logBefore).filter((l) => /\[intercom-sip/.test(l));
    expect(lines.length).toBeLessThan(20);
    // door-open passes the ring on with its result: one journaled opening per panel call
    // (the last of them written after the relay has answered, a moment after it is counted)
    const opened = (j: Array<Record<string, unknown>>) => j.filter((e) => e.door === 'gate' && e.result === 'ok' && e.caller === 'panel');
    const journal = (await waitFor(() => {
      const j = fs.readFileSync(journalFile, 'utf8').trim().split('\n').slice(journalBefore).map((l) => JSON.parse(l) as Record<string, unknown>);
      return opened(j).length >= CALLS ? j : undefined;
    }, 'an opening journaled per panel call', 5000))!;
    expect(opened(journal)).toHaveLength(CALLS);
    expect(journal.filter((e) => e.event === 'flood').length).toBeLessThan(20);
    expect(journal.filter((e) => e.event === 'flood')[0]).toMatchObject({ source: expect.stringMatching(new RegExp(`^${from.replace(/\./g, '\\.')}:`)) });
  });
});
