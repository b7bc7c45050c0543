/**
 * examples/Office/"Visitor at reception - press 9 to open" end to end with real peers, as
 * shipped except for addresses: a baresip panel calls Node-RED, the flow forwards the call
 * to a baresip "reception" phone (auto-answer), the visitor pressing 9 on the panel opens
 * nothing, the receptionist pressing 9 makes exactly one 2N switch request to a loopback
 * stand-in for the 2N HTTP API, and the journal file holds the open event.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadExample, nodeOf, setAfterImport } from '../helpers/examples';
import { helper } from '../helpers/node-red';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from '../peer/media-baresip';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');
import dtmfNode = require('../../nodes/intercom-dtmf');
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import journalNode = require('../../nodes/intercom-journal');
const switchNode = require('@node-red/nodes/core/function/10-switch.js');
const changeNode = require('@node-red/nodes/core/function/15-change.js');
const commentNode = require('@node-red/nodes/core/common/90-comment.js');

jest.setTimeout(40000);
const file = 'Office/Visitor at reception - press 9 to open.json';

describeWithPeers(['baresip', 'sox'], 'office scenario: visitor at reception, press 9 to open', () => {
  const peers: Baresip[] = [];
  const dirs: string[] = [];
  let server: http.Server | undefined;
  beforeEach(async () => {
    await new Promise<void>((r) => helper.startServer(() => r()));
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = (): string => {
    const d = mkdtempSync(path.join(tmpdir(), 'scenario-office-'));
    dirs.push(d);
    return d;
  };

  test('panel → reception; the panel keypad opens nothing, reception presses 9 → one 2N trigger, journaled', async () => {
    // the 2N HTTP API stand-in: /api/switch/ctrl answers {"success": true}
    const requests: string[] = [];
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.setHeader('Content-Type', 'application/json');
      res.end(req.url?.startsWith('/api/switch/ctrl') ? '{"success":true}' : '{"success":false}');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const httpPort = (server.address() as { port: number }).port;

    const [panel, reception] = await Promise.all([startBaresip(tmp(), undefined, [], 'auto'), startBaresip(tmp(), undefined, [], 'auto')]);
    peers.push(panel, reception);

    const ex = loadExample(file);
    const port = await freeSipPort();
    const userDir = tmp();
    helper.settings({ userDir });
    const journalFile = path.join(userDir, 'intercom-journal.jsonl');
    // only what the example's comment says to set (startBaresip's account user is "phone")
    const creds = setAfterImport(ex, {
      door: { bindAddress: '127.0.0.1', bindPort: port, allowedSources: '127.0.0.1' },
      'Office entrance': { host: `http://127.0.0.1:${httpPort}` },
      'forward to reception': { targets: `sip:phone@127.0.0.1:${reception.sipPort}` },
    });

    await helper.load([accountNode, inNode, callNode, dtmfNode, doorNode, doorOpenNode, journalNode, switchNode, changeNode, commentNode], ex.flow, creds);
    await (helper.getNode(nodeOf(ex, 'intercom-sip-account').id) as any).ready;

    const types = (b: Baresip): string[] => b.events.map((e) => String(e.type));
    panel.command('dial', `sip:door@127.0.0.1:${port}`);
    await waitFor(() => types(reception).includes('CALL_ESTABLISHED') || undefined, 'reception answers the forwarded call', 10000);
    await waitFor(() => types(panel).includes('CALL_ESTABLISHED') || undefined, 'panel connected', 5000);
    await delay(500); // audio running, so baresip sends RFC 4733 events

    // the visitor presses 9 on the panel: the panel's (inbound) leg must not open the door
    panel.command('sndcode', '9');
    await delay(250);
    panel.command('sndcode', '');
    await delay(1200);
    expect(requests).toEqual([]);

    reception.command('sndcode', '9');
    await delay(250);
    reception.command('sndcode', '');
    await waitFor(() => requests.length > 0 || undefined, '2N switch request', 5000);
    await delay(800); // a second request (retry, a duplicated key) would arrive by now
    expect(requests).toEqual(['GET /api/switch/ctrl?switch=1&action=trigger']);

    const events = await waitFor(() => {
      try {
        const lines = readFileSync(journalFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        return lines.some((e) => e.event === 'open') ? lines : undefined;
      } catch {
        return undefined;
      }
    }, 'open event in the journal', 5000);
    expect(events!.find((e) => e.event === 'open')).toMatchObject({ result: 'ok', door: 'office_entrance' });
    expect(events!.some((e) => e.result === 'forward')).toBe(true);
  });
});
