/**
 * The shared send clock (media/clock.ts): calls started at different moments come due on
 * the same grid point and one timer serves them; nothing is left armed once the last call
 * stops (a redeploy leaves no timer); one clock's error does not stop the others.
 */
import { SharedClock, sharedClock, GRID_MS } from '../../nodes/lib/media/clock';
import { MediaTransmitter, type MediaSink } from '../../nodes/lib/media/transmitter';
import type { NegotiatedAudio } from '../../nodes/lib/media/offer-answer';

const audio: NegotiatedAudio = { codec: { name: 'PCMU', pt: 0 }, remoteAddress: '127.0.0.1', remotePort: 4000, remoteRtcpPort: 4001, ptime: 20, direction: 'sendrecv' };

function transmitters(n: number, now: () => number, staggerMs: number) {
  const sends: { leg: number; at: number; ts: number }[] = [];
  const legs: MediaTransmitter[] = [];
  return {
    sends,
    legs,
    async start(): Promise<void> {
      for (let i = 0; i < n; i++) {
        const sink: MediaSink = { send: (_pt, _p, ts) => sends.push({ leg: i, at: now(), ts }), mediaTimestamp: () => 1000 * i };
        const tx = new MediaTransmitter({ now }, { audio: () => audio, tick: () => undefined, error: () => undefined });
        tx.negotiated(sink, audio, undefined);
        legs.push(tx);
        await new Promise((r) => setTimeout(r, staggerMs));
      }
    },
  };
}

describe('shared media clock', () => {
  it('starts clocks on the grid, so calls started apart send in the same wake-up', async () => {
    const now = (): number => Date.now();
    const spy = jest.spyOn(global, 'setTimeout');
    const t = transmitters(8, now, 3);
    await t.start();
    const before = spy.mock.calls.length;
    await new Promise((r) => setTimeout(r, 400));
    const timersArmed = spy.mock.calls.length - before;
    spy.mockRestore();
    for (const tx of t.legs) tx.close();
    // 8 legs × 20 packets in 400 ms; a timer each would arm ~160 timers, one clock ~20 (+1 for the test's own sleep)
    const perLeg = new Map<number, number>();
    for (const s of t.sends) perLeg.set(s.leg, (perLeg.get(s.leg) ?? 0) + 1);
    expect([...perLeg.values()].every((c) => c >= 15)).toBe(true);
    expect(timersArmed).toBeLessThan(40);
    // every leg's packets leave on grid points, and its timestamps step by exactly one packet
    for (let i = 0; i < 8; i++) {
      const mine = t.sends.filter((s) => s.leg === i);
      for (let k = 1; k < mine.length; k++) expect((mine[k].ts - mine[k - 1].ts) >>> 0).toBe(160);
    }
    expect(sharedClock(now).pending).toBe(0);
  });

  it('aligns to the grid', () => {
    expect(SharedClock.aligned(0)).toBe(0);
    expect(SharedClock.aligned(1)).toBe(GRID_MS);
    expect(SharedClock.aligned(GRID_MS)).toBe(GRID_MS);
    expect(SharedClock.aligned(1234567)).toBe(1234570);
    expect(SharedClock.aligned(1234567, 20)).toBe(1234580);
    expect(SharedClock.aligned(41, 0)).toBe(50);
  });

  it('runs every due clock even when one throws, and disarms when the last is cancelled', async () => {
    let t = 0;
    const now = (): number => t;
    const clock = new SharedClock(now);
    const ran: string[] = [];
    const a = (): void => {
      ran.push('a');
      throw new Error('boom');
    };
    const b = (): void => void ran.push('b');
    const c = (): void => void ran.push('c');
    clock.schedule(a, 10);
    clock.schedule(b, 10);
    clock.schedule(c, 50);
    t = 10;
    await new Promise((r) => setTimeout(r, 30));
    expect(ran).toEqual(['a', 'b']);
    expect(clock.pending).toBe(1);
    clock.cancel(c);
    expect(clock.pending).toBe(0);
    t = 100;
    await new Promise((r) => setTimeout(r, 80));
    expect(ran).toEqual(['a', 'b']);
  });

  describe('while a bridge relays straight through (directRelay)', () => {
    const te: NegotiatedAudio = { ...audio, telephoneEvent: 101 };
    afterEach(() => jest.useRealTimers());

    function relayLeg() {
      jest.useFakeTimers({ now: 1_000_000 });
      const now = (): number => Date.now();
      const sends: { at: number; pt: number; ts: number; first: number }[] = [];
      let ticks = 0;
      const sink: MediaSink = { send: (pt, p, ts) => sends.push({ at: now(), pt, ts, first: p[0] }), mediaTimestamp: () => 5000 };
      const tx = new MediaTransmitter({ now, directRelay: true }, { audio: () => te, tick: () => void ticks++, error: (e) => { throw e; } });
      tx.negotiated(sink, te, undefined);
      const frame = Buffer.alloc(160, 0x55);
      return { tx, sends, ticks: () => ticks, now, relay: (packets: number) => { for (let i = 0; i < packets; i++) { tx.relayAudio(frame, 'PCMU'); jest.advanceTimersByTime(20); } } };
    }

    it('lets the clock sleep: it wakes every few packet times, and sends nothing of its own', () => {
      const l = relayLeg();
      jest.advanceTimersByTime(20);
      const before = l.ticks();
      const sent = l.sends.length;
      l.relay(40);
      // 40 packet times of relayed audio: a clock that woke every one would tick 40 times; a
      // parked one wakes on the 100 ms grid (every 5 packet times), once or twice per grid point
      expect(l.ticks() - before).toBeLessThanOrEqual(10);
      expect(l.ticks() - before).toBeGreaterThanOrEqual(3);
      const during = l.sends.slice(sent);
      expect(during).toHaveLength(40);
      expect(during.every((s) => s.first === 0x55)).toBe(true);
      l.tx.close();
    });

    it('fills in silence within 10 packet times once the relay stops, on the media clock', () => {
      const l = relayLeg();
      l.relay(20);
      const last = l.sends[l.sends.length - 1];
      jest.advanceTimersByTime(400);
      const after = l.sends.filter((s) => s.at > last.at);
      expect(after[0].first).toBe(0xff); // μ-law silence
      // live for 5 packet times after the last, then the next point of the 100 ms grid
      expect(after[0].at - last.at).toBeLessThanOrEqual(200);
      expect(after[0].at % 100).toBe(0);
      // after it, one packet a packet time, timestamps 160 apart, never back into the relayed ones
      expect(((after[0].ts - last.ts) | 0) > 0).toBe(true);
      for (let k = 1; k < after.length; k++) {
        expect(after[k].at - after[k - 1].at).toBe(20);
        expect((after[k].ts - after[k - 1].ts) >>> 0).toBe(160);
      }
      l.tx.close();
    });

    it('a key press while the clock sleeps leaves on the next packet time, not when it would have woken', () => {
      const l = relayLeg();
      l.relay(10);
      const asked = l.now();
      void l.tx.sendDtmf('5');
      jest.advanceTimersByTime(20);
      const ev = l.sends.find((s) => s.pt === 101);
      expect(ev).toBeDefined();
      expect(ev!.at - asked).toBeLessThanOrEqual(20);
      l.tx.close();
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});
