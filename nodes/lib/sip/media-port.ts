/**
 * The seam between SIP signaling (nodes/lib/sip) and media (nodes/lib/media).
 * Signaling never parses SDP bodies beyond handing them here; media never sees SIP.
 * The account creates one CallMedia per call through the injected MediaFactory.
 */
import type { EventEmitter } from 'node:events';

export type DtmfMethod = 'rfc4733' | 'info' | 'inband';

export interface DtmfEvent {
  digit: string; // 0-9 * # A-D
  method: DtmfMethod;
  durationMs?: number;
  at: number; // Date.now() when detected
}

/** Thrown by answer()/setRemoteAnswer() when no codec is in common: signaling answers 488. */
export class NotAcceptableHere extends Error {
  readonly status = 488;
}

export interface CallMediaContext {
  callId: string;
  direction: 'inbound' | 'outbound';
  /** local address the SIP transport is bound to, used in SDP c= / o= lines */
  localAddress: string;
  /** account-level DTMF send method */
  dtmfSend?: 'rfc4733' | 'info';
}

/**
 * One call's media. Events: 'dtmf' (DtmfEvent, one per key press whichever way it came),
 * 'rtp-start', 'rtp-timeout' ({ silentMs }: the peer stopped sending, signaling hangs up),
 * 'audio' (payload Buffer, law: the received G.711 frames a bridge relays),
 * 'error' (Error), 'closed'.
 */
export interface CallMedia extends EventEmitter {
  /** Remote offer in → local answer out (inbound INVITE, or re-INVITE for hold/refresh). */
  answer(remoteSdp: string): Promise<string>;
  /** Local offer for an outbound INVITE (or an INVITE without SDP). */
  offer(): Promise<string>;
  /** Remote answer to our offer. */
  setRemoteAnswer(remoteSdp: string): Promise<void>;
  /** Send a DTMF digit by RFC 4733 (the SIP layer handles 'info' itself). */
  sendDtmf?(digits: string, opts?: { durationMs?: number }): Promise<void>;
  /** Play a prompt (file path or built-in name) into the call. */
  play?(source: string): Promise<void>;
  /**
   * SIP INFO DTMF body (RFC 2976 INFO, application/dtmf-relay or application/dtmf): the
   * media side reports it as a 'dtmf' event, de-duplicated against RFC 4733 and in-band.
   * true when the body was a digit.
   */
  receiveInfo?(contentType: string, body: string): boolean;
  /** Our side on hold (RFC 3264 §8.4): the next offer/answer is at most sendonly. */
  setHold?(on: boolean): void;
  close(): Promise<void>;
}

export interface MediaFactory {
  create(ctx: CallMediaContext): CallMedia;
}
