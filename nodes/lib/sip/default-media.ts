/**
 * A silent stand-in media: it negotiates a valid SDP (PCMU + telephone-event on audio,
 * every other m-line declined with port 0, RFC 3264 §6) but binds and sends nothing.
 * Accounts use real RTP (nodes/lib/media, createRtpMediaFactory); this one serves
 * signaling tests and test peers that must look like a panel that sends no RTP.
 */
import { EventEmitter } from 'node:events';
import { type CallMedia, type CallMediaContext, type MediaFactory, NotAcceptableHere } from './media-port';

let sessionVersion = 1;

function sdp(ctx: CallMediaContext, port: number, lines: string[]): string {
  const ip4 = !ctx.localAddress.includes(':');
  const addr = `IN ${ip4 ? 'IP4' : 'IP6'} ${ctx.localAddress}`;
  const v = sessionVersion++;
  return ['v=0', `o=- ${Date.now()} ${v} ${addr}`, 's=intercom', `c=${addr}`, 't=0 0', ...lines].join('\r\n').replace(/PORT/g, String(port)) + '\r\n';
}

class SilentMedia extends EventEmitter implements CallMedia {
  constructor(private ctx: CallMediaContext, private port: number) {
    super();
  }
  async offer(): Promise<string> {
    return sdp(this.ctx, this.port, ['m=audio PORT RTP/AVP 0 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=sendrecv']);
  }
  async answer(remote: string): Promise<string> {
    const out: string[] = [];
    let audioOk = false;
    for (const block of remote.split(/\r?\nm=/).slice(1)) {
      const [mline, ...attrs] = block.split(/\r?\n/);
      const [media, , proto, ...fmts] = mline.trim().split(/\s+/);
      if (media === 'audio' && !audioOk && fmts.includes('0')) {
        const te = attrs.map((a) => /^a=rtpmap:(\d+)\s+telephone-event\/8000/i.exec(a)).find(Boolean)?.[1];
        const pts = te ? ['0', te] : ['0'];
        out.push(`m=audio PORT ${proto} ${pts.join(' ')}`, 'a=rtpmap:0 PCMU/8000');
        if (te) out.push(`a=rtpmap:${te} telephone-event/8000`, `a=fmtp:${te} 0-15`);
        out.push('a=sendrecv');
        audioOk = true;
      } else {
        // RFC 3264 §6: decline a stream by answering it with port zero.
        out.push(`m=${media} 0 ${proto} ${fmts[0] ?? '0'}`);
      }
    }
    if (!audioOk) throw new NotAcceptableHere('no PCMU audio offered');
    return sdp(this.ctx, this.port, out);
  }
  async setRemoteAnswer(): Promise<void> {
    return;
  }
  async close(): Promise<void> {
    this.emit('closed');
  }
}

/** Ports are only written into SDP, never bound; even numbers as RTP expects (RFC 3550 §11). */
export function defaultMediaFactory(basePort = 40000): MediaFactory {
  let next = basePort;
  return {
    create(ctx) {
      const port = next;
      next = next >= basePort + 9998 ? basePort : next + 2;
      return new SilentMedia(ctx, port);
    },
  };
}
