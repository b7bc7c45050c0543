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
});
