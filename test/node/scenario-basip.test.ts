/**
 * examples/BAS-IP/"Apartment forward queue" with real peers: a baresip panel dials
 * apartment 223; the apartment's indoor monitor (baresip, never answers) rings first, then
 * the queue one by one: the first phone never answers, the second auto-answers and is bridged
 * to the panel; "forwarded" is journaled. Changed for the test: addresses (the Apartments
 * table and the monitor point at the baresips) and the ring times (20 s → 1.5 s) so the
 * test stays short.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadExample, nodeOf, setAfterImport } from '../helpers/examples';
import { helper } from '../helpers/node-red';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from '../peer/media-baresip';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');
import journalNode = require('../../nodes/intercom-journal');
const switchNode = require('@node-red/nodes/core/function/10-switch.js');
const changeNode = require('@node-red/nodes/core/function/15-change.js');
const commentNode = require('@node-red/nodes/core/common/90-comment.js');

jest.setTimeout(40000);
const file = 'BAS-IP/Apartment forward queue.json';

describeWithPeers(['baresip', 'sox'], 'BAS-IP scenario: apartment forward queue', () => {
  let dir: string;
  const peers: Baresip[] = [];
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('223: monitor first, then phone 1 rings out, phone 2 answers; forwarded is journaled', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'scenario-basip-'));
    const start = async (mode: 'auto' | 'manual'): Promise<Baresip> => {
      const b = await startBaresip(mkdtempSync(path.join(dir, 'p-')), undefined, [], mode);
      peers.push(b);
      return b;
    };
    const [panel, monitor, phone1, phone2] = await Promise.all([start('auto'), start('manual'), start('manual'), start('auto')]);
    await new Promise<void>((r) => helper.startServer(() => r()));
    const uri = (b: Baresip): string => `sip:phone@127.0.0.1:${b.sipPort}`;

    const ex = loadExample(file);
    const port = await freeSipPort();
    helper.settings({ userDir: dir });
    const journalFile = path.join(dir, 'intercom-journal.jsonl');
    const monitorRule = nodeOf(ex, 'change', 'monitor first (223)').rules[0];
    expect(nodeOf(ex, 'intercom-sip-call', 'apartments queue').apartments).toMatch(/^223: /m);
    // only what the example's comment says to set
    const creds = setAfterImport(ex, {
      'panel line': { bindAddress: '127.0.0.1', bindPort: port, allowedSources: '127.0.0.1' },
      'monitor first (223)': { rules: [{ ...monitorRule, to: uri(monitor) }] },
      'apartments queue': { apartments: `223: ${uri(phone1)}, ${uri(phone2)}\n1050: ${uri(phone2)}`, ringTime: 1.5, monitorTime: 1.5 },
    });
    await helper.load([accountNode, inNode, callNode, journalNode, switchNode, changeNode, commentNode], ex.flow, creds);
    await (helper.getNode(nodeOf(ex, 'intercom-sip-account').id) as any).ready;

    const types = (b: Baresip): string[] => b.events.map((e) => String(e.type));
    const t0 = Date.now();
    panel.command('dial', `sip:223@127.0.0.1:${port}`);
    await waitFor(() => types(phone2).includes('CALL_ESTABLISHED') || undefined, 'phone 2 answers', 12000);
    // monitor then phone 1 (each 1.5 s): phone 2 cannot have answered before ~3 s
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2800);
    for (const b of [monitor, phone1]) {
      expect(types(b)).toContain('CALL_INCOMING');
      expect(types(b)).not.toContain('CALL_ESTABLISHED');
    }
    await waitFor(() => types(panel).includes('CALL_ESTABLISHED') || undefined, 'panel bridged', 3000);
    const lines = await waitFor(() => {
      try {
        const l = readFileSync(journalFile, 'utf8').trim().split('\n').map((x) => JSON.parse(x) as Record<string, unknown>);
        return l.some((e) => e.result === 'forwarded') ? l : undefined;
      } catch {
        return undefined;
      }
    }, 'forwarded in the journal', 5000);
    expect(lines!.filter((e) => e.result === 'forward-failed')).toEqual([]);
  });
});
