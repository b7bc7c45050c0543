/**
 * The event topics intercom-sip-in sends: those of a call (sip/call.ts emits them) and
 * those of its account. Plain data, so the sip-in dialog checks its event filter with it.
 */
export const CALL_TOPICS = ['ring', 'progress', 'answered', 'cancelled', 'ended', 'dtmf', 'reinvite', 'redirected'] as const;
export const ACCOUNT_TOPICS = ['registered', 'unregistered'] as const;
