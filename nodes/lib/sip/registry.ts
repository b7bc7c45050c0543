/**
 * Live calls by id across every account, so other nodes (dtmf, door-open by DTMF) can find
 * the call a message refers to without knowing which account carries it. (Accounts by
 * name are account.ts's accountRegistry: this file knows calls only.)
 */
import type { Call } from './call';

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
