/**
 * H.264 video beside the audio stream (RFC 3264 offer/answer, RFC 6184 H.264 over RTP):
 * what a panel with a camera or a SIP video phone sends. We never decode or encode video:
 * a bridge relays the packets to the other leg as they came, so we take exactly one H.264
 * payload type the peer offers (packetization-mode 1, which browsers and panels share,
 * else 0) with its own fmtp, and offer Constrained Baseline 3.1 when we offer. RTCP
 * feedback nack/pli and ccm fir (RFC 4585, RFC 5104) let a viewer ask for a keyframe.
 */
import { NotAcceptableHere } from './port';
import type { Direction, SdpMedia, SessionDescription } from './sdp';

export interface NegotiatedVideo {
  pt: number;
  fmtp?: string;
  remoteAddress: string;
  remotePort: number;
  remoteRtcpPort: number;
  /** ours: may we send, do we expect to receive */
  direction: Direction;
}

const OUR_PT = 96;
const OUR_FMTP = 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1';
const FEEDBACK = ['nack', 'nack pli', 'ccm fir'];

function isPlainRtp(proto: string): boolean {
  return proto === 'RTP/AVP' || proto === 'RTP/AVPF';
}

function h264Types(m: SdpMedia): number[] {
  const pts = m.formats.filter((f) => /^\d{1,3}$/.test(f)).map(Number);
  const h264 = pts.filter((pt) => /^h264$/i.test(m.rtpmap.get(pt)?.encoding ?? '') && m.rtpmap.get(pt)?.clockRate === 90000);
  // Prefer packetization-mode 1 (FU-A, what browsers take), then whatever H.264 is offered.
  return [...h264.filter((pt) => /packetization-mode=1/.test(m.fmtp.get(pt) ?? '')), ...h264.filter((pt) => !/packetization-mode=1/.test(m.fmtp.get(pt) ?? ''))];
}

function mirror(d: Direction): Direction {
  return d === 'sendonly' ? 'recvonly' : d === 'recvonly' ? 'sendonly' : d;
}

function videoMedia(port: number, proto: string, pt: number, fmtp: string | undefined, direction: Direction): SdpMedia {
  const m: SdpMedia = { type: 'video', port, proto, formats: [String(pt)], rtpmap: new Map([[pt, { encoding: 'H264', clockRate: 90000 }]]), fmtp: new Map(), direction, attributes: FEEDBACK.map((f) => `rtcp-fb:${pt} ${f}`) };
  if (fmtp) m.fmtp.set(pt, fmtp);
  return m;
}

function negotiated(sd: SessionDescription, m: SdpMedia, pt: number, direction: Direction): NegotiatedVideo {
  const c = m.connection ?? sd.connection;
  if (!c) throw new NotAcceptableHere('media.noConnection');
  return { pt, fmtp: m.fmtp.get(pt), remoteAddress: c.address, remotePort: m.port, remoteRtcpPort: m.rtcpPort ?? m.port + 1, direction };
}

/** The offer's first video stream we can relay (plain RTP, H.264), or undefined. */
export function offeredVideo(offer: SessionDescription): { index: number; pt: number } | undefined {
  for (const [index, m] of offer.media.entries()) {
    if (m.type !== 'video' || m.port === 0 || !isPlainRtp(m.proto)) continue;
    const pt = h264Types(m)[0];
    if (pt !== undefined) return { index, pt };
  }
  return undefined;
}

/**
 * Put our video stream into an answer whose video section was declined (answerOffer
 * declines every m= line but audio): the same payload type and fmtp the peer offered.
 */
export function answerVideo(offer: SessionDescription, answer: SessionDescription, localPort: number, hold: boolean): NegotiatedVideo | undefined {
  const v = offeredVideo(offer);
  if (!v) return undefined;
  const om = offer.media[v.index];
  let dir = mirror(om.direction ?? offer.direction ?? 'sendrecv');
  if (hold) dir = dir === 'sendrecv' ? 'sendonly' : dir === 'recvonly' ? 'inactive' : dir;
  answer.media[v.index] = videoMedia(localPort, om.proto, v.pt, om.fmtp.get(v.pt), dir);
  return negotiated(offer, om, v.pt, dir);
}

/** Add our video stream to an offer. */
export function offerVideo(offer: SessionDescription, localPort: number, hold: boolean): void {
  offer.media.push(videoMedia(localPort, 'RTP/AVP', OUR_PT, OUR_FMTP, hold ? 'sendonly' : 'sendrecv'));
}

/** The answer to our video offer: undefined when it declined video (audio goes on alone). */
export function acceptVideoAnswer(offer: SessionDescription, answer: SessionDescription): NegotiatedVideo | undefined {
  const index = offer.media.findIndex((m) => m.type === 'video' && m.port !== 0);
  const am = index >= 0 ? answer.media[index] : undefined;
  if (!am || am.type !== 'video' || am.port === 0 || !isPlainRtp(am.proto)) return undefined;
  const pt = h264Types(am).find((p) => p === OUR_PT) ?? h264Types(am)[0];
  if (pt === undefined) return undefined;
  return negotiated(answer, am, pt, mirror(am.direction ?? answer.direction ?? 'sendrecv'));
}

/** RTCP PLI (RFC 4585 §6.3.1): "send a keyframe", from `sender` about `media`. */
export function buildPli(sender: number, media: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x81; // V=2, FMT=1
  b[1] = 206; // PSFB
  b.writeUInt16BE(2, 2);
  b.writeUInt32BE(sender >>> 0, 4);
  b.writeUInt32BE(media >>> 0, 8);
  return b;
}

/** RTCP FIR (RFC 5104 §4.3.1), for senders that honour FIR and not PLI. */
export function buildFir(sender: number, media: number, seq: number): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x84; // V=2, FMT=4
  b[1] = 206;
  b.writeUInt16BE(4, 2);
  b.writeUInt32BE(sender >>> 0, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(media >>> 0, 12);
  b[16] = seq & 0xff;
  return b;
}
