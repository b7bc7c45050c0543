/**
 * The account's hardening as a flow sees it (issue #13): refusals come out of sip-in's
 * second output and into a journal, not out of the first; the registrar's lockout file
 * is in the user dir; trace/clear keeps the trace on; a P2P account with a password says so.
 */
import * as dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { getNode, helper } from '../helpers/node-red';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import journalNode = require('../../nodes/intercom-journal');

const nodes = [accountNode, inNode, journalNode];

function invite(port: number, from: number, callId: string, sdp: string): string {
  return [
    `INVITE sip:door@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${from};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    `From: "Scanner" <sip:9999@127.0.0.1>;tag=${randomBytes(4).toString('hex')}`,
    'To: <sip:door@127.0.0.1>',
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:9999@127.0.0.1:${from}>`,
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(sdp)}`,
    '',
    sdp,
  ].join('\r\n');
}
const G729 = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 18', 'a=rtpmap:18 G729/8000', ''].join('\r\n');

describe('SIP account hardening in a running Node-RED', () => {
  let dir: string;
  let port: number;
  let sock: dgram.Socket;
  const replies: string[] = [];
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sip-hard-'));
    helper.settings({ userDir: dir });
    await new Promise<void>((r) => helper.startServer(() => r()));
    port = await freeSipPort();
    sock = dgram.createSocket('udp4');
    replies.length = 0;
    sock.on('message', (m) => replies.push(m.toString()));
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  });
  afterEach(async () => {
    sock.close();
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    helper.settings({});
    rmSync(dir, { recursive: true, force: true });
  });

  test('an INVITE without a codec we carry: 488 at once, nothing on the call output, one journal line per source', async () => {
    await helper.load(nodes, [
      { id: 'acc', type: 'intercom-sip-account', name: 'door', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', allowedSources: '127.0.0.1' },
      { id: 'in', type: 'intercom-sip-in', account: 'acc', wires: [['calls'], ['journal']] },
      { id: 'journal', type: 'intercom-journal', file: 'journal.jsonl', wires: [['journaled']] },
      { id: 'calls', type: 'helper' },
      { id: 'journaled', type: 'helper' },
    ]);
    await (getNode('acc') as any).ready;
    const calls: unknown[] = [];
    const journaled: any[] = [];
    getNode('calls').on('input', (m: unknown) => calls.push(m));
    getNode('journaled').on('input', (m: unknown) => journaled.push(m));
    // Four, inside the source's burst: more would be held off as a flood before the SDP is read.
    for (let i = 0; i < 4; i++) sock.send(invite(port, sock.address().port, `g729-${i}`, G729), port, '127.0.0.1');
    await waitFor(() => replies.filter((r) => r.startsWith('SIP/2.0 488 ')).length === 4, '4 × 488');
    // The journal line comes after its write; then a moment for any second one to show.
    await waitFor(() => journaled.length > 0, 'the journal line');
    await delay(300);
    expect(replies.every((r) => r.startsWith('SIP/2.0 488 '))).toBe(true);
    expect(calls).toEqual([]);
    expect(journaled).toHaveLength(1);
    expect(journaled[0]).toMatchObject({ topic: 'refused', payload: 'no-common-codec', call: { source: `127.0.0.1:${sock.address().port}`, from: { user: '9999' }, status: 488 } });
    const lines = readFileSync(path.join(dir, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([expect.objectContaining({ event: 'refused', caller: '9999', result: 'no-common-codec', source: `127.0.0.1:${sock.address().port}` })]);
  });

  test('trace/clear empties the trace and leaves it on; an unknown state is a 400', async () => {
    await helper.load(nodes, [{ id: 'acc', type: 'intercom-sip-account', name: 'door', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', trace: true }]);
    await (getNode('acc') as any).ready;
    sock.send(invite(port, sock.address().port, 'trace-1', G729), port, '127.0.0.1');
    await waitFor(() => replies.length > 0, 'an answer');
    expect((await helper.request().post('/intercom-sip-account/acc/trace/clear').expect(200)).body).toEqual({ enabled: true, entries: 0 });
    sock.send(invite(port, sock.address().port, 'trace-2', G729), port, '127.0.0.1');
    await waitFor(() => replies.length > 1, 'a second answer');
    expect((await helper.request().post('/intercom-sip-account/acc/trace/off').expect(200)).body).toEqual({ enabled: false, entries: 2 });
    expect((await helper.request().post('/intercom-sip-account/acc/trace/clear').expect(200)).body).toEqual({ enabled: false, entries: 0 });
    const bad = await helper.request().post('/intercom-sip-account/acc/trace/maybe').expect(400);
    expect(bad.text).toBe('trace state must be on, off or clear');
  });

  test('a P2P account that still holds a password says so at deploy, and never uses it', async () => {
    await helper.load(nodes, [{ id: 'acc', type: 'intercom-sip-account', name: 'door', mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door' }], { acc: { password: 'Unused-Secret' } });
    const acc = getNode('acc') as any;
    await acc.ready;
    const warned = acc.warn.args.map((a: unknown[]) => String(a[0]));
    expect(warned).toEqual(['a password is stored, but P2P (direct calls to this IP) never sends one: open the account and click Done to remove it']);
    expect(acc.account.config.password).toBeUndefined();
  });

  test('a registrar lockout goes out as a security event and is kept in the user dir', async () => {
    await helper.load(
      nodes,
      [
        { id: 'acc', type: 'intercom-sip-account', name: 'reg', mode: 'registrar', transport: 'udp', bindAddress: '127.0.0.1', bindPort: port, user: 'door', domain: '127.0.0.1', registrarUsers: 'panel' },
        { id: 'in', type: 'intercom-sip-in', account: 'acc', wires: [[], ['sec']] },
        { id: 'sec', type: 'helper' },
      ],
      { acc: { registrarPasswords: 'panel:Panel-Secret-9' } },
    );
    const acc = getNode('acc') as any;
    await acc.ready;
    const guard = acc.account.registrar.guard;
    const events: any[] = [];
    getNode('sec').on('input', (m: unknown) => events.push(m));
    // Ten failures through the account's own guard, as the registrar counts them.
    for (let i = 0; i < 9; i++) guard.fail('127.0.0.9', 'panel');
    const sent = await new Promise<string>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.bind(0, '127.0.0.9', () => {
        const me = `127.0.0.9:${s.address().port}`;
        const reg = (cseq: number, auth?: string) =>
          [
            'REGISTER sip:127.0.0.1 SIP/2.0',
            `Via: SIP/2.0/UDP ${me};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
            'Max-Forwards: 70',
            'From: <sip:panel@127.0.0.1>;tag=abc',
            'To: <sip:panel@127.0.0.1>',
            'Call-ID: lock-1',
            `CSeq: ${cseq} REGISTER`,
            `Contact: <sip:panel@${me}>`,
            ...(auth ? [`Authorization: ${auth}`] : []),
            'Content-Length: 0',
            '',
            '',
          ].join('\r\n');
        s.on('message', (m) => {
          const t = m.toString();
          const www = /\r\nWWW-Authenticate: Digest ([^\r]+)/.exec(t)?.[1];
          if (www) {
            const nonce = /nonce="([^"]+)"/.exec(www)![1];
            s.send(reg(2, `Digest username="panel", realm="127.0.0.1", nonce="${nonce}", uri="sip:127.0.0.1", response="00000000000000000000000000000000", algorithm=MD5, qop=auth, nc=00000001, cnonce="x"`), port, '127.0.0.1');
          } else {
            s.close();
            resolve(t.split('\r\n')[0]);
          }
        });
        s.send(reg(1), port, '127.0.0.1');
      });
    });
    expect(sent).toBe('SIP/2.0 403 Forbidden');
    await waitFor(() => events.length === 1, 'the lockout event');
    expect(events[0]).toMatchObject({ topic: 'lockout', payload: 'source', call: { account: 'reg', source: expect.stringMatching(/^127\.0\.0\.9:/) } });
    expect(events[0].note).toMatch(/^locked out until \d{4}-/);
    const file = path.join(dir, 'intercom-sip', 'guard-acc.json');
    await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').includes('127.0.0.9'), 'the lockout on disk');
    expect(readFileSync(file, 'utf8')).not.toContain('Panel-Secret-9');
  });
});
