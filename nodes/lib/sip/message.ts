/**
 * SIP messages at the boundary: untrusted bytes are parsed once into a typed value that
 * the rest of nodes/lib/sip trusts, and outgoing messages are serialised here.
 *
 * The framing (start line, headers, Via, CSeq, tags) is parsed by hand because sip.js's
 * full grammar parser costs ~1.3 ms per message, which a port flooded by scanners cannot
 * afford; sip.js's RFC 3261 grammar still parses the name-addr and URI values we act on
 * (caller identity, Contact, dial targets) when the common form does not match: its PEG
 * parser decodes its tables on every call (~0.16 ms), which alone halved call throughput.
 * Parsing never throws: it returns a reason.
 */
import { Grammar } from 'sip.js/lib/core/index.js';
import { randomBytes } from 'node:crypto';

/** A SIP/SIPS/TEL URI, as much of it as we act on (RFC 3261 §19.1). */
export interface Uri {
  scheme: string;
  user?: string;
  host: string;
  port?: number;
  /** the URI exactly as received, for Request-URIs and Contacts we send back */
  text: string;
  toString(): string;
}
/** name-addr / addr-spec with header parameters (RFC 3261 §25.1, From/To/Contact). */
export interface NameAddr {
  displayName: string;
  uri: Uri;
  getParam(name: string): string | undefined;
}

export interface Via {
  protocol: string; // UDP / TCP
  host: string;
  port?: number;
  branch?: string;
  received?: string;
  rport?: number | true; // true = present without value (RFC 3581 request)
  raw: string;
}

interface Base {
  /** header name in lower case → raw values in order (compact forms expanded) */
  headers: Map<string, string[]>;
  body: string;
  callId: string;
  cseq: number;
  cseqMethod: string;
  fromTag: string;
  toTag?: string;
  vias: Via[];
}
export interface SipRequest extends Base {
  kind: 'request';
  method: string;
  uri: string;
}
export interface SipResponse extends Base {
  kind: 'response';
  status: number;
  reason: string;
}
export type SipMessage = SipRequest | SipResponse;

export type ParseResult =
  | { ok: true; message: SipMessage }
  /**
   * `partial` is set for requests whose top Via can carry an answer, so one can be sent:
   * `status` (400 unless named: 505 for another SIP version, 416 for a Request-URI scheme we
   * do not serve, RFC 3261 §8.2.1, §8.2.2.1).
   */
  | { ok: false; reason: string; partial?: SipRequest; status?: 400 | 416 | 505 };

export function header(m: { headers: Map<string, string[]> }, name: string): string | undefined {
  return m.headers.get(name.toLowerCase())?.[0];
}
export function headers(m: { headers: Map<string, string[]> }, name: string): string[] {
  return m.headers.get(name.toLowerCase()) ?? [];
}

export function parseVia(raw: string): Via | undefined {
  // Via: SIP/2.0/UDP host[:port];params (RFC 3261 §20.42)
  const m = /^\s*SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+([^;\s]+)\s*(.*)$/i.exec(raw);
  if (!m) return undefined;
  const hp = parseHostPort(m[2]);
  if (!hp) return undefined;
  const via: Via = { protocol: m[1].toUpperCase(), host: hp.host, port: hp.port, raw: raw.trim() };
  // via-params only: `;;` (an empty parameter) or text that is not a parameter is malformed
  // (RFC 3261 §20.42, RFC 4475 §3.1.2.1); one trailing `;` is tolerated, devices send it.
  const params = m[3].replace(/;\s*$/, '');
  if (params && !params.startsWith(';')) return undefined;
  for (const p of params.split(';').slice(1)) {
    const [k, v] = p.trim().split('=', 2).map((x) => x?.trim());
    if (!k) return undefined;
    const key = k.toLowerCase();
    if (key === 'branch') via.branch = v;
    else if (key === 'received') via.received = v;
    else if (key === 'rport') via.rport = v ? Number(v) : true;
  }
  if (typeof via.rport === 'number' && !(via.rport > 0 && via.rport < 65536)) return undefined;
  return via;
}

