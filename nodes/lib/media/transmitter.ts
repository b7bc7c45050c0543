/**
 * The send side of one call's media, on one clock: every ptime ms one packet leaves,
 * taken from (in this order) a DTMF event in progress or its tones, the prompt playing,
 * audio relayed from a bridged call, or silence. So the RTP timestamps advance exactly by
 * ptime and stay continuous across all of them (RFC 3550 §5.1), and RFC 4733 events keep
 * the start timestamp of their press (§2.5.1.1).
 */
import { IntercomError } from '../core/errors';
import { SharedClock, sharedClock } from './clock';
import { encode, SILENCE, transcode, type Law } from './g711';
import type { NegotiatedAudio } from './offer-answer';
import { eventPackets } from './rfc4733';
import { dtmfTone } from './tones';

/** Where packets go: an RTP session (rtp-session.ts) or a WebRTC sender (webrtc/). */
export interface MediaSink {
  send(payloadType: number, payload: Uint8Array, timestamp: number, marker?: boolean): unknown;
  /** the media clock now, in 8 kHz units */
  mediaTimestamp(): number;
}

const MAX_RELAY_BYTES = 8 * 200; // 200 ms of bridged audio, then the oldest is dropped
/** a direct relay counts as flowing until this many packet times pass without a packet */
const DIRECT_LIVE_PACKETS = 5;

/**
 * Silence of one packet, per law and size, made once: most packets of a door call are
 * silence, and the RTP packet copies its payload, so every call sends from the same bytes
 * instead of allocating 50 buffers a second each. Never written to.
 */
const silenceFrames = new Map<string, Buffer>();
function silence(law: Law, samples: number): Buffer {
  const key = `${law}:${samples}`;
  let b = silenceFrames.get(key);
  if (!b) silenceFrames.set(key, (b = Buffer.alloc(samples, SILENCE[law])));
  return b;
}

type TxItem = { kind: 'event'; payload: Buffer; marker: boolean; tsOffset: number; first: boolean; done?: () => void } | { kind: 'audio'; pcm: Int16Array; done?: () => void };

export interface TransmitterOptions {
  /** send silence when there is nothing else to send (keeps NAT bindings and panels happy) */
  sendSilence?: boolean;
  /** default press length for sendDtmf (ms) and the gap between digits */
  dtmfDurationMs?: number;
  dtmfGapMs?: number;
  /**
   * Bridged audio in this leg's law and packet size leaves at once instead of on the next
   * tick, its payload untouched: a bridge then adds no packet time of delay (a WebRTC leg
   * and the panel's leg relay G.711 straight through). Prompts and key presses still go on
   * the clock, and while they play the relayed audio waits behind them as before.
   */
  directRelay?: boolean;
  now: () => number;
}

export interface TransmitterHooks {
  /** what both ends agreed on now (it changes with re-INVITEs and hold) */
  audio(): NegotiatedAudio | undefined;
  /**
   * after each packet time (every few while a direct relay fills them): the receive side's
   * timers and the RTP watchdog run here
   */
  tick(): void;
  error(err: Error): void;
}

export class MediaTransmitter {
  private session?: MediaSink;
  private running = false;
  private readonly clock: SharedClock;
  private readonly onDue = (): void => this.onTick();
  private tick = 0;
  /** when the clock (re)started counting ticks */
  clockStart = 0;
  private tsBase = 0;
  private readonly txQueue: TxItem[] = [];
  private eventTs = 0;
  private prompt?: { bytes: Buffer; pos: number; done: () => void };
  private relay: Buffer[] = [];
  private relayBytes = 0; // unread bytes in `relay`
  private relayOffset = 0;
  /** direct relay: the timestamp after the last relayed packet, and until when it counts as live */
  private directEnd?: number;
  private directUntil = 0;
  /** the clock sleeps through packet times a direct relay fills (schedule) */
  private parked = false;
  private closed = false;

  constructor(private readonly opts: TransmitterOptions, private readonly hooks: TransmitterHooks) {
    this.clock = sharedClock(opts.now);
  }

  /** Start the clock on the first agreement; keep it continuous across a new ptime. */
  negotiated(session: MediaSink, audio: NegotiatedAudio, prev: NegotiatedAudio | undefined): void {
    if (prev && prev.ptime !== audio.ptime && this.running) {
      // New packetisation (re-INVITE): restart the tick count from the timestamp reached,
      // so timestamps stay continuous and the next packet is not scheduled in the past/future.
      this.tsBase = (this.tsBase + this.tick * prev.ptime * 8) >>> 0;
      this.clockStart = SharedClock.aligned(this.opts.now(), audio.ptime);
      this.tick = 0;
    }
    if (this.running || this.closed) return;
    this.running = true;
    this.session = session;
    this.tick = 0;
    // On the shared clock's grid: the calls' packets come due together (clock.ts).
    this.clockStart = SharedClock.aligned(this.opts.now(), audio.ptime);
    this.tsBase = session.mediaTimestamp();
    this.schedule();
  }

