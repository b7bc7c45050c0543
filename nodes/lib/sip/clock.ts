/**
 * Time as the transaction layer sees it. Injected so the RFC 3261 §17 timers can be
 * tested by advancing a fake clock instead of waiting 32 seconds.
 */
export type TimerHandle = { readonly __timer: unique symbol } | object;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // SIP timers must never keep Node-RED (or a test runner) alive on their own.
    t.unref();
    return t;
  },
  clearTimeout: (h) => {
    if (h) clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

/** RFC 3261 §17.1.1.1 timer values; T1 = RTT estimate, T2 = cap for non-INVITE, T4 = network lifetime. */
export interface SipTimers {
  T1: number;
  T2: number;
  T4: number;
}
export const defaultTimers: SipTimers = { T1: 500, T2: 4000, T4: 5000 };
