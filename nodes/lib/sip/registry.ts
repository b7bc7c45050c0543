/**
 * Live calls by id across every account, so other nodes (dtmf, door-open by DTMF) can find
 * the call a message refers to without knowing which account carries it.
 */
import type { Call } from './call';
import type { SipAccount } from './account';

export interface CallLookup {
  getCall(id: string): Call | undefined;
}

const sources = new Set<CallLookup>();

export const callRegistry = {
  add(source: CallLookup): void {
    sources.add(source);
  },
  remove(source: CallLookup): void {
    sources.delete(source);
  },
  /** The live call with this id (msg.call.id), or undefined when it has ended or is unknown. */
  getCall(id: string): Call | undefined {
    for (const s of sources) {
      const c = s.getCall(id);
      if (c) return c;
    }
    return undefined;
  },
};

const accounts = new Map<string, SipAccount>();

/** Started accounts by name, so a flow can route a call to one (msg.account). */
export const accountRegistry = {
  add(account: SipAccount): void {
    accounts.set(account.config.name, account);
  },
  remove(account: SipAccount): void {
    if (accounts.get(account.config.name) === account) accounts.delete(account.config.name);
  },
  get(name: string): SipAccount | undefined {
    return accounts.get(name);
  },
};
