/**
 * The offer/answer model (RFC 3264) for one audio stream of G.711 plus telephone-events.
 * We carry PCMU and PCMA (RFC 3551 static types 0 and 8, or dynamic ones named so) and
 * RFC 4733 telephone-event at 8000 Hz with whatever payload type the peer picked.
 * Every other m= line (video, a second audio, SAVP) is declined with port 0 (§6).
 */
import { NotAcceptableHere } from './port';
import { type Direction, type SdpMedia, type SessionDescription } from './sdp';

export type CodecName = 'PCMU' | 'PCMA';

export interface Codec {
  name: CodecName;
  pt: number;
}

/** What both ends agreed on for the audio stream; all the RTP session needs. */
export interface NegotiatedAudio {
  codec: Codec;
  /** RFC 4733 telephone-event payload type, if both ends carry it */
  telephoneEvent?: number;
  remoteAddress: string;
  remotePort: number;
  remoteRtcpPort: number;
  /** packetisation the remote asked to receive, in ms */
  ptime: number;
  /** our direction: may we send, do we expect to receive */
  direction: Direction;
}

export interface LocalMediaParams {
  address: string;
  rtpPort: number;
  sessionId: string;
  sessionVersion: number;
  /** codec preference, first is preferred when we offer; default PCMU, PCMA */
  codecs?: CodecName[];
  /** our telephone-event payload type when we offer (RFC 4733 is dynamic); default 101 */
  telephoneEventPt?: number;
  ptime?: number;
  /** we hold the call: offer/answer sendonly (or inactive if the peer already holds) */
  hold?: boolean;
}

const STATIC: Record<number, CodecName> = { 0: 'PCMU', 8: 'PCMA' };
const SUPPORTED_PTIMES = [10, 20, 30, 40, 50, 60];

function isRtpAvp(proto: string): boolean {
  // Plain RTP profiles only: SRTP (RTP/SAVP, UDP/TLS/RTP/SAVPF) needs keys we do not have.
  return proto === 'RTP/AVP' || proto === 'RTP/AVPF';
}

function codecOf(m: SdpMedia, pt: number): CodecName | 'telephone-event' | undefined {
  const map = m.rtpmap.get(pt);
  if (map) {
    const enc = map.encoding.toUpperCase();
    if (map.clockRate !== 8000 || (map.channels !== undefined && map.channels !== 1)) return undefined;
    if (enc === 'PCMU' || enc === 'PCMA') return enc;
    if (enc === 'TELEPHONE-EVENT') return 'telephone-event';
    return undefined;
  }
  // RFC 3551 §6: a static type needs no rtpmap.
  return STATIC[pt];
}

function payloadTypes(m: SdpMedia): number[] {
  return m.formats.filter((f) => /^\d{1,3}$/.test(f)).map(Number).filter((n) => n <= 127);
}

/** RFC 3264 §6.1: the direction we answer with, given theirs and whether we hold. */
function answerDirection(theirs: Direction, hold: boolean): Direction {
  const mine: Direction = theirs === 'sendonly' ? 'recvonly' : theirs === 'recvonly' ? 'sendonly' : theirs;
  if (!hold) return mine;
  if (mine === 'sendrecv') return 'sendonly';
  if (mine === 'recvonly') return 'inactive';
  return mine;
}

function effectiveDirection(sd: SessionDescription, m: SdpMedia): Direction {
  return m.direction ?? sd.direction ?? 'sendrecv';
}

function remoteAddressOf(sd: SessionDescription, m: SdpMedia): string {
  const c = m.connection ?? sd.connection;
  if (!c) throw new NotAcceptableHere('media.noConnection');
  return c.address;
}

function negotiatedFrom(sd: SessionDescription, m: SdpMedia, codec: Codec, te: number | undefined, dir: Direction): NegotiatedAudio {
  let address = remoteAddressOf(sd, m);
  let direction = dir;
  // RFC 3264 §8.4: the old (RFC 2543) hold signalled with c=0.0.0.0 means "do not send".
  if (address === '0.0.0.0') {
    address = '0.0.0.0';
    direction = direction === 'sendrecv' ? 'recvonly' : direction === 'sendonly' ? 'inactive' : direction;
  }
  const ptime = m.ptime !== undefined && SUPPORTED_PTIMES.includes(m.ptime) ? m.ptime : 20;
  return {
    codec,
    telephoneEvent: te,
    remoteAddress: address,
    remotePort: m.port,
    remoteRtcpPort: m.rtcpPort ?? m.port + 1,
    ptime,
    direction,
  };
}

function declined(m: SdpMedia): SdpMedia {
  // §6: a rejected stream keeps its media type and formats, with port 0.
  return { type: m.type, port: 0, proto: m.proto, formats: m.formats.length ? m.formats : ['0'], rtpmap: new Map(), fmtp: new Map(), attributes: [] };
}

