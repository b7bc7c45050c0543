/**
 * examples/SIP/"Answer then send DTMF 9 and hang up" deployed as shipped (only the
 * account moved to a free loopback port): a baresip panel calls, the flow answers, waits,
 * sends 9 (baresip must report exactly that digit), and hangs up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { helper } from '../helpers/node-red';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from '../peer/media-baresip';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');
const delayNode = require('@node-red/nodes/core/function/89-delay.js');
const commentNode = require('@node-red/nodes/core/common/90-comment.js');

jest.setTimeout(30000);
const file = path.join(__dirname, '..', '..', 'examples', 'SIP', 'Answer then send DTMF 9 and hang up.json');

describeWithPeers(['baresip', 'sox'], 'example: answer, wait, DTMF 9, hang up', () => {
  let baresip: Baresip | undefined;
  let dir: string;
  beforeEach(async () => {
    await new Promise<void>((r) => helper.startServer(() => r()));
    dir = mkdtempSync(path.join(tmpdir(), 'integ-example-'));
  });
  afterEach(async () => {
    await baresip?.stop();
    baresip = undefined;
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('baresip calls, hears DTMF 9 about a second after the answer, then gets BYE', async () => {
    const flow = JSON.parse(readFileSync(file, 'utf8')) as Array<Record<string, any>>;
    const chain = flow.filter((n) => n.type !== 'tab' && n.type !== 'comment');
    expect(chain.map((n) => `${n.type}${n.action ? ':' + n.action : ''}`)).toEqual(['intercom-sip-account', 'intercom-sip-in', 'intercom-sip-call:answer', 'delay', 'intercom-sip-call:dtmf', 'intercom-sip-call:hangup']);
    const port = await freeSipPort();
    const acc = flow.find((n) => n.type === 'intercom-sip-account')!;
    Object.assign(acc, { bindAddress: '127.0.0.1', bindPort: port, allowedSources: '127.0.0.1' });
    await helper.load([accountNode, inNode, callNode, delayNode, commentNode], flow);
    await (helper.getNode(acc.id) as any).ready;
    baresip = await startBaresip(dir);
    baresip.command('dial', `sip:1@127.0.0.1:${port}`);
    const ev = (t: string) => baresip!.events.find((e) => e.type === t) as Record<string, unknown> | undefined;
    await waitFor(() => ev('CALL_ESTABLISHED'), 'answered', 8000);
    const answeredAt = Date.now();
    await waitFor(() => ev('CALL_DTMF_START'), 'DTMF at the panel', 5000);
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(800);
    await waitFor(() => ev('CALL_CLOSED'), 'BYE at the panel', 5000);
    expect(baresip.events.filter((e) => e.type === 'CALL_DTMF_START').map((e) => String(e.param))).toEqual(['9']);
    const errors = ['e7a1d0c0f9b20004', 'e7a1d0c0f9b20006', 'e7a1d0c0f9b20007'].flatMap((id) => ((helper.getNode(id) as any).error as { args: unknown[][] }).args);
    expect(errors).toEqual([]);
  });
});
