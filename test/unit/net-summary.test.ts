/**
 * Summaries per source per interval (net/summary.ts): what a flood leaves in the log and
 * the journal. A clock we step stands in for the interval timer.
 */
import { LogSummary, SourceSummary, type SummaryClock } from '../../nodes/lib/net/summary';
import type { Logger } from '../../nodes/lib/core/log';
import { translate } from '../helpers/i18n';

function fakeClock(): SummaryClock & { advance(ms: number): void } {
  let now = 0;
  let timers: Array<{ at: number; fn: () => void }> = [];
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return t;
    },
    clearTimeout: (h) => {
      timers = timers.filter((t) => t !== h);
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = end;
    },
  };
}

describe('SourceSummary', () => {
  test('the first of a kind per source at once, the rest as one summary when the interval ends', () => {
    const clock = fakeClock();
    const out: string[] = [];
    const s = new SourceSummary<{ n: number }>((kind, v, r) => out.push(r ? `${kind} ${v.n} +${r.count}/${r.seconds}s/${r.sources}` : `${kind} ${v.n}`), { clock, intervalMs: 60_000 });
    for (let i = 0; i < 1000; i++) s.note('refused', '10.0.0.1', { n: i });
    s.note('refused', '10.0.0.2', { n: -1 });
    s.note('rate', '10.0.0.1', { n: 7 });
    expect(out).toEqual(['refused 0', 'refused -1', 'rate 7']);
    clock.advance(60_000);
    expect(out.slice(3)).toEqual(['refused 0 +999/60s/1']);
    // Still at it: one summary a minute, no first line again.
    for (let i = 0; i < 500; i++) s.note('refused', '10.0.0.1', { n: 2000 + i });
    clock.advance(60_000);
    expect(out.slice(4)).toEqual(['refused 0 +500/60s/1']);
    // Quiet for an interval: forgotten; the next one is a first line again.
    clock.advance(60_000);
    s.note('refused', '10.0.0.1', { n: 9 });
    expect(out.slice(5)).toEqual(['refused 9']);
  });

  test('beyond maxSources sources, the others are one summary that counts them', () => {
    const clock = fakeClock();
    const out: string[] = [];
    const s = new SourceSummary<{ a: string }>((_kind, v, r) => out.push(r ? `${v.a} +${r.count} from ${r.sources}` : v.a), { clock, maxSources: 3 });
    for (let i = 0; i < 1000; i++) s.note('refused', `10.0.${i >> 8}.${i & 255}`, { a: `10.0.${i >> 8}.${i & 255}` });
    expect(out).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2']);
    s.close();
    expect(out.slice(3)).toEqual(['10.0.0.3 +997 from 997']);
    s.note('refused', '10.0.0.1', { a: 'after close' });
    expect(out).toHaveLength(4);
  });
});

describe('LogSummary', () => {
  test('a flood of 30,000 refusals from one address is two lines, worded from the locale files', () => {
    const clock = fakeClock();
    const lines: string[] = [];
    const log: Logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (code, p) => lines.push(translate(`intercom.log.${code}`, p)) };
    const s = new LogSummary(log, { clock });
    for (let i = 0; i < 30_000; i++) s.warn('sip.inviteRefused', '192.168.1.66', { account: 'door', address: '192.168.1.66', port: 5060 + (i % 100) });
    clock.advance(20_000);
    s.close();
    expect(lines).toEqual(['door: INVITE from 192.168.1.66:5060 refused (source not allowed)', 'door: 29999 more INVITEs from 192.168.1.66 refused in the last 20 s (source not allowed)']);
  });

  test('every code the SIP side summarises has its summary texts', () => {
    const codes = ['sip.inviteRefused', 'sip.inviteUnknownUser', 'sip.inviteRate', 'sip.inviteSourceBusy', 'sip.inviteOverload', 'sip.inviteRefusedMedia'];
    for (const code of codes) {
      for (const suffix of ['Repeated', 'Sources']) {
        for (const count of [1, 2]) {
          const t = translate(`intercom.log.${code}${suffix}`, { count, seconds: 60, sources: 2, account: 'a', address: 'x' });
          expect(t).not.toMatch(/^intercom\./);
        }
      }
    }
  });
});
