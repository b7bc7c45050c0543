import { IntercomError } from '../../nodes/lib/core/errors';
import { collectorSettings, DtmfCollector, type CollectorClock, type CollectorConfig, type CollectorResult } from '../../nodes/lib/media/dtmf-collector';

/** A manual clock: timers fire only when the test advances time. */
class FakeClock implements CollectorClock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.t = due[1].at;
      this.timers.delete(due[0]);
      due[1].fn();
    }
    this.t = end;
  }
  get active(): number {
    return this.timers.size;
  }
}

function setup(config: CollectorConfig): { c: DtmfCollector<string>; out: Array<CollectorResult<string>>; clock: FakeClock; press: (keys: string, call?: string) => void } {
  const clock = new FakeClock();
  const out: Array<CollectorResult<string>> = [];
  const c = new DtmfCollector<string>(config, (r) => out.push(r), clock);
  const press = (keys: string, call = 'c1'): void => {
    for (const k of keys) c.push(call, k, 'rfc4733', `${call}:${k}`);
  };
  return { c, out, clock, press };
}

describe('DTMF collector', () => {
  test('digit mode: every press is its own result', () => {
    const { out, press } = setup({ mode: 'digit' });
    press('99#');
    expect(out.map((r) => [r.digits, r.reason])).toEqual([['9', 'digit'], ['9', 'digit'], ['#', 'digit']]);
  });

  test('a 4-digit PIN completes on the fourth digit, per call', () => {
    const { out, press } = setup({ mode: 'sequence', length: 4, interDigitTimeoutMs: 5000 });
    press('12', 'a');
    press('98', 'b');
    press('34', 'a');
    expect(out).toEqual([{ callKey: 'a', digits: '1234', reason: 'length', methods: ['rfc4733', 'rfc4733', 'rfc4733', 'rfc4733'], context: 'a:4' }]);
    press('76', 'b');
    expect(out[1]).toMatchObject({ callKey: 'b', digits: '9876', reason: 'length' });
  });

  test('terminator ends the sequence and is not part of it; a lone terminator gives an empty result', () => {
    const { out, press } = setup({ mode: 'sequence', terminator: '#' });
    press('4711#');
    press('#');
    expect(out.map((r) => [r.digits, r.reason, r.methods.length])).toEqual([['4711', 'terminator', 5], ['', 'terminator', 1]]);
  });

  test('inter-digit timeout restarts with each press', () => {
    const { out, press, clock } = setup({ mode: 'sequence', length: 4, interDigitTimeoutMs: 3000 });
    press('1');
    clock.advance(2900);
    press('2');
    clock.advance(2900);
    expect(out).toEqual([]);
    clock.advance(100);
    expect(out).toEqual([expect.objectContaining({ digits: '12', reason: 'inter-digit-timeout' })]);
    expect(clock.active).toBe(0);
  });

  test('total timeout counts from the first digit', () => {
    const { out, press, clock } = setup({ mode: 'sequence', terminator: '#', interDigitTimeoutMs: 3000, totalTimeoutMs: 5000 });
    press('1');
    clock.advance(2000);
    press('2');
    clock.advance(2000);
    press('3');
    clock.advance(1000);
    expect(out).toEqual([expect.objectContaining({ digits: '123', reason: 'total-timeout' })]);
    expect(clock.active).toBe(0);
  });

  test('a discarded call (hung up) gives nothing and leaves no timer', () => {
    const { c, out, press, clock } = setup({ mode: 'sequence', length: 4, interDigitTimeoutMs: 3000, totalTimeoutMs: 9000 });
    press('12');
    expect(c.count('c1')).toBe(2);
    c.discard('c1');
    clock.advance(10000);
    expect(out).toEqual([]);
    expect(clock.active).toBe(0);
    press('1', 'c2');
    c.close();
    expect(clock.active).toBe(0);
  });

  test('not-a-key input is refused; max length caps a runaway sequence', () => {
    const { c, out } = setup({ mode: 'sequence', terminator: '#', maxLength: 3 });
    expect(c.push('c1', 'x', 'info', '')).toBe(false);
    expect(c.push('c1', '12', 'info', '')).toBe(false);
    expect(c.push('c1', undefined as unknown as string, 'info', '')).toBe(false);
    for (const k of '1234') c.push('c1', k, 'info', '');
    expect(out.map((r) => [r.digits, r.reason])).toEqual([['123', 'max-length']]);
  });

  test('configurations that could never complete are refused', () => {
    expect(() => setup({ mode: 'sequence' })).toThrow(/^media\.sequenceNeverEnds/);
    expect(() => setup({ mode: 'sequence', terminator: '##' })).toThrow(/^media\.badTerminator/);
  });
});

describe('intercom-dtmf settings', () => {
  test('empty settings are the defaults; seconds become milliseconds', () => {
    expect(collectorSettings({})).toEqual({ scope: 'all', config: { mode: 'digit', length: 0, terminator: undefined, interDigitTimeoutMs: 5000, totalTimeoutMs: 0 } });
    expect(collectorSettings({ mode: 'sequence', scope: 'armed', length: '4', terminator: '#', interDigitTimeout: '0.15', totalTimeout: 20 })).toEqual({
      scope: 'armed',
      config: { mode: 'sequence', length: 4, terminator: '#', interDigitTimeoutMs: 150, totalTimeoutMs: 20000 },
    });
  });

  test.each([
    [{ length: 33 }, 'length'],
    [{ length: '2.5' }, 'length'],
    [{ interDigitTimeout: 'x' }, 'interDigitTimeout'],
    [{ totalTimeout: -1 }, 'totalTimeout'],
    [{ mode: 'pin' }, 'mode'],
    [{ scope: 'some' }, 'scope'],
  ])('%j is refused naming %s, not clamped or replaced', (bad, field) => {
    let err: unknown;
    try {
      collectorSettings(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IntercomError);
    expect((err as IntercomError).params.field).toBe(field);
  });
});
