/**
 * Two answered calls joined: audio and key presses relayed both ways (media/bridge.ts, on
 * the calls' CallMedia ports), and when one ends the other is hung up, because a panel
 * left talking to nobody keeps the door's line busy.
 */
import { IntercomError } from '../core/errors';
import { bridge, type Bridge } from '../media/bridge';
import type { CallMedia } from '../media/port';
import type { Call } from '../sip/call';

/** The media of an answered call; a call without (not answered yet) cannot be bridged or played to. */
export function mediaOf(call: Call): CallMedia {
  if (!call.media) throw new IntercomError('calls.noMedia', { call: call.id, state: call.state });
  return call.media;
}

export function bridgeCalls(a: Call, b: Call): Bridge {
  if (a === b) throw new IntercomError('calls.bridgeSelf');
  for (const c of [a, b]) if (c.state !== 'answered') throw new IntercomError('calls.bridgeNotAnswered', { call: c.id, state: c.state });
  const br = bridge(mediaOf(a), mediaOf(b));
  a.once('ended', () => b.hangup());
  b.once('ended', () => a.hangup());
  return br;
}
