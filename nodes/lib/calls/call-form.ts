/**
 * The intercom-sip-call and intercom-sip-in dialogs as rules (core/fields.ts), and the
 * values the call actions check with them (actions.ts): the actions, DTMF digits, reject
 * codes, redirect targets, forward ring times. Rows the chosen action hides are not checked.
 */
import { IntercomError } from '../core/errors';
import { anything, choice, isEmpty, matching, number, textOf, when, type Check, type Form, type Values } from '../core/fields';
import { ACCOUNT_TOPICS, CALL_TOPICS } from '../sip/topics';
import { normalizeTarget, parseApartmentTable, parseTargets } from './forward-targets';

export const CALL_ACTIONS = ['answer', 'ring', 'reject', 'hangup', 'redirect', 'dial', 'cancel', 'play', 'dtmf', 'bridge', 'forward'] as const;
export type CallAction = (typeof CALL_ACTIONS)[number];

/** 1-32 DTMF keys */
export const DIGITS = /^[0-9*#A-Da-d]{1,32}$/;
/** A redirect's Contact: a SIP or tel URI, a user@host or a number; nothing that could leave the header. */
export const REDIRECT_TARGET = /^(?:(?:sips?|tel):)?[^\s<>"]{1,256}$/;
export const REJECT_CODE = { default: 486, min: 300, max: 699, integer: true };
/** ring times of a forward, in seconds */
export const RING_TIME = { default: 20, min: 0.1, max: 600 };
export const FORWARD_MODES = ['sequential', 'all'] as const;

const actionOf = (all: Values): string => textOf(all.action) || 'msg';
/** a row of the action, or of every action when it comes from msg.action */
const shown = (...actions: string[]) => (all: Values) => actionOf(all) === 'msg' || actions.includes(actionOf(all));

const targets: Check = (v) => void parseTargets(textOf(v));
const target: Check = (v) => {
  if (!isEmpty(v)) normalizeTarget(textOf(v));
};

export const SIP_CALL_FORM: Form = {
  fields: {
    name: anything,
    account: anything,
    action: choice(['msg', ...CALL_ACTIONS]),
    code: when(shown('reject'), number(REJECT_CODE)),
    target: when(shown('redirect'), matching(REDIRECT_TARGET, 'setting.redirectTarget')),
    prompt: anything,
    digits: when(shown('dtmf'), matching(DIGITS, 'setting.dtmfDigits')),
    targets: when(shown('forward'), targets),
    forwardMode: when(shown('forward'), choice(FORWARD_MODES)),
    ringTime: when(shown('forward'), number(RING_TIME)),
    monitor: when(shown('forward'), target),
    monitorTime: when(shown('forward'), number(RING_TIME)),
    apartments: when(shown('forward'), (v) => {
      if (!isEmpty(v)) parseApartmentTable(String(v));
    }),
  },
};

export const SIP_IN_EVENTS: readonly string[] = [...CALL_TOPICS, ...ACCOUNT_TOPICS];

/** The event filter of intercom-sip-in: names separated by commas, each one it sends. */
export function eventFilter(v: unknown, field = 'events'): Set<string> {
  const names = textOf(v).split(/[\s,]+/).filter(Boolean);
  const unknown = names.filter((n) => !SIP_IN_EVENTS.includes(n));
  if (unknown.length) throw new IntercomError('setting.events', { field, value: unknown.join(', ').slice(0, 60), allowed: SIP_IN_EVENTS.join(', ') });
  return new Set(names);
}

export const SIP_IN_FORM: Form = {
  fields: {
    name: anything,
    account: anything,
    events: (v, field) => void eventFilter(v, field),
  },
};
