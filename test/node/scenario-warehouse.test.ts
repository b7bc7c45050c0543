/**
 * examples/Warehouse/"Driver calls the gate - whitelist and 5 opens" with a real SIP peer
 * (sipp as the driver's call arriving from the PBX) and a loopback stand-in for the 2N
 * Access Unit API: a listed driver (8 495 ...) is answered and key 5 (SIP INFO) makes exactly
 * one switch request; an unlisted one gets 603 and nothing opens. Both decisions are
 * journaled. Only addresses are changed; the PBX server is a closed loopback port.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadExample, nodeOf, setAfterImport } from '../helpers/examples';
import { helper } from '../helpers/node-red';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort, freeUdpPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');
import dtmfNode = require('../../nodes/intercom-dtmf');
import whitelistNode = require('../../nodes/intercom-whitelist');
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import journalNode = require('../../nodes/intercom-journal');
import { fromHeader, inviteXml, runSippUac } from '../helpers/sipp-xml';
const switchNode = require('@node-red/nodes/core/function/10-switch.js');
const changeNode = require('@node-red/nodes/core/function/15-change.js');
const commentNode = require('@node-red/nodes/core/common/90-comment.js');

jest.setTimeout(40000);
const file = 'Warehouse/Driver calls the gate - whitelist and 5 opens.json';

const driver = (user: string) => ({ user, display: 'Driver' });
const invite = (user: string): string => inviteXml(driver(user), { dtmf: true });
const inDialog = (user: string, cseq: string, extra = '', body = ''): string => `<send retrans="500"><![CDATA[
      ${cseq.split(' ')[1]} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${fromHeader(driver(user))}
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: ${cseq}
      Max-Forwards: 70
      ${extra}Content-Length: [len]
${body ? '\n      ' + body : ''}
    ]]></send>`;

/** A listed driver: answered, presses 5 (SIP INFO, RFC 6086 dtmf-relay), hangs up. */
const allowed = (user: string): string => `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="driver allowed">
  ${invite(user)}
  <recv response="200" rtd="true"/>
  ${inDialog(user, '1 ACK').replace('<send retrans="500">', '<send>')}
  <pause milliseconds="300"/>
  ${inDialog(user, '2 INFO', 'Content-Type: application/dtmf-relay\n      ', 'Signal=5\n      Duration=160')}
  <recv response="200"/>
  <pause milliseconds="1500"/>
  ${inDialog(user, '3 BYE')}
  <recv response="200"/>
</scenario>`;

/** An unlisted caller: must be declined with 603 (RFC 3261 §21.6.2). */
const denied = (user: string): string => `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="driver denied">
  ${invite(user)}
  <recv response="603"/>
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      ${fromHeader(driver(user))}
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  <pause milliseconds="100"/>
</scenario>`;

describeWithPeers(['sipp'], 'warehouse scenario: driver calls the gate', () => {
  let dir: string;
  let server: http.Server | undefined;
  let requests: string[];
  let port: number;
  let journalFile: string;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'scenario-warehouse-'));
    requests = [];
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.setHeader('Content-Type', 'application/json');
      res.end(req.url?.startsWith('/api/switch/ctrl') ? '{"success":true}' : '{"success":false}');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => helper.startServer(() => r()));
    const ex = loadExample(file);
    port = await freeSipPort();
    const closedPbx = await freeUdpPort();
    helper.settings({ userDir: dir });
    journalFile = path.join(dir, 'intercom-journal.jsonl');
    // only what the example's comment says to set
    const creds = setAfterImport(ex, {
      gate: { bindAddress: '127.0.0.1', bindPort: port, server: `127.0.0.1:${closedPbx}`, allowedSources: '127.0.0.1' },
      'Warehouse barrier': { host: `http://127.0.0.1:${(server.address() as { port: number }).port}` },
    });
    await helper.load([accountNode, inNode, callNode, dtmfNode, whitelistNode, doorNode, doorOpenNode, journalNode, switchNode, changeNode, commentNode], ex.flow, creds);
    await (helper.getNode(nodeOf(ex, 'intercom-sip-account').id) as any).ready;
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const sipp = (xml: string): Promise<void> => runSippUac(xml, { dir, port, service: '301', timeoutS: 15 });
  const journal = (): Array<Record<string, unknown>> => readFileSync(journalFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

  test('a listed driver (8 495 ...) is answered and key 5 opens the barrier once', async () => {
    await sipp(allowed('84951234567'));
    // the barrier's request and the journal's batched write may come after sipp is done
    await waitFor(() => requests.length > 0 && journal().some((e) => e.event === 'open'), 'the barrier opened and journaled', 5000);
    await delay(300); // a second request (a retry, a duplicated key) would arrive by now
    expect(requests).toEqual(['GET /api/switch/ctrl?switch=1&action=trigger']);
    const lines = journal();
    expect(lines.find((e) => e.event === 'ring')).toMatchObject({ result: 'allowed' });
    expect(lines.find((e) => e.event === 'open')).toMatchObject({ result: 'ok', door: 'warehouse_barrier' });
  });

  test('an unlisted caller gets 603 Decline and nothing opens', async () => {
    await sipp(denied('88120000000'));
    await waitFor(() => journal().some((e) => e.event === 'ring'), 'the call in the journal', 5000);
    await delay(300);
    expect(requests).toEqual([]);
    const lines = journal();
    expect(lines.find((e) => e.event === 'ring')).toMatchObject({ result: 'denied' });
    expect(lines.some((e) => e.event === 'open')).toBe(false);
  });
});
