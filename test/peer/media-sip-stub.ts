/**
 * A deliberately tiny SIP endpoint on raw UDP, for media peer tests only: just enough
 * RFC 3261 to set up one call with sipp or baresip so the media under test (not our SIP
 * stack, which lives elsewhere) exchanges RTP with a real peer. Not a SIP implementation.
 */
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { RtpCallMedia } from '../../nodes/lib/media/call-media';

export interface SipMessage {
  first: string;
  headers: Map<string, string[]>;
  body: string;
  from: { address: string; port: number };
}

const COMPACT: Record<string, string> = { v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type' };

export function parseSip(buf: Buffer, from: { address: string; port: number }): SipMessage | null {
  const text = buf.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return null;
  const lines = text.slice(0, split).split('\r\n');
  const headers = new Map<string, string[]>();
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c < 0) continue;
    let name = l.slice(0, c).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    const list = headers.get(name) ?? [];
    list.push(l.slice(c + 1).trim());
    headers.set(name, list);
  }
  return { first: lines[0], headers, body: text.slice(split + 4), from };
}

const h = (m: SipMessage, name: string): string => (m.headers.get(name) ?? [''])[0];

export class SipStub {
  readonly log: string[] = [];
  private constructor(readonly socket: dgram.Socket, readonly port: number) {}

  static async open(): Promise<SipStub> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new SipStub(s, s.address().port);
  }

  send(text: string, to: { address: string; port: number }): void {
    this.socket.send(Buffer.from(text), to.port, to.address);
  }

  private respond(req: SipMessage, status: string, extra: string[] = [], body = '', toTag?: string): void {
    const to = h(req, 'to');
    const lines = [
      `SIP/2.0 ${status}`,
      ...(req.headers.get('via') ?? []).map((v) => `Via: ${v}`),
      `From: ${h(req, 'from')}`,
      `To: ${toTag && !/;tag=/.test(to) ? `${to};tag=${toTag}` : to}`,
      `Call-ID: ${h(req, 'call-id')}`,
      `CSeq: ${h(req, 'cseq')}`,
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    this.send(lines.join('\r\n'), req.from);
  }

  /**
   * Answer incoming calls with `media`'s SDP answer (UAS side), reply 200 to INFO (feeding
   * its body to media.receiveInfo) and to BYE. Resolves `ended` when a BYE arrives.
   */
  serve(media: RtpCallMedia): { ended: Promise<void> } {
    const tag = randomBytes(4).toString('hex');
    let endedResolve!: () => void;
    const ended = new Promise<void>((r) => (endedResolve = r));
    this.socket.on('message', (buf, rinfo) => {
      const m = parseSip(buf, { address: rinfo.address, port: rinfo.port });
      if (!m || m.first.startsWith('SIP/2.0')) return;
      const method = m.first.split(' ')[0];
      this.log.push(method);
      if (method === 'INVITE') {
        media.answer(m.body).then(
          (sdp) => this.respond(m, '200 OK', [`Contact: <sip:door@127.0.0.1:${this.port}>`, 'Content-Type: application/sdp'], sdp, tag),
          (err: { status?: number; message: string }) => this.respond(m, `${err.status ?? 500} Rejected`, [], '', tag),
        );
      } else if (method === 'INFO') {
        media.receiveInfo(h(m, 'content-type'), m.body);
        this.respond(m, '200 OK', [], '', tag);
      } else if (method === 'BYE') {
        this.respond(m, '200 OK', [], '', tag);
        endedResolve();
      }
    });
    return { ended };
  }

  /**
   * Call `target` (UAC side) with media's offer; on 200 send ACK and apply the answer.
   * Resolves with a function that hangs up.
   */
  invite(media: RtpCallMedia, target: { user: string; port: number }): Promise<() => Promise<void>> {
    const callId = randomBytes(8).toString('hex') + '@127.0.0.1';
    const tag = randomBytes(4).toString('hex');
    const dest = { address: '127.0.0.1', port: target.port };
    const uri = `sip:${target.user}@127.0.0.1:${target.port}`;
    const request = (method: string, cseq: number, extra: string[], body = '', toTag = ''): string =>
      [
        `${method} ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
        'Max-Forwards: 70',
        `From: <sip:door@127.0.0.1:${this.port}>;tag=${tag}`,
        `To: <${uri}>${toTag ? ';tag=' + toTag : ''}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ${method}`,
        `Contact: <sip:door@127.0.0.1:${this.port}>`,
        ...extra,
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n');
    return new Promise((resolve, reject) => {
      let acked = false;
      let toTag = '';
      media.offer().then((sdp) => {
        const invite = request('INVITE', 1, ['Content-Type: application/sdp'], sdp);
        this.send(invite, dest);
        // RFC 3261 Timer A, crudely: resend until a response arrives.
        const resend = setInterval(() => this.send(invite, dest), 500);
        const giveUp = setTimeout(() => {
          clearInterval(resend);
          reject(new Error('no answer to INVITE: ' + this.log.join(',')));
        }, 8000);
        this.socket.on('message', (buf, rinfo) => {
          const m = parseSip(buf, { address: rinfo.address, port: rinfo.port });
          if (!m) return;
          if (!m.first.startsWith('SIP/2.0')) {
            // BYE or anything else from the peer: just say OK.
            this.log.push(m.first.split(' ')[0]);
            if (!m.first.startsWith('ACK')) this.respond(m, '200 OK');
            return;
          }
          clearInterval(resend);
          const code = Number(m.first.split(' ')[1]);
          this.log.push(String(code));
          if (!h(m, 'cseq').endsWith('INVITE') || code < 200) return;
          toTag = /;tag=([^;>\s]+)/.exec(h(m, 'to'))?.[1] ?? '';
          this.send(request('ACK', 1, [], '', toTag), dest); // also for retransmitted 200s
          if (acked) return;
          acked = true;
          clearTimeout(giveUp);
          if (code >= 300) {
            reject(new Error(`INVITE answered ${m.first}`));
            return;
          }
          media.setRemoteAnswer(m.body).then(
            () => resolve(async () => this.send(request('BYE', 2, [], '', toTag), dest)),
            reject,
          );
        });
      }, reject);
    });
  }

  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}
