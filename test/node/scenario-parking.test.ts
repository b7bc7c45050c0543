/**
 * examples/Parking/"Barrier by time window" with a real SIP peer (sipp as the call from the
 * PBX / GSM gateway) and a loopback stand-in for the Shelly Gen2 RPC API. Inside the window
 * a listed caller gets 603 (the call stays free) and the barrier gets exactly one
 * Switch.Set; an unlisted caller gets 486; outside the window a listed caller is redirected
 * (302) to security and nothing opens. Changed for the test: addresses, and the weekly
 * hours set to "all day" / "closed" so the outcome does not depend on when the test runs.
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
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');
import whitelistNode = require('../../nodes/intercom-whitelist');
import timeWindowNode = require('../../nodes/intercom-time-window');
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import journalNode = require('../../nodes/intercom-journal');
import { fromHeader, inviteXml, runSippUac } from '../helpers/sipp-xml';
const changeNode = require('@node-red/nodes/core/function/15-change.js');
const commentNode = require('@node-red/nodes/core/common/90-comment.js');

jest.setTimeout(40000);
const file = 'Parking/Barrier by time window.json';

/** One INVITE from `user`, the final answer `code` expected, ACKed (RFC 3261 §17.1.1.3). */
const call = (user: string, code: number): string => `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="parking ${code}">
  ${inviteXml({ user })}
  <recv response="${code}">${code === 302 ? '\n    <action><ereg regexp="sip:security@" search_in="hdr" header="Contact:" check_it="true" assign_to="c"/></action>\n  ' : ''}</recv>
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      ${fromHeader({ user })}
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  <pause milliseconds="100"/>${code === 302 ? '\n  <Reference variables="c"/>' : ''}
</scenario>`;

describeWithPeers(['sipp'], 'parking scenario: barrier by time window', () => {
  let dir: string;
  let server: http.Server | undefined;
  let requests: string[];
  let port: number;
  let journalFile: string;
  const deploy = async (hours: string): Promise<void> => {
    dir = mkdtempSync(path.join(tmpdir(), 'scenario-parking-'));
    requests = [];
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        requests.push(`${req.method} ${req.url} ${body}`);
        res.setHeader('Content-Type', 'application/json');
        res.end('{"was_on":false}');
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => helper.startServer(() => r()));
    const ex = loadExample(file);
    port = await freeSipPort();
    helper.settings({ userDir: dir });
    journalFile = path.join(dir, 'intercom-journal.jsonl');
    const week = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, hours]));
    // only what the example's comment says to set
    const creds = setAfterImport(ex, {
      parking: { bindAddress: '127.0.0.1', bindPort: port, allowedSources: '127.0.0.1' },
      'Parking barrier': { host: `http://127.0.0.1:${(server.address() as { port: number }).port}` },
      'parking hours': { ...week, exceptions: '' },
    });
    await helper.load([accountNode, inNode, callNode, whitelistNode, timeWindowNode, doorNode, doorOpenNode, journalNode, changeNode, commentNode], ex.flow, creds);
    await (helper.getNode(nodeOf(ex, 'intercom-sip-account').id) as any).ready;
  };
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const sipp = (xml: string): Promise<void> => runSippUac(xml, { dir, port, service: 'parking', timeoutS: 10 });
  const journal = (): Array<Record<string, unknown>> => readFileSync(journalFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

  test('in the window: a listed caller gets 603 and one Switch.Set; an unlisted caller gets 486', async () => {
    await deploy('all day');
    await sipp(call('84951234567', 603));
    await waitFor(() => requests.length > 0, 'the Switch.Set', 5000);
    await delay(500); // a second request (a retry) would arrive by now
    expect(requests).toEqual(['POST /rpc/Switch.Set {"id":0,"on":true,"toggle_after":2}']);
    await sipp(call('88120000000', 486));
    // the journal writes in batches: wait for both calls' lines
    await waitFor(() => journal().filter((e) => e.event === 'ring').length >= 4 && journal().some((e) => e.event === 'open'), 'both calls in the journal', 5000);
    await delay(300);
    expect(requests).toHaveLength(1);
    const lines = journal();
    expect(lines.filter((e) => e.event === 'ring').map((e) => e.result)).toEqual(['in-window', 'allowed', 'in-window', 'denied']);
    expect(lines.find((e) => e.event === 'open')).toMatchObject({ result: 'ok', door: 'parking_barrier' });
  });

  test('outside the window: even a listed caller is redirected to security (302), nothing opens', async () => {
    await deploy('closed');
    await sipp(call('84951234567', 302));
    await waitFor(() => journal().some((e) => e.event === 'ring'), 'the call in the journal', 5000);
    await delay(300);
    expect(requests).toEqual([]);
    expect(journal().filter((e) => e.event === 'ring').map((e) => e.result)).toEqual(['out-of-window']);
  });
});
