/** What the SIP flow nodes show of calls and accounts, shared by sip-in, sip-call and the account node. */
import type { StatusDetail } from './lib/sip/account';
import type { CallInfo } from './lib/sip/call';
import type { Texts } from './shared/i18n';

/** msg.call as flows see it: a plain copy of the call's info, safe to clone and store. */
export function callMessage(info: CallInfo): CallInfo {
  return { ...info, from: { ...info.from }, to: { ...info.to }, headers: { ...info.headers } };
}

/**
 * The detail of an account status in words: our address of record when registered, why
 * registration failed (intercom.sip.registration.<reason>), where it listens when bound.
 */
export function statusDetailText(T: Texts, d: StatusDetail): string {
  if (d.aor) return d.aor;
  if (d.reason) return T.common(`sip.registration.${d.reason}`, { status: d.status });
  if (d.unregistered) return T.common('sip.registration.unregistered');
  return d.listen ?? '';
}