  private get ptime(): number {
    return this.hooks.audio()?.ptime ?? 20;
  }

  private canSend(): boolean {
    const d = this.hooks.audio()?.direction;
    return d === 'sendrecv' || d === 'sendonly';
  }

  private schedule(): void {
    const ptime = this.ptime;
    let at = this.clockStart + this.tick * ptime;
    // Relayed audio is leaving directly and nothing waits behind it: the clock has nothing
    // to send until the relay could have stopped (directUntil), so it sleeps till then
    // instead of waking every packet time; what queues meanwhile wakes it (wake()). It wakes
    // on a coarser grid (every DIRECT_LIVE_PACKETS packet times, counted from 0 like the
    // packet grid), so the parked clocks of all calls share one wake-up.
    if (this.directUntil > at && this.txQueue.length === 0 && !this.prompt && this.relayBytes === 0) {
      const park = DIRECT_LIVE_PACKETS * ptime;
      at = Math.max(at, Math.ceil(this.directUntil / park) * park);
      this.parked = true;
    }
    this.clock.schedule(this.onDue, at);
  }

  /** Something to send while the clock sleeps through a direct relay: on the next grid point. */
  private wake(): void {
    if (!this.parked || !this.running || this.closed) return;
    const ptime = this.ptime;
    this.clock.schedule(this.onDue, this.clockStart + Math.max(this.tick, Math.ceil((this.opts.now() - this.clockStart) / ptime)) * ptime);
  }

  private onTick(): void {
    if (this.closed) return;
    try {
      const ptime = this.ptime;
      if (this.parked) {
        // The packet times slept through had nothing to send: count them, so the timestamps
        // stay on the media clock (the timer may fire a millisecond early: round).
        this.parked = false;
        this.tick = Math.max(this.tick, Math.round((this.opts.now() - this.clockStart) / ptime));
      }
      const behind = Math.floor((this.opts.now() - this.clockStart) / ptime) - this.tick;
      // After a stall (GC, a busy event loop) skip ahead rather than burst packets.
      if (behind > 5) this.tick += behind;
      this.sendOne();
      this.hooks.tick();
    } catch (err) {
      this.hooks.error(err as Error);
    }
    this.tick++;
    this.schedule();
  }

  private sendOne(): void {
    const session = this.session;
    const audio = this.hooks.audio();
    if (!session || !audio) return;
    const samples = this.ptime * 8;
    let ts = (this.tsBase + this.tick * samples) >>> 0;
    // After relayed packets went out directly, never step back into their timestamps.
    if (this.directEnd !== undefined && ((ts - this.directEnd) | 0) < 0) ts = this.directEnd;
    const send = this.canSend();
    const item = this.txQueue.shift();
    // Relayed audio is flowing straight through: the clock has nothing to add.
    if (!item && !this.prompt && this.relayBytes === 0 && this.opts.now() < this.directUntil) return;
    if (item?.kind === 'event') {
      // RFC 4733 §2.5.1.1: every packet of a press carries the press's start timestamp.
      if (item.first) this.eventTs = ts;
      if (send && audio.telephoneEvent !== undefined) session.send(audio.telephoneEvent, item.payload, (this.eventTs + item.tsOffset) >>> 0, item.marker);
      item.done?.();
      return;
    }
    let payload: Buffer | undefined;
    if (item?.kind === 'audio') {
      payload = encode(audio.codec.name, item.pcm);
      item.done?.();
    } else if (this.prompt) {
      const p = this.prompt;
      if (p.pos + samples <= p.bytes.length) {
        payload = p.bytes.subarray(p.pos, p.pos + samples); // copied into the packet
      } else {
        payload = Buffer.alloc(samples, SILENCE[audio.codec.name]);
        p.bytes.copy(payload, 0, p.pos, p.pos + samples);
      }
      p.pos += samples;
      if (p.pos >= p.bytes.length) {
        this.prompt = undefined;
        p.done();
      }
    } else if (this.relayBytes > 0) {
      payload = this.takeRelay(samples, SILENCE[audio.codec.name]);
    } else if (this.opts.sendSilence !== false) {
      payload = silence(audio.codec.name, samples);
    }
    if (payload && send) session.send(audio.codec.pt, payload, ts);
  }

