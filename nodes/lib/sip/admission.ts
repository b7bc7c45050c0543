/**
 * Who may call us (the UAS decides, RFC 3261 §8.2): an INVITE from an allowed source is
 * admitted; one from anywhere else only when the registrar admits it by its digest
 * credentials (RFC 3261 §22.2; the registrar sends the 401 challenge itself); and either
 * only while fewer than `maxInboundCalls` inbound calls are up, since a door has a handful
 * of callers and more at once is a flood.
 */
import { admitted, type CidrRule } from '../net/cidr';
import type { SipRequest } from './message';
import type { ServerTransaction } from './transactions';
import type { Remote } from './transport';

export interface AdmissionPolicy {
  /** who may call; empty = everyone */
  allowedSources: CidrRule[];
  /** a second way in (registrar: a panel's digest); 'answered' = it answered the INVITE itself */
  admit?: (remote: Remote, req: SipRequest, tx: ServerTransaction) => boolean | 'answered';
  maxInboundCalls: number;
}

export type AdmissionVerdict = 'admitted' | 'answered' | 'forbidden' | 'overload';

export function admitInvite(policy: AdmissionPolicy, req: SipRequest, tx: ServerTransaction, remote: Remote, inboundCalls: number): AdmissionVerdict {
  let ok = admitted(policy.allowedSources, remote.address);
  if (!ok && policy.admit) {
    const r = policy.admit(remote, req, tx);
    if (r === 'answered') return 'answered';
    ok = r;
  }
  if (!ok) return 'forbidden';
  return inboundCalls >= policy.maxInboundCalls ? 'overload' : 'admitted';
}
