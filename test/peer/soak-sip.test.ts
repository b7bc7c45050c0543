/**
 * A short soak in the suite (the long one with baresip beside it is `npm run bench
 * sip-soak`): 3,000 calls from sipp at 150 a second, each with a second of G.711 audio to
 * our SIP account (its own process, bench/_sip-uas.js) and ours back. Once every
 * transaction has expired (Timer J, 64·T1: T1 is 150 ms here, so 9.6 s instead of the
 * RFC's 32 s; the transactions run the same code either way), nothing may be left of them: no call, no
 * transaction, the same descriptors, the heap back within 2 MB of where it was after the
 * warm-up (a leak of a few hundred bytes per call shows as more), and no call ended
 * by no-ack or rtp-timeout.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeWithPeers } from '../helpers/peers';
import { delay } from '../helpers/wait';

// the benchmarks' own helpers: the same UAS process and sipp runner
const { startOurUas, runSipp } = require('../../bench/_lib.js');
const { writePcmuPcap } = require('../../bench/_pcap.js');

jest.setTimeout(240_000);
const MB = 1024 * 1024;

describeWithPeers(['sipp'], 'soak: 3,000 calls with audio', () => {
  test('nothing of them is left once their transactions expired', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-'));
    const pcap = path.join(dir, 'a.pcap');
    writePcmuPcap(pcap, 1);
    const xml = path.join(dir, 'uac-rtp.xml');
    fs.writeFileSync(xml, fs.readFileSync(path.join(__dirname, '..', '..', 'bench', 'sip', 'uac-rtp.xml'), 'utf8').replace(/@PCAP@/g, pcap));
    const T1 = 150;
    const uas = await startOurUas({ UAS_MAX_CALLS: '1000', UAS_T1_MS: String(T1) });
    const expired = 64 * T1 + 2000;
    try {
      const load = (calls: number, rate: number) => runSipp(uas.port, { scenario: xml, calls, rate, limit: 1000, extra: ['-d', '1000'], timeout: '300s' });
      const warm = await load(500, 100);
      expect(warm.failed).toBe(0);
      await delay(expired);
      const base = await uas.cmd('gc');
      const run = await load(3000, 150);
      const busy = await uas.cmd('stats');
      await delay(expired);
      const end = await uas.cmd('gc');
      console.log(`soak: ${run.ok}/3000 ok, ${run.failed} failed, ended ${JSON.stringify(busy.ended)}; heap ${(base.heapUsed / MB).toFixed(1)} → ${(end.heapUsed / MB).toFixed(1)} MB, RSS ${(base.rss / MB).toFixed(1)} → ${(end.rss / MB).toFixed(1)} MB (peak +${((busy.rss - base.rss) / MB).toFixed(1)}), fds ${base.fds} → ${end.fds}, event-loop delay max ${busy.lag.max.toFixed(0)} ms`);
      expect(run.failed).toBe(0);
      expect(run.ok).toBe(3000);
      expect((busy.ended['no-ack'] ?? 0) + (busy.ended['rtp-timeout'] ?? 0)).toBe(0);
      expect(end.activeCalls).toBe(0);
      expect(end.tx).toEqual({ clients: 0, servers: 0 });
      expect(end.fds).toBe(base.fds);
      expect(end.heapUsed - base.heapUsed).toBeLessThan(2 * MB);
    } finally {
      await uas.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
