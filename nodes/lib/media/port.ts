/**
 * The media port: what one call's media offers to the code that drives the call. SIP
 * signalling (nodes/lib/sip) hands SDP bodies and SIP INFO bodies through it and never
 * parses them; forwarding and bridging (nodes/lib/calls) relay audio and key presses and
 * play ring-back through it. Only this file of nodes/lib/media is known outside media/,
 * and sip/ imports its types only, so media can be replaced (or faked in tests) whole.
 * The account is given one MediaFactory and creates one CallMedia per call with it.
 */
import type { EventEmitter } from 'node:events';
import { IntercomError } from '../core/errors';
import type { Law } from './g711';

export type { Law };
export type DtmfMethod = 'rfc4733' | 'info' | 'inband';

export interface DtmfEvent {
  digit: string; // 0-9 * # A-D
  method: DtmfMethod;
  durationMs?: number;
  at: number; // Date.now() when detected
}

/**
 * No codec in common, or SDP we cannot read: signalling answers 488 Not Acceptable Here
 * (RFC 3261 §21.4.26). Code `media.<reason>` like every core error; `status` is what the
 * SIP side looks at, so it needs no import of this class.
 */
export class NotAcceptableHere extends IntercomError {
  readonly status = 488;
}

export interface CallMediaContext {
  callId: string;
  direction: 'inbound' | 'outbound';
  /** local address the SIP transport is bound to, used in SDP c= / o= lines */
  localAddress: string;
  /** account-level DTMF send method */
  dtmfSend?: 'rfc4733' | 'info';
  /** how the peer's signalling reaches us: 'ws'/'wss' is a browser (SIP over WebSocket) */
  transport?: 'udp' | 'tcp' | 'ws' | 'wss';
  /** the SDP offer an inbound call came with, if any (a WebRTC offer asks for WebRTC media) */
  remoteOffer?: string;
}

/** One video RTP packet as a bridge relays it: payload untouched, header fields as received. */
export interface VideoPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  payload: Buffer;
}

/** The events of one call's media. */
export interface CallMediaEvents {
  /** one per key press, whichever way it came (RFC 4733, SIP INFO, in-band) */
  dtmf: [ev: DtmfEvent];
  'rtp-start': [info: { from: { address: string; port: number } }];
  /** the peer stopped sending RTP while the call is up: signalling hangs up */
  'rtp-timeout': [info: { silentMs: number }];
  /** received G.711 frames in sequence order, for a bridge to relay */
  audio: [payload: Buffer, law: Law];
  error: [err: Error];
  closed: [];
  /** received video (H.264) packets, for a bridge to relay (media that carries video only) */
  video: [pkt: VideoPacket];
  /** the viewer asked for a keyframe (RTCP PLI/FIR): a bridge asks the sender's side */
  'keyframe-request': [];
  /**
   * A keyframe was asked of our peer: signalling also sends SIP INFO picture_fast_update
   * (RFC 5168), for panels that read that and not RTCP.
   */
  'picture-fast-update': [];
}

export interface CallMedia extends EventEmitter<CallMediaEvents> {
  /** Remote offer in → local answer out (inbound INVITE, or re-INVITE for hold/refresh). */
  answer(remoteSdp: string): Promise<string>;
  /** Local offer for an outbound INVITE (or an INVITE without SDP). */
  offer(): Promise<string>;
  /** Remote answer to our offer. */
  setRemoteAnswer(remoteSdp: string): Promise<void>;
  /** The G.711 law both ends agreed on; undefined until they have. */
  readonly law: Law | undefined;
  /** The peer's last offer holds the call (RFC 3264 §8.4: sendonly, inactive, or c=0.0.0.0). */
  readonly remoteHold: boolean;
  /** Send DTMF digits in the media (RFC 4733, or tones); the SIP layer sends INFO itself. */
  sendDtmf(digits: string, opts?: { durationMs?: number }): Promise<void>;
  /** Play a prompt (built-in name, tone spec or WAV path); resolves when it has been sent. */
  play(source: string): Promise<void>;
  /** Stop the prompt playing, if any (its play() resolves). */
  stopPlayback(): void;
  /** Send audio received on another call (in `law`) on this one: what a bridge does. */
  relayAudio(payload: Buffer, law: Law): void;
  /**
   * SIP INFO DTMF body (RFC 2976 INFO, application/dtmf-relay or application/dtmf): reported
   * as a 'dtmf' event, de-duplicated against RFC 4733 and in-band. true when it was a digit.
   */
  receiveInfo(contentType: string, body: string): boolean;
  /** The SIP INFO body that sends one key (the account's "SIP INFO" DTMF mode). */
  infoDtmf(digit: string, durationMs?: number): { contentType: string; body: string };
  /** Our side on hold (RFC 3264 §8.4): the next offer/answer is at most sendonly. */
  setHold(on: boolean): void;
  close(): Promise<void>;
  /** Video, for media that carries it: send a packet received on another call as it came. */
  relayVideo?(pkt: VideoPacket): void;
  /** Video: ask the sender for a keyframe (RTCP PLI, or what the peer wants). */
  requestKeyframe?(): void;
  /** Video flows on this call (both ends agreed on it). */
  readonly hasVideo?: boolean;
}

export interface MediaFactory {
  create(ctx: CallMediaContext): CallMedia;
  /**
   * Throws NotAcceptableHere when an offer could never be answered (no codec in common,
   * SDP that cannot be read), binding nothing, so signalling refuses the INVITE with 488
   * before it rings. Optional: without it the refusal comes when the flow answers.
   */
  check?(offerSdp: string): void;
}
