/** msg.call as flows see it: a plain copy of the call's info, safe to clone and store. */
import type { CallInfo } from './lib/sip/call';

export function callMessage(info: CallInfo): CallInfo {
  return { ...info, from: { ...info.from }, to: { ...info.to }, headers: { ...info.headers } };
}
