/**
 * The SDP of a WebRTC peer (RFC 8829/8834: UDP/TLS/RTP/SAVPF, ICE, a DTLS fingerprint),
 * read before werift sees it. werift matches codecs by mime type only and answers whatever
 * clock rate or profile came first, so the offer is cut down here to what the bridge
 * relays untouched: PCMU/PCMA and telephone-event at 8000 Hz for audio, one H.264 profile
 * a panel sends (packetization-mode 1) for video. An offer without a fingerprint or ICE
 * credentials, or with nothing we carry, is refused with 488 like any other SDP.
 * Candidates from addresses no browser has (unspecified, multicast, broadcast) are dropped.
 */
import * as net from 'node:net';
import { NotAcceptableHere } from './port';

/** A WebRTC offer: SRTP over DTLS with ICE, which a plain RTP leg cannot take. */
export function isWebRtcSdp(sdp: string | undefined): boolean {
  return !!sdp && /^m=(audio|video) \d+ UDP\/TLS\/RTP\/SAVPF? /m.test(sdp) && /^a=fingerprint:/m.test(sdp);
}

export interface WebRtcSdpInfo {
  /** the SDP with only what we relay */
  sdp: string;
  audio: boolean;
  video: boolean;
}

const AUDIO = /^(pcmu|pcma|telephone-event)\/8000(\/1)?$/i;

/** Address forms a browser's host, srflx or relay candidate can have. */
export function candidateAddressUsable(address: string): boolean {
  if (net.isIPv4(address)) {
    const [a, , , d] = address.split('.').map(Number);
    if (a === 0 || a >= 224 || d === 255) return false;
    return true;
  }
  if (net.isIPv6(address)) return !/^(ff|::$)/i.test(address);
  // mDNS names (RFC 8828 §5.2 "<uuid>.local") are resolved by werift's ICE: keep them.
  return /^[0-9a-f-]{36}\.local$/i.test(address);
}

/** Check and trim a remote WebRTC SDP (offer or answer). Throws NotAcceptableHere (488). */
export function trimWebRtcSdp(text: string, opts: { video: boolean }): WebRtcSdpInfo {
  if (typeof text !== 'string' || !text.trim()) throw new NotAcceptableHere('media.sdpEmpty');
  if (text.length > 64 * 1024) throw new NotAcceptableHere('media.sdpTooLarge', { bytes: text.length });
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  const session: string[] = [];
  const sections: string[][] = [];
  for (const l of lines) {
    if (l.startsWith('m=')) sections.push([l]);
    else if (sections.length) sections[sections.length - 1].push(l);
    else session.push(l);
  }
  if (!session[0]?.startsWith('v=0')) throw new NotAcceptableHere('media.sdpNoVersion');
  if (sections.length > 8) throw new NotAcceptableHere('media.sdpTooManyMedia', { max: 8 });
  // A bundled section (RFC 8843) may leave ICE and DTLS attributes to the others.
  const sessionFp = lines.some((l) => l.startsWith('a=fingerprint:'));
  const sessionUfrag = lines.some((l) => l.startsWith('a=ice-ufrag:')) && lines.some((l) => l.startsWith('a=ice-pwd:'));
  let audio = false;
  let video = false;
  const out: string[] = [...session];
  for (const sec of sections) {
    const m = /^m=(\w+) (\d+) (\S+) ?(.*)$/.exec(sec[0]);
    if (!m) throw new NotAcceptableHere('media.sdpBadLine', { line: 'm=', value: sec[0].slice(0, 80) });
    const [, kind, port, proto, fmts] = m;
    const hasFp = sessionFp || sec.some((l) => l.startsWith('a=fingerprint:'));
    const hasIce = sessionUfrag || sec.some((l) => l.startsWith('a=ice-ufrag:'));
    if (port !== '0' && (kind === 'audio' || kind === 'video') && !/^UDP\/TLS\/RTP\/SAVPF?$/.test(proto)) throw new NotAcceptableHere('media.webrtcNotSrtp', { proto: proto.slice(0, 40) });
    if (port !== '0' && !hasFp) throw new NotAcceptableHere('media.webrtcNoFingerprint');
    if (port !== '0' && !hasIce) throw new NotAcceptableHere('media.webrtcNoIce');
    const rtpmap = new Map<string, string>();
    const fmtp = new Map<string, string>();
    for (const l of sec) {
      const r = /^a=rtpmap:(\d+) (.+)$/.exec(l);
      if (r) rtpmap.set(r[1], r[2].trim());
      const f = /^a=fmtp:(\d+) (.+)$/.exec(l);
      if (f) fmtp.set(f[1], f[2].trim());
    }
    const all = fmts.split(/\s+/).filter(Boolean);
    let keep: string[] = [];
    if (kind === 'audio' && port !== '0') {
      keep = all.filter((pt) => AUDIO.test(rtpmap.get(pt) ?? (pt === '0' ? 'PCMU/8000' : pt === '8' ? 'PCMA/8000' : '')));
      if (!keep.some((pt) => !/telephone-event/i.test(rtpmap.get(pt) ?? ''))) throw new NotAcceptableHere('media.noCommonCodec');
      audio = true;
    } else if (kind === 'video' && port !== '0' && opts.video) {
      // One H.264 the panels send: Constrained Baseline / Baseline, packetization-mode 1.
      const h264 = all.filter((pt) => /^h264\/90000$/i.test(rtpmap.get(pt) ?? '') && /packetization-mode=1/.test(fmtp.get(pt) ?? '') && /profile-level-id=42[0-9a-f]{2}1f/i.test(fmtp.get(pt) ?? ''));
      const best = h264.find((pt) => /profile-level-id=42e01f/i.test(fmtp.get(pt) ?? '')) ?? h264[0];
      if (best) {
        keep = [best];
        video = true;
      }
    }
    if (!keep.length) {
      // RFC 3264 §6: a stream we do not take is answered with port 0; werift does it when
      // no codec of its own matches, so the section stays with its first format only.
      out.push(`m=${kind} 0 ${proto} ${all[0] ?? '0'}`, ...sec.slice(1).filter((l) => !l.startsWith('a=candidate:') && !/^a=(rtpmap|fmtp|rtcp-fb):/.test(l)));
      continue;
    }
    out.push(`m=${kind} ${port} ${proto} ${keep.join(' ')}`);
    for (const l of sec.slice(1)) {
      const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+|\*)/.exec(l)?.[1];
      if (pt !== undefined && pt !== '*' && !keep.includes(pt)) continue;
      // werift's parser throws on RFC 3605 `a=rtcp:<port>` without an address; WebRTC muxes RTCP anyway.
      if (l.startsWith('a=rtcp:')) continue;
      const cand = /^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ/i.exec(l);
      if (cand && (!/^udp$/i.test(cand[1]) || !candidateAddressUsable(cand[2]))) continue; // werift speaks UDP ICE
      out.push(l);
    }
  }
  if (!audio) throw new NotAcceptableHere('media.noCommonCodec');
  return { sdp: out.join('\r\n') + '\r\n', audio, video };
}
