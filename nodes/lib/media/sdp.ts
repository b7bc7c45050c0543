/**
 * SDP (RFC 8866) parsing and building: untrusted text in, typed values out, once.
 * Only what an audio intercom call needs is interpreted (v o s c t m a=rtpmap/fmtp/ptime/
 * direction/rtcp); every other line is kept verbatim so nothing is silently lost.
 * Anything malformed raises SdpError (code media.sdp<What>) and nothing else.
 */
import { IntercomError } from '../core/errors';

/** Raised for malformed SDP only, so callers can tell it from other failures. */
export class SdpError extends IntercomError {}

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

export interface SdpConnection {
  addrType: 'IP4' | 'IP6';
  address: string;
}

export interface SdpOrigin {
  username: string;
  sessionId: string;
  sessionVersion: string;
  addrType: 'IP4' | 'IP6';
  address: string;
}

export interface RtpMap {
  encoding: string; // as written (case kept); compare case-insensitively (RFC 4855 §3)
  clockRate: number;
  channels?: number;
}

export interface SdpMedia {
  type: string; // audio, video, application, ...
  port: number;
  portCount?: number;
  proto: string; // RTP/AVP, RTP/SAVP, ...
  formats: string[]; // payload types as strings (non-RTP protos may use names)
  connection?: SdpConnection;
  rtpmap: Map<number, RtpMap>;
  fmtp: Map<number, string>;
  ptime?: number;
  maxptime?: number;
  direction?: Direction;
  rtcpPort?: number;
  /** other a= lines of this m= section, verbatim without "a=" */
  attributes: string[];
}

export interface SessionDescription {
  origin: SdpOrigin;
  sessionName: string;
  connection?: SdpConnection;
  direction?: Direction;
  /** other session-level a= lines, verbatim without "a=" */
  attributes: string[];
  media: SdpMedia[];
}

const MAX_SDP_BYTES = 16 * 1024;
const MAX_MEDIA = 16;

function int(text: string, what: string, min: number, max: number): number {
  if (!/^\d{1,10}$/.test(text)) throw new SdpError('media.sdpNotNumber', { what, value: text.slice(0, 20) });
  const n = Number(text);
  if (n < min || n > max) throw new SdpError('media.sdpOutOfRange', { what, value: n, min, max });
  return n;
}

function parseConnection(value: string): SdpConnection {
  // c=<nettype> <addrtype> <connection-address> (RFC 8866 §5.7); multicast TTL suffix dropped.
  const parts = value.split(' ');
  if (parts.length !== 3 || parts[0] !== 'IN') throw new SdpError('media.sdpBadLine', { line: 'c=', value: value.slice(0, 60) });
  const addrType = parts[1];
  if (addrType !== 'IP4' && addrType !== 'IP6') throw new SdpError('media.sdpAddressType', { line: 'c=', type: addrType.slice(0, 20) });
  const address = parts[2].split('/')[0];
  if (!address || address.length > 255) throw new SdpError('media.sdpNoAddress');
  return { addrType, address };
}

function parseOrigin(value: string): SdpOrigin {
  const p = value.split(' ');
  if (p.length !== 6 || p[3] !== 'IN') throw new SdpError('media.sdpBadLine', { line: 'o=', value: value.slice(0, 60) });
  if (p[4] !== 'IP4' && p[4] !== 'IP6') throw new SdpError('media.sdpAddressType', { line: 'o=', type: p[4].slice(0, 20) });
  return { username: p[0], sessionId: p[1], sessionVersion: p[2], addrType: p[4], address: p[5] };
}

function parseMediaLine(value: string): SdpMedia {
  // m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 8866 §5.14)
  const p = value.split(' ').filter((s) => s !== '');
  if (p.length < 4) throw new SdpError('media.sdpBadLine', { line: 'm=', value: value.slice(0, 60) });
  const [portText, countText] = p[1].split('/');
  const port = int(portText, 'm= port', 0, 65535);
  const portCount = countText === undefined ? undefined : int(countText, 'm= port count', 1, 65535);
  return {
    type: p[0],
    port,
    portCount,
    proto: p[2],
    formats: p.slice(3),
    rtpmap: new Map(),
    fmtp: new Map(),
    attributes: [],
  };
}

