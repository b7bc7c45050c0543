/**
 * The media the account gives each call: WebRTC (webrtc-media.ts) when the other party is
 * a browser — its signalling comes over SIP over WebSocket, or its offer is a WebRTC one
 * (UDP/TLS/RTP/SAVPF with a DTLS fingerprint) — and plain RTP (call-media.ts) otherwise.
 * So a panel's call and a page's call meet in one bridge, each on the media it speaks.
 */
import { createRtpMediaFactory, type MediaOptions, type RtpCallMedia } from './call-media';
import type { CallMediaContext, MediaFactory } from './port';
import { WebRtcCallMedia, type WebRtcMediaOptions } from './webrtc-media';
import { isWebRtcSdp } from './webrtc-sdp';

export interface CallMediaFactoryOptions {
  rtp?: MediaOptions;
  webrtc?: WebRtcMediaOptions;
}

/** The call goes to (or comes from) a browser. */
export function wantsWebRtc(ctx: CallMediaContext): boolean {
  return ctx.transport === 'ws' || ctx.transport === 'wss' || isWebRtcSdp(ctx.remoteOffer);
}

export function createCallMediaFactory(opts: CallMediaFactoryOptions = {}): MediaFactory & { create(ctx: CallMediaContext): RtpCallMedia | WebRtcCallMedia } {
  const rtp = createRtpMediaFactory(opts.rtp);
  return {
    // A panel's offer with no codec we carry is refused before it rings; a browser's (WebRTC)
    // offer is checked by its own leg when it is answered.
    check: (sdp: string) => {
      if (!isWebRtcSdp(sdp)) rtp.check?.(sdp);
    },
    create: (ctx) => {
      if (!wantsWebRtc(ctx)) return rtp.create(ctx);
      // The account's own address is a host candidate even when werift would skip it (loopback, a container).
      const hostAddresses = [...(opts.webrtc?.hostAddresses ?? []), ctx.localAddress];
      return new WebRtcCallMedia(ctx, { rtpTimeoutMs: opts.rtp?.rtpTimeoutMs, ...opts.webrtc, hostAddresses });
    },
  };
}