function parseHostPort(s: string): { host: string; port?: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(s);
  if (!m) return undefined;
  const port = m[2] ? Number(m[2]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** RFC 3261 §7.3.3 compact header names. */
const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type', f: 'from',
  s: 'subject', k: 'supported', t: 'to', v: 'via', u: 'allow-events', o: 'event', r: 'refer-to', b: 'referred-by', x: 'session-expires',
};

const TOKEN = /^[A-Za-z0-9!%'*+.`~_-]+$/;

/** The tag parameter of a From/To value, outside the URI (RFC 3261 §19.3). */
export function tagOf(value: string): string | undefined {
  let v = value.replace(/"(?:[^"\\]|\\.)*"/g, '');
  const gt = v.indexOf('>');
  if (v.includes('<')) {
    if (gt < 0) return undefined;
    v = v.slice(gt + 1);
  } else {
    const semi = v.indexOf(';');
    v = semi < 0 ? '' : v.slice(semi);
  }
  return /;\s*tag\s*=\s*([^;\s,]+)/i.exec(v)?.[1];
}

/**
 * Where an answer to a malformed request can go: the top Via's transport, host and port,
 * read leniently (any SIP version, junk after the sent-by ignored). Undefined when not even
 * that is there: such a request is dropped, as a response is (RFC 3261 §18.1.2).
 */
function routableVia(raw: string | undefined): Via | undefined {
  const first = raw === undefined ? undefined : splitComma(raw)[0];
  const m = first === undefined ? null : /^\s*SIP\s*\/\s*\d+\.\d+\s*\/\s*([A-Za-z]+)\s+([^;,\s]+)/i.exec(first);
  const hp = m ? parseHostPort(m[2]) : undefined;
  if (!m || !hp || !first) return undefined;
  return { protocol: m[1].toUpperCase(), host: hp.host, port: hp.port, raw: first.trim() };
}

/** Header fields a request carries at most once (RFC 3261 §7.3.1: not comma lists). */
const SINGLE = ['call-id', 'from', 'to', 'cseq', 'max-forwards', 'content-length', 'content-type'];
const CSEQ_MAX = 2 ** 31 - 1; // RFC 3261 §8.1.1.5

/** Parse one complete SIP message (a datagram, or a TCP frame cut by Content-Length). */
export function parseMessage(data: string): ParseResult {
  let sep = data.indexOf('\r\n\r\n');
  let sepLen = 4;
  if (sep < 0) {
    sep = data.indexOf('\n\n');
    sepLen = 2;
  }
  if (sep < 0) return { ok: false, reason: 'no end of headers' };
  const lines = data.slice(0, sep).split(/\r?\n/);
  const startLine = lines.shift() ?? '';
  const hmap = new Map<string, string[]>();
  let last: string[] | undefined;
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // header folding (§7.3.1)
      if (!last || last.length === 0) return { ok: false, reason: 'folded line without header' };
      last[last.length - 1] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return { ok: false, reason: 'bad header line' };
    let name = line.slice(0, colon).trim().toLowerCase();
    if (!TOKEN.test(name)) return { ok: false, reason: 'bad header name' };
    name = COMPACT[name] ?? name;
    const value = line.slice(colon + 1).trim();
    last = hmap.get(name);
    if (!last) hmap.set(name, (last = []));
    last.push(value);
  }
  const resp = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/.exec(startLine);
  // A request line: method SP Request-URI SP SIP-Version, single spaces (§7.1, RFC 4475 §3.1.2.7-10).
  const reqM = resp ? null : /^([A-Za-z0-9!%'*+.`~_-]+) (\S+) SIP\/(\d+\.\d+)$/.exec(startLine);
  const looksLikeRequest = !resp && /^[A-Za-z0-9!%'*+.`~_-]+ /.test(startLine);
  const from = hmap.get('from')?.[0];
  const to = hmap.get('to')?.[0];
  const callId = hmap.get('call-id')?.[0];
  const cseqM = /^(\d{1,10})\s+([A-Za-z0-9!%'*+.`~_-]+)$/.exec(hmap.get('cseq')?.[0] ?? '');
  const base: Base = {
    headers: hmap,
    body: '',
    callId: callId ?? '',
    cseq: cseqM ? Number(cseqM[1]) : 0,
    cseqMethod: cseqM ? cseqM[2].toUpperCase() : '',
    fromTag: (from && tagOf(from)) ?? '',
    toTag: to ? tagOf(to) : undefined,
    vias: [],
  };
  // What goes wrong from here on in a request is answered when its top Via can carry it.
  const reject = (reason: string, status: 400 | 416 | 505 = 400): ParseResult => {
    if (!looksLikeRequest) return { ok: false, reason };
    const top = base.vias[0] ?? routableVia(hmap.get('via')?.[0]);
    if (!top) return { ok: false, reason };
    const [method = '', uri = ''] = startLine.split(/\s+/, 2);
    return { ok: false, reason, status, partial: { ...base, vias: base.vias.length ? base.vias : [top], kind: 'request', method: method.toUpperCase(), uri } };
  };
  if (!resp && !looksLikeRequest) return { ok: false, reason: 'bad start line' };
  if (reqM && reqM[3] !== '2.0') return reject('SIP version', 505);
  for (const raw of (hmap.get('via') ?? []).flatMap(splitComma)) {
    const v = parseVia(raw);
    if (!v) return reject('bad Via');
    base.vias.push(v);
  }
  if (!reqM && !resp) return reject('bad start line');
  if (reqM && !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(reqM[2])) return reject('bad Request-URI');
  if (reqM && !/^(?:sips?|tel):/i.test(reqM[2])) return reject('Request-URI scheme', 416);
  // §19.1.5: a Request-URI carries no headers (RFC 4475 §3.1.2.11); a `?` in the user part is one
  // of its characters (§25.1 user-unreserved), the headers start after the host
  if (reqM && /^sips?:/i.test(reqM[2]) && reqM[2].slice(reqM[2].indexOf('@') + 1).includes('?')) return reject('headers in the Request-URI');
  if (reqM) for (const h of SINGLE) if ((hmap.get(h)?.length ?? 0) > 1) return reject('more than one ' + h);
  let body = data.slice(sep + sepLen);
  const cl = hmap.get('content-length')?.[0];
  if (cl !== undefined) {
    if (!/^\d{1,6}$/.test(cl)) return reject('bad Content-Length');
    // §18.3: bytes beyond Content-Length in a datagram are discarded
    const n = Number(cl);
    const bytes = Buffer.from(body, 'utf8');
    if (bytes.length < n) return reject('body shorter than Content-Length');
    body = bytes.subarray(0, n).toString('utf8');
  }
  base.body = body;
  if (base.vias.length === 0 || !from || !to || !callId || !cseqM || !/^[\x21-\x7e]+$/.test(callId) || base.cseq > CSEQ_MAX) {
    return reject('missing or bad Via/From/To/Call-ID/CSeq');
  }
  if (resp) return { ok: true, message: { ...base, kind: 'response', status: Number(resp[1]), reason: resp[2] ?? '' } };
  if (!reqM) return reject('bad start line');
  const req: SipRequest = { ...base, kind: 'request', method: reqM[1].toUpperCase(), uri: reqM[2] };
  if (req.method !== req.cseqMethod && !(req.method === 'ACK' && req.cseqMethod === 'INVITE')) {
    return reject('CSeq method does not match the request method');
  }
  if (!req.fromTag) return reject('From has no tag');
  // Only an INVITE creates state from From/To, so only it pays for the full grammar.
  if (req.method === 'INVITE' && (!parseNameAddr(from) || !parseNameAddr(to))) return reject('bad From/To');
  return { ok: true, message: req };
}

/** Split a header value on commas outside quotes and angle brackets. */
export function splitComma(v: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  let a = 0;
  for (const ch of v) {
    if (ch === '"') q = !q;
    else if (!q && ch === '<') a++;
    else if (!q && ch === '>') a--;
    if (ch === ',' && !q && a === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const URI_RE = /^(sips?|tel):(?:([^@;?\s]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?((?:;[^?\s]*)?(?:\?\S*)?)$/i;

function makeUri(scheme: string, userinfo: string | undefined, host: string, port: string | undefined, text: string): Uri | undefined {
  const p = port ? Number(port) : undefined;
  if (p !== undefined && (p < 1 || p > 65535)) return undefined;
  const user = userinfo === undefined ? undefined : decodeURIComponentSafe(userinfo.split(':')[0]);
  return { scheme: scheme.toLowerCase(), user, host: host.replace(/^\[|\]$/g, ''), port: p, text, toString: () => text };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Fast path for the forms devices send; sip.js's RFC 3261 grammar for anything unusual. */
export function parseUri(s: string): Uri | undefined {
  const t = s.trim();
  const m = URI_RE.exec(t);
  if (m) return makeUri(m[1], m[2], m[3], m[4], t);
  try {
    const u = Grammar.URIParse(t);
    if (!u) return undefined;
    return makeUri(u.scheme, u.user, u.host, u.port === undefined ? undefined : String(u.port), u.toString());
  } catch {
    return undefined;
  }
}

function paramsOf(text: string): (name: string) => string | undefined {
  return (name: string) => {
    const re = new RegExp(`;\\s*${name}\\s*(?:=\\s*("[^"]*"|[^;\\s,]*))?`, 'i');
    const m = re.exec(text);
    if (!m) return undefined;
    return (m[1] ?? '').replace(/^"|"$/g, '');
  };
}

const NAME_ADDR_RE = /^\s*(?:"((?:[^"\\]|\\.)*)"|([^<"]*?))\s*<([^<>]+)>\s*(.*)$/;

export function parseNameAddr(s: string): NameAddr | undefined {
  const m = NAME_ADDR_RE.exec(s);
  if (m) {
    const uri = parseUri(m[3]);
    if (!uri) return undefined;
    const display = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '').trim();
    return { displayName: display, uri, getParam: paramsOf(m[4]) };
  }
  // addr-spec form: header parameters start at the first ';' (§20.10)
  const t = s.trim();
  if (!t || t.includes('<')) return undefined;
  const semi = t.indexOf(';');
  const uri = parseUri(semi < 0 ? t : t.slice(0, semi));
  if (!uri) return undefined;
  return { displayName: '', uri, getParam: paramsOf(semi < 0 ? '' : t.slice(semi)) };
}

export const randomToken = (bytes = 8): string => randomBytes(bytes).toString('hex');
/** RFC 3261 §8.1.1.7: the magic cookie marks a branch unique across space and time. */
export const newBranch = (): string => 'z9hG4bK' + randomToken(10);

export type HeaderList = Array<[string, string]>;

/**
 * The first value of a header in a list we are building. Header names compare
 * case-insensitively (RFC 3261 §7.3.1), whatever case the list was written in.
 */
export function headerOf(hs: HeaderList, name: string): string {
  const n = name.toLowerCase();
  return hs.find(([k]) => k.toLowerCase() === n)?.[1] ?? '';
}

/** Every header of that name, in order (case-insensitive like headerOf). */
export function headersNamed(hs: HeaderList, name: string): HeaderList {
  const n = name.toLowerCase();
  return hs.filter(([k]) => k.toLowerCase() === n);
}

/** The list without any header of that name. */
export function withoutHeader(hs: HeaderList, name: string): HeaderList {
  const n = name.toLowerCase();
  return hs.filter(([k]) => k.toLowerCase() !== n);
}

/** The list with every header of that name given `value`, in place (order kept). */
export function withHeader(hs: HeaderList, name: string, value: string): HeaderList {
  const n = name.toLowerCase();
  return hs.map(([k, v]): [string, string] => (k.toLowerCase() === n ? [k, value] : [k, v]));
}

/** The same request again with the next CSeq number for `method` (RFC 3261 §8.1.3.5, §8.1.3.4). */
export function nextCSeq(hs: HeaderList, method: string): HeaderList {
  return withHeader(hs, 'cseq', `${Number(headerOf(hs, 'cseq').split(/\s+/)[0]) + 1} ${method}`);
}

export function serializeRequest(method: string, uri: string, hs: HeaderList, body = ''): string {
  const lines = [`${method} ${uri} SIP/2.0`];
  for (const [k, v] of hs) lines.push(`${k}: ${v}`);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

export const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 202: 'Accepted',
  302: 'Moved Temporarily', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 407: 'Proxy Authentication Required',
  406: 'Not Acceptable', 408: 'Request Timeout', 415: 'Unsupported Media Type', 416: 'Unsupported URI Scheme', 420: 'Bad Extension',
  423: 'Interval Too Brief', 480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected', 483: 'Too Many Hops', 486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here',
  491: 'Request Pending', 500: 'Server Internal Error', 501: 'Not Implemented', 503: 'Service Unavailable',
  505: 'Version Not Supported', 513: 'Message Too Large', 603: 'Decline',
};

/**
 * A response to `req` (RFC 3261 §8.2.6.2): Via, From, Call-ID, CSeq copied; To copied
 * with our tag added when the request had none (not on 100 Trying).
 */
export function serializeResponse(req: SipRequest, status: number, opts: { toTag?: string; headers?: HeaderList; body?: string; reason?: string } = {}): string {
  const lines = [`SIP/2.0 ${status} ${opts.reason ?? REASONS[status] ?? 'Unknown'}`];
  for (const v of req.vias) lines.push(`Via: ${v.raw}`);
  // A 400 to a request that lacks one of these echoes the rest (RFC 4475 §3.3.1).
  const from = header(req, 'from');
  if (from !== undefined) lines.push(`From: ${from}`);
  let to = header(req, 'to');
  if (to !== undefined) {
    if (!req.toTag && status > 100 && opts.toTag) to += `;tag=${opts.toTag}`;
    lines.push(`To: ${to}`);
  }
  if (req.callId) lines.push(`Call-ID: ${req.callId}`);
  const cseq = req.cseqMethod ? `${req.cseq} ${req.cseqMethod}` : header(req, 'cseq');
  if (cseq) lines.push(`CSeq: ${cseq}`);
  for (const [k, v] of opts.headers ?? []) lines.push(`${k}: ${v}`);
  const body = opts.body ?? '';
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

/** The answer to a request that did not parse but can be answered (ParseResult.partial). */
export function serializeRejection(req: SipRequest, r: { reason: string; status?: 400 | 416 | 505 }): string {
  const status = r.status ?? 400;
  return serializeResponse(req, status, { reason: status === 400 ? 'Bad Request (' + r.reason + ')' : REASONS[status] });
}

/** Replace the top Via of a serialised request (used when the transport fills received/rport). */
export function withTopVia(req: SipRequest, via: Via): SipRequest {
  return { ...req, vias: [via, ...req.vias.slice(1)] };
}
