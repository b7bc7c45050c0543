/**
 * An RTP relay between two calls (a panel and the phone that answered): each leg's
 * received audio is queued on the other leg's send clock, translated between μ-law and
 * A-law when the legs negotiated different laws. DTMF stays per leg (each leg reports
 * its own 'dtmf' events); the flow decides what a digit means.
 */
import type { Law } from './g711';
import type { RtpCallMedia } from './call-media';

export interface Bridge {
  /** packets relayed a→b and b→a */
  readonly counts: { aToB: number; bToA: number };
  unbridge(): void;
}

export function bridge(a: RtpCallMedia, b: RtpCallMedia): Bridge {
  if (a === b) throw new Error('cannot bridge a call to itself');
  const counts = { aToB: 0, bToA: 0 };
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
  let done = false;
  const unbridge = (): void => {
    if (done) return;
    done = true;
    a.off('audio', fromA);
    b.off('audio', fromB);
    a.off('closed', unbridge);
    b.off('closed', unbridge);
  };
  // A leg that hangs up ends the bridge.
  a.once('closed', unbridge);
  b.once('closed', unbridge);
  return { counts, unbridge };
}
