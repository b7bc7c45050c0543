/**
 * msg.access: what a whitelist decided, in the shape flows and the journal read. `result`
 * and `reason` are stable codes that flows switch on; the node adds the mode, the door and
 * the event the decision belongs to (journal-event.ts ties them together).
 */
import type { PinDecision } from './pin';
import type { Decision } from './rules';

export interface AccessRecord {
  result: 'allowed' | 'denied';
  reason: string;
  caller?: string;
  identity?: 'from' | 'asserted';
  rule?: string;
  /** a note code ('untrusted-pai'); the node puts its text in msg.access */
  note?: string;
  user?: string;
  triesLeft?: number;
  /** ISO time the lockout ends */
  lockedUntil?: string;
  scope?: 'caller' | 'door';
}

/** A denial for a reason outside the rules: 'bad-configuration', 'rules-invalid', 'internal-error'. */
export function denied(reason: string): AccessRecord {
  return { result: 'denied', reason };
}

export function callerAccess(d: Decision): AccessRecord {
  return { result: d.result, reason: d.reason, caller: d.caller, identity: d.identity, rule: d.rule, note: d.note };
}

export function pinAccess(d: PinDecision): AccessRecord {
  return {
    result: d.allowed ? 'allowed' : 'denied',
    reason: d.reason,
    user: d.user,
    triesLeft: d.triesLeft,
    lockedUntil: d.lockedUntil ? new Date(d.lockedUntil).toISOString() : undefined,
    scope: d.scope,
  };
}

/** The whole msg.access: the decision's fields that say something, then mode, door and event. */
export function accessMessage(a: AccessRecord, mode: 'caller' | 'pin', door: string, event: unknown): Record<string, unknown> {
  const fields = Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined));
  return { ...fields, mode, door: door || undefined, event };
}