function applyMediaAttribute(m: SdpMedia, attr: string): void {
  const colon = attr.indexOf(':');
  const name = colon < 0 ? attr : attr.slice(0, colon);
  const value = colon < 0 ? '' : attr.slice(colon + 1);
  if (DIRECTIONS.has(name) && colon < 0) {
    m.direction = name as Direction;
    return;
  }
  switch (name) {
    case 'rtpmap': {
      // a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
      const match = /^(\d{1,3}) ([A-Za-z0-9_.+-]{1,32})\/(\d{1,7})(?:\/(\d{1,2}))?$/.exec(value.trim());
      // Without the clock rate RFC 4566 §6 requires (RFC 4475's `a=rtpmap:31 LPC`): read as
      // no rtpmap at all, so the payload type means what the static table says, or nothing
      // we would pick, and the rest of the offer still counts.
      if (!match && /^\d{1,3} [A-Za-z0-9_.+-]{1,32}$/.test(value.trim())) return;
      if (!match) throw new SdpError('media.sdpBadLine', { line: 'a=rtpmap', value: value.slice(0, 60) });
      const pt = int(match[1], 'rtpmap payload type', 0, 127);
      m.rtpmap.set(pt, {
        encoding: match[2],
        clockRate: int(match[3], 'rtpmap clock rate', 1, 1_000_000),
        channels: match[4] === undefined ? undefined : int(match[4], 'rtpmap channels', 1, 16),
      });
      return;
    }
    case 'fmtp': {
      const match = /^(\d{1,3}) (.*)$/.exec(value);
      if (!match) throw new SdpError('media.sdpBadLine', { line: 'a=fmtp', value: value.slice(0, 60) });
      m.fmtp.set(int(match[1], 'fmtp payload type', 0, 127), match[2].trim());
      return;
    }
    case 'ptime':
      // RFC 4566 allows a decimal ptime; we only ever packetise whole milliseconds.
      if (!/^\d{1,4}(\.\d+)?$/.test(value.trim())) throw new SdpError('media.sdpBadLine', { line: 'a=ptime', value: value.slice(0, 20) });
      m.ptime = Math.round(Number(value.trim()));
      return;
    case 'maxptime':
      if (!/^\d{1,4}(\.\d+)?$/.test(value.trim())) throw new SdpError('media.sdpBadLine', { line: 'a=maxptime', value: value.slice(0, 20) });
      m.maxptime = Math.round(Number(value.trim()));
      return;
    case 'rtcp': {
      // RFC 3605: a=rtcp:<port> [<nettype> <addrtype> <address>]
      const portText = value.trim().split(' ')[0];
      m.rtcpPort = int(portText, 'a=rtcp port', 0, 65535);
      return;
    }
    default:
      m.attributes.push(attr);
  }
}

/** Parse an SDP body. Throws SdpError (only) on anything that is not a usable description. */
export function parseSdp(text: unknown): SessionDescription {
  if (typeof text !== 'string') throw new SdpError('media.sdpNotText');
  if (text.length > MAX_SDP_BYTES) throw new SdpError('media.sdpTooLarge', { bytes: text.length });
  // RFC 8866 §5 says CRLF, but real panels send bare LF; accept both.
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new SdpError('media.sdpEmpty');
  let origin: SdpOrigin | undefined;
  let sessionName: string | undefined;
  let connection: SdpConnection | undefined;
  let direction: Direction | undefined;
  const attributes: string[] = [];
  const media: SdpMedia[] = [];
  let seenVersion = false;
  for (const raw of lines) {
    const line = raw.replace(/\s+$/, '');
    if (line.length < 2 || line[1] !== '=' || !/^[a-z]$/.test(line[0])) {
      throw new SdpError('media.sdpBadLine', { line: '?', value: line.slice(0, 60) });
    }
    const type = line[0];
    const value = line.slice(2);
    const current = media[media.length - 1];
    if (!seenVersion) {
      if (type !== 'v' || value !== '0') throw new SdpError('media.sdpNoVersion');
      seenVersion = true;
      continue;
    }
    switch (type) {
      case 'o':
        if (origin || current) throw new SdpError('media.sdpOriginPlace');
        origin = parseOrigin(value);
        break;
      case 's':
        if (!current) sessionName = value;
        break;
      case 'c':
        if (current) current.connection = parseConnection(value);
        else connection = parseConnection(value);
        break;
      case 'm':
        if (media.length >= MAX_MEDIA) throw new SdpError('media.sdpTooManyMedia', { max: MAX_MEDIA });
        media.push(parseMediaLine(value));
        break;
      case 'a':
        if (current) applyMediaAttribute(current, value);
        else if (DIRECTIONS.has(value)) direction = value as Direction;
        else attributes.push(value);
        break;
      default:
        // b=, t=, r=, z=, k=, i=, u=, e=, p= carry nothing an audio call needs here.
        break;
    }
  }
  if (!origin) throw new SdpError('media.sdpNoOrigin');
  for (const m of media) {
    if (m.port !== 0 && !m.connection && !connection) throw new SdpError('media.sdpNoConnection', { media: m.type.slice(0, 20) });
  }
  return { origin, sessionName: sessionName ?? '-', connection, direction, attributes, media };
}

/** Build SDP text (CRLF line ends, RFC 8866 line order). */
export function buildSdp(d: SessionDescription): string {
  const out: string[] = ['v=0'];
  const o = d.origin;
  out.push(`o=${o.username} ${o.sessionId} ${o.sessionVersion} IN ${o.addrType} ${o.address}`);
  out.push(`s=${d.sessionName || '-'}`);
  if (d.connection) out.push(`c=IN ${d.connection.addrType} ${d.connection.address}`);
  out.push('t=0 0');
  if (d.direction) out.push(`a=${d.direction}`);
  for (const a of d.attributes) out.push(`a=${a}`);
  for (const m of d.media) {
    const port = m.portCount ? `${m.port}/${m.portCount}` : String(m.port);
    out.push(`m=${m.type} ${port} ${m.proto} ${m.formats.join(' ')}`);
    if (m.connection) out.push(`c=IN ${m.connection.addrType} ${m.connection.address}`);
    if (m.rtcpPort !== undefined) out.push(`a=rtcp:${m.rtcpPort}`);
    for (const [pt, r] of m.rtpmap) {
      out.push(`a=rtpmap:${pt} ${r.encoding}/${r.clockRate}${r.channels ? '/' + r.channels : ''}`);
    }
    for (const [pt, f] of m.fmtp) out.push(`a=fmtp:${pt} ${f}`);
    if (m.ptime !== undefined) out.push(`a=ptime:${m.ptime}`);
    if (m.maxptime !== undefined) out.push(`a=maxptime:${m.maxptime}`);
    if (m.direction) out.push(`a=${m.direction}`);
    for (const a of m.attributes) out.push(`a=${a}`);
  }
  return out.join('\r\n') + '\r\n';
}
