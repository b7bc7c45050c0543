/**
 * A silent stand-in media for tests and test peers: it negotiates a valid SDP through
 * media/sdp (PCMU + telephone-event on audio, every other m-line declined with port 0,
 * RFC 3264 §6) but binds and sends nothing, like a panel that sends no RTP. SIP INFO key
 * presses still come out as 'dtmf' events, as they would from real media.
 */
import { EventEmitter } from 'node:events';
import { buildInfoDtmf, parseInfoDtmf } from '../../nodes/lib/media/dtmf-info';
import { holds } from '../../nodes/lib/media/negotiation';
import { type CallMedia, type CallMediaContext, type CallMediaEvents, type Law, type MediaFactory, NotAcceptableHere } from '../../nodes/lib/media/port';
import { buildSdp, parseSdp, type SdpMedia, type SessionDescription } from '../../nodes/lib/media/sdp';

let sessionVersion = 1;

function describe(ctx: CallMediaContext, media: SdpMedia[]): SessionDescription {
  const addrType = ctx.localAddress.includes(':') ? 'IP6' : 'IP4';
  const address = ctx.localAddress;
  return { origin: { username: '-', sessionId: String(Date.now()), sessionVersion: String(sessionVersion++), addrType, address }, sessionName: 'intercom', connection: { addrType, address }, attributes: [], media };
}

function audio(port: number, proto: string, te: number | undefined): SdpMedia {
  const m: SdpMedia = { type: 'audio', port, proto, formats: ['0'], rtpmap: new Map([[0, { encoding: 'PCMU', clockRate: 8000 }]]), fmtp: new Map(), direction: 'sendrecv', attributes: [] };
  if (te !== undefined) {
    m.formats.push(String(te));
    m.rtpmap.set(te, { encoding: 'telephone-event', clockRate: 8000 });
    m.fmtp.set(te, '0-15');
  }
  return m;
}

class SilentMedia extends EventEmitter<CallMediaEvents> implements CallMedia {
  law: Law | undefined;
  remoteHold = false;
  constructor(private ctx: CallMediaContext, private port: number) {
    super();
  }
  async offer(): Promise<string> {
    return buildSdp(describe(this.ctx, [audio(this.port, 'RTP/AVP', 101)]));
  }
  async answer(remote: string): Promise<string> {
    let offer: SessionDescription;
    try {
      offer = parseSdp(remote);
    } catch (err) {
      throw new NotAcceptableHere('media.malformedSdp', { detail: String(err) });
    }
    this.remoteHold = holds(offer);
    let audioOk = false;
    const out = offer.media.map((m): SdpMedia => {
      if (m.type === 'audio' && !audioOk && m.port !== 0 && m.formats.includes('0')) {
        audioOk = true;
        const te = [...m.rtpmap].find(([, r]) => r.encoding.toLowerCase() === 'telephone-event' && r.clockRate === 8000)?.[0];
        return audio(this.port, m.proto, te);
      }
      // RFC 3264 §6: decline a stream by answering it with port zero.
      return { type: m.type, port: 0, proto: m.proto, formats: [m.formats[0] ?? '0'], rtpmap: new Map(), fmtp: new Map(), attributes: [] };
    });
    if (!audioOk) throw new NotAcceptableHere('media.noCommonCodec');
    this.law = 'PCMU';
    return buildSdp(describe(this.ctx, out));
  }
  async setRemoteAnswer(): Promise<void> {
    this.law = 'PCMU';
  }
  async sendDtmf(): Promise<void> {
    return;
  }
  async play(): Promise<void> {
    return;
  }
  stopPlayback(): void {
    return;
  }
  relayAudio(): void {
    return;
  }
  receiveInfo(contentType: string, body: string): boolean {
    const r = parseInfoDtmf(contentType, body);
    if (r.ok) this.emit('dtmf', { digit: r.digit, method: 'info', durationMs: r.durationMs, at: Date.now() });
    return r.ok;
  }
  infoDtmf(digit: string, durationMs?: number): { contentType: string; body: string } {
    return buildInfoDtmf(digit, durationMs);
  }
  setHold(): void {
    return;
  }
  async close(): Promise<void> {
    this.emit('closed');
  }
}

function checkSilent(remote: string): void {
  let offer: SessionDescription;
  try {
    offer = parseSdp(remote);
  } catch (err) {
    throw new NotAcceptableHere('media.malformedSdp', { detail: String(err) });
  }
  if (!offer.media.some((m) => m.type === 'audio' && m.port !== 0 && m.formats.includes('0'))) throw new NotAcceptableHere('media.noCommonCodec');
}

/** Ports are only written into SDP, never bound; even numbers as RTP expects (RFC 3550 §11). */
export function silentMediaFactory(basePort = 40000): MediaFactory {
  let next = basePort;
  return {
    // What the silent media would answer, without a call: the same 488s as answer().
    check: checkSilent,
    create(ctx) {
      const port = next;
      next = next >= basePort + 9998 ? basePort : next + 2;
      return new SilentMedia(ctx, port);
    },
  };
}
