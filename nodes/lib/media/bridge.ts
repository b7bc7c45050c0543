/**
 * An RTP relay between two calls (a panel and the phone that answered), on the CallMedia
 * port (port.ts): each leg's received audio is queued on the other leg's send clock,
 * translated between μ-law and A-law when the legs negotiated different laws.
 *
 * Key presses are relayed too (unless relayDtmf is false): the phone that answered a
 * forwarded panel call opens the door by pressing the panel's code, and RFC 4733 events
 * (and SIP INFO) are not audio, so they are re-sent on the other leg (as RFC 4733, or as
 * tones when that leg has no telephone-event); in-band tones already travel with the
 * audio. Each leg still reports its own 'dtmf' events to the flow.
 */
import { IntercomError } from '../core/errors';
import type { CallMedia, DtmfEvent, Law, VideoPacket } from './port';

export interface Bridge {
  /** packets relayed a→b and b→a, and key presses relayed */
  readonly counts: { aToB: number; bToA: number; dtmfAToB: number; dtmfBToA: number };
  unbridge(): void;
}

export interface BridgeOptions {
  relayDtmf?: boolean;
}

export function bridge(a: CallMedia, b: CallMedia, opts: BridgeOptions = {}): Bridge {
  if (a === b) throw new IntercomError('media.bridgeSelf');
  const counts = { aToB: 0, bToA: 0, dtmfAToB: 0, dtmfBToA: 0 };
  const relayKey = (to: CallMedia, ev: DtmfEvent, count: 'dtmfAToB' | 'dtmfBToA'): void => {
    // In-band tones already crossed with the audio; sending them again as events would
    // give the far end the same press twice.
    if (ev.method === 'inband') return;
    counts[count]++;
    // A leg on hold or already gone cannot take it; the flow still saw the key.
    to.sendDtmf(ev.digit, { durationMs: ev.durationMs }).catch(() => undefined);
  };
  const dtmfFromA = (ev: DtmfEvent): void => relayKey(b, ev, 'dtmfAToB');
  const dtmfFromB = (ev: DtmfEvent): void => relayKey(a, ev, 'dtmfBToA');
  if (opts.relayDtmf !== false) {
    a.on('dtmf', dtmfFromA);
    b.on('dtmf', dtmfFromB);
  }
  const fromA = (payload: Buffer, law: Law): void => {
    counts.aToB++;
    b.relayAudio(payload, law);
  };
  const fromB = (payload: Buffer, law: Law): void => {
    counts.bToA++;
    a.relayAudio(payload, law);
  };
  a.on('audio', fromA);
  b.on('audio', fromB);
  // Video (H.264) as it came, when both legs carry it; a viewer's keyframe request goes
  // to the other leg, whose sender makes the keyframe (RTCP PLI/FIR, RFC 4585/5104).
  const videoFromA = (pkt: VideoPacket): void => b.relayVideo?.(pkt);
  const videoFromB = (pkt: VideoPacket): void => a.relayVideo?.(pkt);
  const keyframeForA = (): void => b.requestKeyframe?.();
  const keyframeForB = (): void => a.requestKeyframe?.();
  a.on('video', videoFromA);
  b.on('video', videoFromB);
  a.on('keyframe-request', keyframeForA);
  b.on('keyframe-request', keyframeForB);
  // Ask at once: the viewer that just joined needs a keyframe to show anything.
  a.requestKeyframe?.();
  b.requestKeyframe?.();
  let done = false;
  const unbridge = (): void => {
    if (done) return;
    done = true;
    a.off('audio', fromA);
    b.off('audio', fromB);
    a.off('dtmf', dtmfFromA);
    b.off('dtmf', dtmfFromB);
    a.off('video', videoFromA);
    b.off('video', videoFromB);
    a.off('keyframe-request', keyframeForA);
    b.off('keyframe-request', keyframeForB);
    a.off('closed', unbridge);
    b.off('closed', unbridge);
  };
  // A leg that hangs up ends the bridge.
  a.once('closed', unbridge);
  b.once('closed', unbridge);
  return { counts, unbridge };
}
