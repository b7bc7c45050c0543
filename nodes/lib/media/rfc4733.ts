/**
 * RFC 4733 telephone-events for DTMF: the receiving state machine that turns a stream of
 * event packets into exactly one event per key press, and the packet schedule for sending.
 *
 * Receive rules (RFC 4733 §2.5.2): all packets of one event share its RTP timestamp (the
 * event start); the duration grows; the end is marked by the E bit, sent three times
 * (§2.5.1.4). A new timestamp is a new event, so "99" is two presses even though the
 * digit is the same. A long press whose duration would overflow 16 bits continues with a
 * new timestamp and the same event code (§2.5.1.3) and is still one press.
 */
import { IntercomError } from '../core/errors';

export const DTMF_EVENTS = '0123456789*#ABCD';

export interface TelephoneEvent {
  event: number;
  end: boolean;
  volume: number;
  duration: number;
}

/** Parse the 4-byte event payload (§2.3); null if it is not a DTMF event we understand. */
export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | null {
  if (payload.length < 4) return null;
  const event = payload[0];
  if (event > 15) return null;
  return { event, end: (payload[1] & 0x80) !== 0, volume: payload[1] & 0x3f, duration: (payload[2] << 8) | payload[3] };
}

export function buildTelephoneEvent(e: TelephoneEvent): Buffer {
  return Buffer.from([e.event & 0xff, (e.end ? 0x80 : 0) | (e.volume & 0x3f), (e.duration >> 8) & 0xff, e.duration & 0xff]);
}

export interface DecodedDigit {
  digit: string;
  /** press length in ms (from the event's duration field, summed across overflow segments) */
  durationMs: number;
  /** true when the end packets never came and the press was closed by a timeout or a new event */
  endLost: boolean;
}

interface Current {
  ssrc: number;
  timestamp: number;
  event: number;
  /** samples in earlier overflow segments of the same press */
  before: number;
  duration: number;
  ended: boolean;
  lastSeen: number;
}

export interface Rfc4733DecoderOptions {
  /** close a press whose end packets were all lost after this much silence (ms) */
  endTimeoutMs?: number;
  now?: () => number;
}

/**
 * Feed every telephone-event packet (ssrc, RTP timestamp, payload) in arrival order; the
 * decoder calls onDigit once per press. Call tick() periodically (or on any packet) so a
 * press whose end packets were all lost is still reported.
 */
export class Rfc4733Decoder {
  private current?: Current;
  /** start timestamps of presses already reported (late redundant packets hit these) */
  private readonly reported: string[] = [];
  private readonly endTimeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly onDigit: (d: DecodedDigit) => void, opts: Rfc4733DecoderOptions = {}) {
    this.endTimeoutMs = opts.endTimeoutMs ?? 800;
    this.now = opts.now ?? Date.now;
  }

  push(ssrc: number, timestamp: number, payload: Uint8Array): void {
    const ev = parseTelephoneEvent(payload);
    if (!ev) return;
    const key = `${ssrc}:${timestamp}`;
    const now = this.now();
    const cur = this.current;
    if (cur && cur.ssrc === ssrc && cur.timestamp === timestamp) {
      // Same press: update duration; the first E bit reports it, the redundant ones are ignored.
      if (ev.event !== cur.event) return;
      cur.lastSeen = now;
      if (cur.ended) return;
      cur.duration = Math.max(cur.duration, ev.duration);
      if (ev.end) this.finish(cur, false);
      return;
    }
    if (this.reported.includes(key)) return; // a straggler of a press already reported
    if (cur && !cur.ended) {
      const gap = (timestamp - cur.timestamp) >>> 0;
      if (cur.ssrc === ssrc && ev.event === cur.event && gap > 0 && gap <= cur.duration + 1600) {
        // §2.5.1.3 long press: the duration overflowed and the sender started a new segment.
        this.markReported(cur);
        this.current = { ssrc, timestamp, event: ev.event, before: cur.before + gap, duration: ev.duration, ended: false, lastSeen: now };
        if (ev.end) this.finish(this.current, false);
        return;
      }
      // A new press while the old one never saw its end: report the old one now.
      this.finish(cur, true);
    }
    this.current = { ssrc, timestamp, event: ev.event, before: 0, duration: ev.duration, ended: false, lastSeen: now };
    if (ev.end) this.finish(this.current, false);
  }

  /** Close a press whose end never arrived. */
  tick(): void {
    const cur = this.current;
    if (cur && !cur.ended && this.now() - cur.lastSeen >= this.endTimeoutMs) this.finish(cur, true);
  }

  /** Report a pending press (call teardown). */
  flush(): void {
    const cur = this.current;
    if (cur && !cur.ended) this.finish(cur, true);
  }

  private markReported(c: Current): void {
    this.reported.push(`${c.ssrc}:${c.timestamp}`);
    if (this.reported.length > 16) this.reported.shift();
  }

  private finish(c: Current, endLost: boolean): void {
    c.ended = true;
    this.markReported(c);
    this.onDigit({ digit: DTMF_EVENTS[c.event], durationMs: Math.round((c.before + c.duration) / 8), endLost });
  }
}

export interface EventPacket {
  /** ms after the start of the press this packet is due */
  at: number;
  marker: boolean;
  /** the RTP timestamp offset from the press start (non-zero only after an overflow) */
  timestampOffset: number;
  payload: Buffer;
}

/**
 * The packet schedule for one press (§2.5.1): a packet every ptime with the duration so
 * far (first with the marker bit), then the final packet with E set, repeated three times
 * (§2.5.1.4) at the next packet times, all with the same timestamp and duration.
 */
export function eventPackets(digit: string, durationMs: number, ptimeMs = 20, volume = 10): EventPacket[] {
  const event = DTMF_EVENTS.indexOf(digit.toUpperCase());
  if (event < 0 || digit.length !== 1) throw new IntercomError('media.notDtmfDigit', { digit: String(digit).slice(0, 20) });
  const step = ptimeMs * 8;
  const total = Math.max(step, Math.round((durationMs * 8) / step) * step);
  const out: EventPacket[] = [];
  let segStart = 0;
  for (let d = step; d < total; d += step) {
    // §2.5.1.3: a segment may not exceed 0xFFFF; the next one restarts with a new timestamp.
    if (d - segStart > 0xffff) segStart = d - step;
    out.push({ at: (d - step) / 8, marker: d === step, timestampOffset: segStart, payload: buildTelephoneEvent({ event, end: false, volume, duration: d - segStart }) });
  }
  if (total - segStart > 0xffff) segStart = total - step;
  for (let i = 0; i < 3; i++) {
    out.push({ at: (total - step) / 8 + i * ptimeMs, marker: total === step && i === 0, timestampOffset: segStart, payload: buildTelephoneEvent({ event, end: true, volume, duration: total - segStart }) });
  }
  return out;
}
