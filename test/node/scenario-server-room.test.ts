/**
 * examples/Security/"Server room - card, call security, PIN" with real peers: the card
 * reader's POST goes through the real `http in` node; an unknown card gets 403 and no call;
 * a known card gets 202 and the flow dials a baresip "security" phone (auto-answer), which
 * hears the prompt and types the PIN (RFC 4733 via ctrl_tcp sndcode). A wrong PIN opens
 * nothing; the right one makes exactly one request to a loopback 2N API stand-in, and the
 * journal holds card, open and the decisions. Changed for the test: addresses only (the PBX
 * (outbound proxy) and security's extension = the baresip phone), PIN as a credential.
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
import whitelistNode = require('../../nodes/intercom-whitelist');
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import journalNode = require('../../nodes/intercom-journal');
const switchNode = require('@node-red/nodes/core/function/10-switch.js');
const changeNode = require('@node-red/nodes/core/function/15-change.js');
const commentNode = require('@node-red/nodes/core/common/90-comment.js');
const coreHttpIn = require('@node-red/nodes/core/network/21-httpin.js');
// supertest comes with node-red-node-test-helper, without type declarations
const request = require('supertest') as (app: unknown) => { post(url: string): { send(body: unknown): Promise<{ status: number }> } };

/** The helper keeps RED.httpNode (where `http in` listens) to itself: catch it on load. */
let httpNode: unknown;
const httpInNode = (RED: { httpNode: unknown }): unknown => {
  httpNode = RED.httpNode;
  return coreHttpIn(RED);
};

jest.setTimeout(40000);
const file = 'Security/Server room - card, call security, PIN.json';

describeWithPeers(['baresip', 'sox'], 'server room scenario: card, call security, PIN', () => {
  let dir: string;
  let server: http.Server | undefined;
  let security: Baresip | undefined;
  afterEach(async () => {
    await security?.stop();
    security = undefined;
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  test('unknown card: 403, no call; known card: security types a wrong then the right PIN, one open', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'scenario-server-room-'));
    const requests: string[] = [];
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.setHeader('Content-Type', 'application/json');
      res.end(req.url?.startsWith('/api/switch/ctrl') ? '{"success":true}' : '{"success":false}');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => helper.startServer(() => r()));
    security = await startBaresip(mkdtempSync(path.join(dir, 'security-')), undefined, [], 'auto');

    const ex = loadExample(file);
    const port = await freeSipPort();
    helper.settings({ userDir: dir });
    const journalFile = path.join(dir, 'intercom-journal.jsonl');
    const extension = nodeOf(ex, 'change', 'security ext. 201');
    expect(extension.rules[0].to).toBe('201');
    // only what the example's comment says to set; security's extension → the baresip phone (its user is "phone")
    const creds = setAfterImport(ex, {
      'server room': { bindAddress: '127.0.0.1', bindPort: port, server: `127.0.0.1:${security.sipPort}`, allowedSources: '127.0.0.1' },
      'Server room': { host: `http://127.0.0.1:${(server.address() as { port: number }).port}` },
      'security ext. 201': { rules: [{ ...extension.rules[0], to: `sip:phone@127.0.0.1:${security.sipPort}` }] },
      'guard PIN': { pins: 'guard:2580' },
    });
    const flow = ex.flow;
    await helper.load([accountNode, inNode, callNode, dtmfNode, whitelistNode, doorNode, doorOpenNode, journalNode, switchNode, changeNode, commentNode, httpInNode], flow, creds);
    await (helper.getNode(flow.find((n) => n.type === 'intercom-sip-account')!.id) as any).ready;
    const types = (): string[] => security!.events.map((e) => String(e.type));

    const unknown = await request(httpNode).post('/intercom/card').send({ card: 'FFFFFFFF' });
    expect(unknown.status).toBe(403);
    await delay(1000);
    expect(types()).not.toContain('CALL_INCOMING');

    const known = await request(httpNode).post('/intercom/card').send({ card: '04A1B2C3D4' });
    expect(known.status).toBe(202);
    await waitFor(() => types().includes('CALL_ESTABLISHED') || undefined, 'security answers', 8000);
    await delay(800); // the prompt plays; baresip's audio runs so its keys go out as RFC 4733
    const press = async (digits: string): Promise<void> => {
      for (const d of digits) {
        security!.command('sndcode', d);
        await delay(200);
        security!.command('sndcode', '');
        await delay(200);
      }
    };
    await press('1111');
    await delay(800);
    expect(requests).toEqual([]);
    await press('2580');
    await waitFor(() => requests.length > 0 || undefined, '2N switch request', 5000);
    await delay(500);
    expect(requests).toEqual(['GET /api/switch/ctrl?switch=1&action=trigger']);

    // the open is journaled after the switch answered, in the journal's next batch
    const lines = (await waitFor(() => {
      const l = readFileSync(journalFile, 'utf8').trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
      return l.some((e) => e.event === 'open') ? l : undefined;
    }, 'open event in the journal', 5000))!;
    const cards = lines.filter((e) => e.event === 'card');
    expect(cards.map((e) => e.result)).toEqual(['denied', 'calling security', 'dial']);
    expect(lines.find((e) => e.event === 'open')).toMatchObject({ result: 'ok', door: 'server_room' });
    expect(lines.filter((e) => e.result === 'allowed' || e.result === 'denied').length).toBeGreaterThanOrEqual(2);
    // a PIN never reaches the journal
    expect(readFileSync(journalFile, 'utf8')).not.toMatch(/2580|1111/);
  });
});
