/**
 * Dialog state (RFC 3261 §12): Call-ID, both tags, the From and To we write, the remote
 * target and route set, our CSeq; set up from the INVITE we answer (UAS, §12.1.1) or from
 * the 2xx to the INVITE we sent (UAC, §12.1.2), and the requests we send inside it
 * (§12.2.1.1: BYE, INFO, ACK for a 2xx).
 */
import { header, headerOf, type HeaderList, headers as headerValues, parseNameAddr, type SipRequest, type SipResponse, splitComma } from './message';
import type { RequestSpec } from './transactions';
import type { Remote } from './transport';

export interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From (ours, with tag) and To (theirs, with tag) for requests we send in the dialog */
  localHeader: string;
  remoteHeader: string;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  remote: Remote;
}

/** §12.1.1: the dialog of an INVITE we answer. */
export function uasDialog(req: SipRequest, localTag: string, remote: Remote): Dialog {
  const contact = parseNameAddr(header(req, 'contact') ?? '');
  const from = parseNameAddr(header(req, 'from') ?? '');
  return {
    callId: req.callId,
    localTag,
    remoteTag: req.fromTag,
    localHeader: `${header(req, 'to')};tag=${localTag}`,
    remoteHeader: header(req, 'from') ?? '',
    remoteTarget: contact?.uri.toString() ?? from?.uri.toString() ?? req.uri,
    routeSet: headerValues(req, 'record-route').flatMap(splitComma),
    localSeq: Math.floor(Math.random() * 10000) + 1,
    // In-dialog requests go back where the INVITE came from, which works through NAT.
    remote,
  };
}

/** §12.1.2: the dialog a 2xx to our INVITE sets up (route set in reverse). */
export function uacDialog(invite: RequestSpec, res: SipResponse, localTag: string): Dialog {
  const contact = parseNameAddr(header(res, 'contact') ?? '');
  return {
    callId: headerOf(invite.headers, 'call-id'),
    localTag,
    remoteTag: res.toTag ?? '',
    localHeader: headerOf(invite.headers, 'from'),
    remoteHeader: header(res, 'to') ?? '',
    remoteTarget: contact?.uri.toString() ?? invite.uri,
    routeSet: headerValues(res, 'record-route').flatMap(splitComma).reverse(),
    localSeq: Number(headerOf(invite.headers, 'cseq').split(/\s+/)[0]),
    remote: invite.remote,
  };
}

/** How the endpoint finds the dialog of an in-dialog request: Call-ID and both tags. */
export function dialogKey(d: Dialog): string {
  return `${d.callId}|${d.localTag}|${d.remoteTag}`;
}

/** A request inside the dialog; `cseq` only for the ACK, which reuses the INVITE's (§13.2.2.4). */
export function dialogRequest(d: Dialog, method: string, userAgent: string, cseq?: number): RequestSpec {
  const seq = cseq ?? ++d.localSeq;
  const hs: HeaderList = [
    ...d.routeSet.map((r): [string, string] => ['Route', r]),
    ['Max-Forwards', '70'],
    ['From', d.localHeader],
    ['To', d.remoteHeader],
    ['Call-ID', d.callId],
    ['CSeq', `${seq} ${method}`],
  ];
  if (method !== 'ACK') hs.push(['User-Agent', userAgent]);
  return { method, uri: d.remoteTarget, headers: hs, remote: d.remote };
}
