/**
 * One call's side of the offer/answer exchange (RFC 3264): our SDP out, the peer's in, and
 * the audio both ends agreed on. It keeps what must last across re-INVITEs: the o= session
 * id with a version that goes up with every description we send (RFC 8866 §5.2), our last
 * offer (for the answer to it), and whether we hold the call (§8.4).
 */
import { randomInt } from 'node:crypto';
import { IntercomError } from '../core/errors';
import { acceptAnswer, answerOffer, createOffer, type CodecName, type LocalMediaParams, type NegotiatedAudio } from './offer-answer';
import { NotAcceptableHere } from './port';
import { buildSdp, parseSdp, SdpError, type SessionDescription } from './sdp';
import { acceptVideoAnswer, answerVideo, type NegotiatedVideo, offerVideo } from './video-negotiation';

export class Negotiation {
  private localOffer?: SessionDescription;
  private version = 0;
  private readonly sessionId = String(randomInt(1, 2 ** 31));
  private hold = false;
  /** what was agreed last; undefined until the first answer */
  audio?: NegotiatedAudio;
  /** the peer's last offer put the call on hold */
  remoteHold = false;
  /** the H.264 stream both ends agreed on, if any (video-negotiation.ts) */
  video?: NegotiatedVideo;

  constructor(private readonly localAddress: string, private readonly codecs?: CodecName[]) {}

  /** The peer's offer, read (488 when it cannot be). */
  readOffer(remoteSdp: string): SessionDescription {
    const offer = parse(remoteSdp);
    this.remoteHold = holds(offer);
    return offer;
  }

  /** The peer's offer → our answer, for an RTP port of ours. */
  answer(offer: SessionDescription, rtpPort: number, videoPort?: number): string {
    const { answer, audio } = answerOffer(offer, this.local(rtpPort));
    this.audio = audio;
    this.video = videoPort !== undefined ? answerVideo(offer, answer, videoPort, this.hold) : undefined;
    return buildSdp(answer);
  }

  offer(rtpPort: number, videoPort?: number): string {
    this.localOffer = createOffer(this.local(rtpPort));
    if (videoPort !== undefined) offerVideo(this.localOffer, videoPort, this.hold);
    return buildSdp(this.localOffer);
  }

  /** The peer's answer to our last offer. */
  acceptAnswer(remoteSdp: string): NegotiatedAudio {
    if (!this.localOffer) throw new IntercomError('media.answerWithoutOffer');
    const answer = parse(remoteSdp);
    this.audio = acceptAnswer(this.localOffer, answer);
    this.video = acceptVideoAnswer(this.localOffer, answer);
    return this.audio;
  }

  /**
   * Hold from our side (RFC 3264 §8.4): the next offer is sendonly and the next answer at
   * most sendonly; what is agreed now stops receiving at once.
   */
  setHold(on: boolean): void {
    this.hold = on;
    if (this.audio && on) {
      const d = this.audio.direction;
      this.audio = { ...this.audio, direction: d === 'sendrecv' ? 'sendonly' : d === 'recvonly' ? 'inactive' : d };
    }
  }

  private local(rtpPort: number): LocalMediaParams {
    return { address: this.localAddress, rtpPort, sessionId: this.sessionId, sessionVersion: ++this.version, codecs: this.codecs, hold: this.hold };
  }
}

/**
 * Whether an offer could be answered with these codecs, without a port or a session:
 * NotAcceptableHere (488) when it cannot be read or has no audio stream we carry.
 */
export function checkOffer(remoteSdp: string, codecs?: CodecName[]): void {
  answerOffer(parse(remoteSdp), { address: '0.0.0.0', rtpPort: 9, sessionId: '0', sessionVersion: 0, codecs });
}

/** RFC 3264 §8.4: a stream or the session sendonly or inactive, or the old (RFC 2543) c=0.0.0.0. */
export function holds(sd: SessionDescription): boolean {
  const directions = [sd.direction, ...sd.media.map((m) => m.direction)];
  const addresses = [sd.connection, ...sd.media.map((m) => m.connection)].map((c) => c?.address);
  return directions.some((d) => d === 'sendonly' || d === 'inactive') || addresses.includes('0.0.0.0');
}

/** Undecodable SDP is as unacceptable as SDP without a common codec: 488. */
function parse(remoteSdp: string): SessionDescription {
  try {
    return parseSdp(remoteSdp);
  } catch (err) {
    if (err instanceof SdpError) throw new NotAcceptableHere('media.malformedSdp', { detail: err.message }, { cause: err });
    throw err;
  }
}