function audioMedia(local: LocalMediaParams, codecs: Codec[], te: number | undefined, direction: Direction): SdpMedia {
  const m: SdpMedia = {
    type: 'audio',
    port: local.rtpPort,
    proto: 'RTP/AVP',
    formats: [],
    rtpmap: new Map(),
    fmtp: new Map(),
    ptime: local.ptime ?? 20,
    direction,
    attributes: [],
  };
  for (const c of codecs) {
    m.formats.push(String(c.pt));
    m.rtpmap.set(c.pt, { encoding: c.name, clockRate: 8000 });
  }
  if (te !== undefined) {
    m.formats.push(String(te));
    m.rtpmap.set(te, { encoding: 'telephone-event', clockRate: 8000 });
    // RFC 4733 §7.1.1: events 0-15 are the DTMF digits.
    m.fmtp.set(te, '0-15');
  }
  return m;
}

function describe(local: LocalMediaParams, media: SdpMedia[]): SessionDescription {
  const addrType = local.address.includes(':') ? 'IP6' : 'IP4';
  return {
    origin: { username: '-', sessionId: local.sessionId, sessionVersion: String(local.sessionVersion), addrType, address: local.address },
    sessionName: 'intercom',
    connection: { addrType, address: local.address },
    attributes: [],
    media,
  };
}

export interface AnswerResult {
  answer: SessionDescription;
  audio: NegotiatedAudio;
}

/**
 * Answer a remote offer. The first acceptable audio stream is taken, with the first codec
 * in the offer's order that we carry (§6.1 lets the answerer follow the offerer's
 * preference); all other streams are declined. No common codec → NotAcceptableHere (488).
 */
export function answerOffer(offer: SessionDescription, local: LocalMediaParams): AnswerResult {
  const allowed = new Set<CodecName>(local.codecs ?? ['PCMU', 'PCMA']);
  let audio: NegotiatedAudio | undefined;
  const media: SdpMedia[] = [];
  for (const m of offer.media) {
    if (audio || m.type !== 'audio' || m.port === 0 || !isRtpAvp(m.proto)) {
      media.push(declined(m));
      continue;
    }
    let codec: Codec | undefined;
    let te: number | undefined;
    for (const pt of payloadTypes(m)) {
      const c = codecOf(m, pt);
      if (c === 'telephone-event') te ??= pt;
      else if (c && allowed.has(c)) codec ??= { name: c, pt };
    }
    if (!codec) {
      media.push(declined(m));
      continue;
    }
    const theirs = effectiveDirection(offer, m);
    const dir = answerDirection(theirs, local.hold ?? false);
    audio = negotiatedFrom(offer, m, codec, te, dir);
    // The answer's direction is the one we state; what we actually do follows the
    // remote address too (c=0.0.0.0), held in `audio.direction`.
    media.push(audioMedia(local, [codec], te, dir));
  }
  if (!audio) throw new NotAcceptableHere('media.noCommonCodec');
  return { answer: describe(local, media), audio };
}

/** Our offer: one audio stream, G.711 in preference order, telephone-event. */
export function createOffer(local: LocalMediaParams): SessionDescription {
  const codecs = (local.codecs ?? ['PCMU', 'PCMA']).map((name) => ({ name, pt: name === 'PCMU' ? 0 : 8 }));
  return describe(local, [audioMedia(local, codecs, local.telephoneEventPt ?? 101, local.hold ? 'sendonly' : 'sendrecv')]);
}

/**
 * Take the remote answer to our offer (§6/§7): same number of m= lines, the audio stream
 * accepted with a codec we offered. Otherwise NotAcceptableHere.
 */
export function acceptAnswer(offer: SessionDescription, answer: SessionDescription): NegotiatedAudio {
  if (answer.media.length !== offer.media.length) {
    throw new NotAcceptableHere('media.answerStreams', { answer: answer.media.length, offer: offer.media.length });
  }
  const idx = offer.media.findIndex((m) => m.type === 'audio' && m.port !== 0);
  const om = offer.media[idx];
  const am = answer.media[idx];
  if (!om || !am || am.type !== 'audio' || am.port === 0 || !isRtpAvp(am.proto)) {
    throw new NotAcceptableHere('media.answerRejectsAudio');
  }
  const offered = new Map<number, CodecName | 'telephone-event'>();
  for (const pt of payloadTypes(om)) {
    const c = codecOf(om, pt);
    if (c) offered.set(pt, c);
  }
  let codec: Codec | undefined;
  let te: number | undefined;
  for (const pt of payloadTypes(am)) {
    // The answerer's rtpmap wins for the name; the type must be one we offered (§6.1).
    const c = codecOf(am, pt) ?? offered.get(pt);
    if (!c || offered.get(pt) !== c) continue;
    if (c === 'telephone-event') te ??= pt;
    else codec ??= { name: c, pt };
  }
  if (!codec) throw new NotAcceptableHere('media.answerCodec');
  // The answerer states its own direction; ours is the mirror of it.
  const theirs = effectiveDirection(answer, am);
  const ours: Direction = theirs === 'sendonly' ? 'recvonly' : theirs === 'recvonly' ? 'sendonly' : theirs;
  return negotiatedFrom(answer, am, codec, te, ours);
}