  /** Send digits by RFC 4733, or as in-band tones when the peer has no telephone-event. */
  async sendDtmf(digits: string, opts: { durationMs?: number } = {}): Promise<void> {
    if (typeof digits !== 'string' || !/^[0-9*#A-Da-d]{1,32}$/.test(digits)) throw new IntercomError('media.notDtmfDigits', { digits: String(digits).slice(0, 40) });
    const audio = this.hooks.audio();
    if (!audio || !this.session) throw new IntercomError('media.notNegotiated');
    if (!this.canSend()) throw new IntercomError('media.cannotSendDtmf', { direction: audio.direction });
    const duration = Math.min(Math.max(opts.durationMs ?? this.opts.dtmfDurationMs ?? 100, 40), 5000);
    const gapTicks = Math.max(1, Math.round((this.opts.dtmfGapMs ?? 80) / this.ptime));
    const silence = new Int16Array(this.ptime * 8);
    let last!: Promise<void>;
    for (const digit of digits.toUpperCase()) {
      if (audio.telephoneEvent !== undefined) {
        const packets = eventPackets(digit, duration, this.ptime);
        packets.forEach((p, i) => this.txQueue.push({ kind: 'event', payload: p.payload, marker: p.marker, tsOffset: p.timestampOffset, first: i === 0 }));
      } else {
        const tone = dtmfTone(digit, duration);
        const n = this.ptime * 8;
        for (let i = 0; i < tone.length; i += n) {
          const frame = new Int16Array(n);
          frame.set(tone.subarray(i, i + n));
          this.txQueue.push({ kind: 'audio', pcm: frame });
        }
      }
      for (let g = 0; g < gapTicks; g++) this.txQueue.push({ kind: 'audio', pcm: silence });
      last = new Promise<void>((resolve) => {
        (this.txQueue[this.txQueue.length - 1] as TxItem).done = resolve;
      });
    }
    this.wake();
    await last;
  }

  /** Play linear 8 kHz audio; resolves when it has been sent (or replaced, or stopped). */
  play(pcm: Int16Array, law: Law): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.prompt?.done(); // a new prompt replaces the one playing
      this.prompt = { bytes: encode(law, pcm), pos: 0, done: resolve };
      this.wake();
    });
  }

  stopPlayback(): void {
    const p = this.prompt;
    this.prompt = undefined;
    p?.done();
  }

  /** Queue audio from the other leg of a bridge (already in `law`); it is re-packetised here. */
  relayAudio(payload: Buffer, law: Law): void {
    const audio = this.hooks.audio();
    const mine = audio?.codec.name;
    if (!mine || this.closed) return;
    if (this.opts.directRelay && law === mine && this.session && audio && payload.length === audio.ptime * 8 && !this.prompt && this.txQueue.length === 0 && this.relayBytes === 0) {
      if (!this.canSend()) return;
      const now = this.opts.now();
      // The media clock now, but never overlapping the packet before (a burst keeps them back to back).
      let ts = (this.tsBase + Math.round((now - this.clockStart) * 8)) >>> 0;
      if (this.directEnd !== undefined && ((ts - this.directEnd) | 0) < 0) ts = this.directEnd;
      this.session.send(audio.codec.pt, payload, ts);
      this.directEnd = (ts + payload.length) >>> 0;
      // Live while packets keep coming, with room for their jitter: the clock adds nothing
      // (and sleeps) until 5 packet times pass without one, then fills in silence.
      this.directUntil = now + DIRECT_LIVE_PACKETS * audio.ptime;
      return;
    }
    const bytes = law === mine ? payload : transcode(law, mine, payload);
    this.relay.push(bytes);
    this.relayBytes += bytes.length;
    this.wake();
    // Bound the latency a bridge can build up: drop the oldest audio beyond 200 ms.
    while (this.relayBytes > MAX_RELAY_BYTES && this.relay.length > 1) {
      const dropped = this.relay.shift()!;
      this.relayBytes -= dropped.length - this.relayOffset;
      this.relayOffset = 0;
    }
  }

  private takeRelay(n: number, fill: number): Buffer {
    const out = Buffer.alloc(n, fill);
    let w = 0;
    while (w < n && this.relay.length) {
      const head = this.relay[0];
      const take = Math.min(n - w, head.length - this.relayOffset);
      head.copy(out, w, this.relayOffset, this.relayOffset + take);
      w += take;
      this.relayOffset += take;
      this.relayBytes -= take;
      if (this.relayOffset >= head.length) {
        this.relay.shift();
        this.relayOffset = 0;
      }
    }
    return out;
  }

  /** Stop the clock; everything waiting to be sent resolves. */
  close(): void {
    this.closed = true;
    this.clock.cancel(this.onDue);
    this.stopPlayback();
    for (const item of this.txQueue.splice(0)) item.done?.();
  }
}
