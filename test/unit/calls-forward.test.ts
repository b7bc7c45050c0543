/** The forward queue policy on an injected clock: who rings when, who gets CANCEL. */
import type { Clock, TimerHandle } from '../../nodes/lib/sip/clock';
import { ForwardQueue } from '../../nodes/lib/calls/forward-queue';
import { lookupApartment, normalizeTarget, parseApartment, parseApartmentTable, parseTargets } from '../../nodes/lib/calls/forward-targets';

class FakeClock implements Clock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; h: object }> = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const h = {};
    this.timers.push({ at: this.t + ms, fn, h });
    return h;
  }
  clearTimeout(h: TimerHandle | undefined): void {
    this.timers = this.timers.filter((x) => x.h !== h);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

interface Leg {
  target: string;
  at: number;
}

function setup(targets: string[], opts: { mode: 'all' | 'sequential'; perTargetMs: number; monitor?: string; monitorMs?: number }) {
  const clock = new FakeClock();
  const dialed: Leg[] = [];
  const cancelled: string[] = [];
  const q = new ForwardQueue<Leg>(targets, opts, {
    dial: (target) => {
      if (target === 'bad') throw new Error('unroutable');
      const leg = { target, at: clock.now() };
      dialed.push(leg);
      return leg;
    },
    cancel: (leg) => cancelled.push(leg.target),
  }, clock);
  const events: string[] = [];
  q.on('answered', (_l: Leg, t: string) => events.push(`answered ${t}`));
  q.on('failed', (r: string) => events.push(`failed ${r}`));
  return { q, clock, dialed, cancelled, events };
}

describe('ForwardQueue', () => {
  test('one by one: 20 s each, the third answers, the first two were cancelled in turn', () => {
    const { q, clock, dialed, cancelled, events } = setup(['sip:1@10.0.0.1', '5588', 'sip:10.0.0.3'], { mode: 'sequential', perTargetMs: 20000 });
    q.start();
    expect(dialed.map((d) => d.target)).toEqual(['sip:1@10.0.0.1']);
    clock.advance(19999);
    expect(dialed).toHaveLength(1);
    clock.advance(1);
    expect(cancelled).toEqual(['sip:1@10.0.0.1']);
    expect(dialed.map((d) => `${d.target}@${d.at}`)).toEqual(['sip:1@10.0.0.1@0', '5588@20000']);
    clock.advance(20000);
    expect(cancelled).toEqual(['sip:1@10.0.0.1', '5588']);
    expect(q.legAnswered(dialed[2])).toBe(true);
    expect(events).toEqual(['answered sip:10.0.0.3']);
    clock.advance(60000);
    expect(dialed).toHaveLength(3);
    expect(cancelled).toHaveLength(2);
  });

  test('one by one: a busy target moves on at once, not after its ring time', () => {
    const { q, clock, dialed } = setup(['a1', 'sip:b@h', 'sip:c@h'].map((t) => (t === 'a1' ? '11' : t)), { mode: 'sequential', perTargetMs: 20000 });
    q.start();
    clock.advance(3000);
    q.legEnded(dialed[0]);
    expect(dialed.map((d) => `${d.target}@${d.at}`)).toEqual(['11@0', 'sip:b@h@3000']);
  });

  test('all at once: first answer wins, every other leg gets CANCEL, a late answer loses', () => {
    const { q, dialed, cancelled, events } = setup(['11', '12', '13'], { mode: 'all', perTargetMs: 30000 });
    q.start();
    expect(dialed.map((d) => d.target)).toEqual(['11', '12', '13']);
    expect(q.legAnswered(dialed[1])).toBe(true);
    expect(cancelled.sort()).toEqual(['11', '13']);
    expect(q.legAnswered(dialed[0])).toBe(false);
    expect(events).toEqual(['answered 12']);
  });

  test('all at once: nobody answers → all cancelled after the ring time, failed', () => {
    const { q, clock, cancelled, events } = setup(['11', '12'], { mode: 'all', perTargetMs: 30000 });
    q.start();
    clock.advance(30000);
    expect(cancelled.sort()).toEqual(['11', '12']);
    expect(events).toEqual(['failed no target answered']);
  });

  test('monitor first: the queue rings only after the monitor did not answer', () => {
    const { q, clock, dialed, events } = setup(['11', '12'], { mode: 'all', perTargetMs: 20000, monitor: 'sip:monitor@10.0.0.9', monitorMs: 15000 });
    q.start();
    expect(dialed.map((d) => d.target)).toEqual(['sip:monitor@10.0.0.9']);
    clock.advance(15000);
    expect(dialed.map((d) => `${d.target}@${d.at}`)).toEqual(['sip:monitor@10.0.0.9@0', '11@15000', '12@15000']);
    q.legAnswered(dialed[2]);
    expect(events).toEqual(['answered 12']);
  });

  test('monitor answers: the queue never rings', () => {
    const { q, clock, dialed } = setup(['11'], { mode: 'sequential', perTargetMs: 20000, monitor: '100' });
    q.start();
    q.legAnswered(dialed[0]);
    clock.advance(100000);
    expect(dialed).toHaveLength(1);
  });

  test('an unroutable target is skipped; stop() cancels what rings', () => {
    const { q, dialed, cancelled, events } = setup(['bad', '12'], { mode: 'sequential', perTargetMs: 20000 });
    q.start();
    expect(dialed.map((d) => d.target)).toEqual(['12']);
    q.stop('caller hung up');
    expect(cancelled).toEqual(['12']);
    expect(events).toEqual(['failed caller hung up']);
  });

  test('more than 8 targets or none is refused', () => {
    const nine = Array.from({ length: 9 }, (_, i) => String(10 + i));
    expect(() => setup(nine, { mode: 'all', perTargetMs: 1000 })).toThrow(/^calls\.tooManyTargets \(max=8, count=9\)/);
    expect(() => setup([], { mode: 'all', perTargetMs: 1000 })).toThrow(/^calls\.noTargets/);
  });
});

describe('BAS-IP targets and the apartment table', () => {
  test.each(['sip:1@192.168.1.65', 'sip:192.168.1.65', 'sip:5588@server', '5588', '192.168.1.65', 'hall', 'front.door_2'])('%s is a valid target', (t) => {
    expect(normalizeTarget(` ${t} `)).toBe(t);
  });
  test.each(['', 'http://x', 'sip:', 'sip:a b@c', '55 88', '<sip:1@h>', 'hall kitchen', '-hall', 'hall@x'])('%j is refused with a reason', (t) => {
    expect(() => normalizeTarget(t)).toThrow(/^calls\.(targetEmpty|badTarget) /);
  });
  test('lists: text or array, at most 8', () => {
    expect(parseTargets('sip:1@192.168.1.65, 5588\nsip:5589@server')).toEqual(['sip:1@192.168.1.65', '5588', 'sip:5589@server']);
    expect(parseTargets([5588, 'sip:192.168.1.65'])).toEqual(['5588', 'sip:192.168.1.65']);
    expect(() => parseTargets(Array(9).fill('1'))).toThrow(/^calls\.tooManyTargets/);
  });
  test('apartment numbers as dialled: floor digits then two apartment digits', () => {
    expect(parseApartment('223')).toEqual({ floor: 2, apartment: 23 });
    expect(parseApartment('1050')).toEqual({ floor: 10, apartment: 50 });
    expect(parseApartment('23')).toBeUndefined();
    expect(parseApartment('12a4')).toBeUndefined();
  });
  test('the table maps a dialled apartment to its queue; bad lines name the line', () => {
    const t = parseApartmentTable('# floor 2\n223: sip:5588@server, 5589\n1050 = sip:1@192.168.1.65\n');
    expect(lookupApartment(t, '223')).toEqual(['sip:5588@server', '5589']);
    expect(lookupApartment(t, '1050')).toEqual(['sip:1@192.168.1.65']);
    expect(lookupApartment(t, '0223')).toEqual(['sip:5588@server', '5589']);
    expect(lookupApartment(t, '224')).toBeUndefined();
    expect(() => parseApartmentTable('223: 1\nfoo: 2')).toThrow(/^calls\.apartmentLine \(line=2/);
    expect(() => parseApartmentTable('223: 1\n223: 2')).toThrow(/^calls\.apartmentTwice \(line=2/);
  });
});
