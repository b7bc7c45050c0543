/**
 * The intercom-whitelist and intercom-time-window dialogs as rules (core/fields.ts). Each
 * rule is the very parser the node uses at deploy (whitelist-config.ts, rule-source.ts,
 * schedule.ts), so the editor flags exactly what the node would refuse. Rows the mode
 * hides are not checked.
 */
import { anything, choice, isEmpty, number, textOf, when, type Check, type Form, type Values } from '../core/fields';
import { cidrList } from '../net/host';
import { DEFAULT_PLAN, planDigits, planFrom, NATIONAL_DIGITS, type NumberPlan } from './number';
import { pinPolicy, POLICY_FIELDS, readPins } from './pin-list';
import { parseRuleSource } from './rules';
import { checkTimeZone, parseExceptions, parseRanges, WEEKDAYS } from './schedule';

const pinMode = (all: Values): boolean => all.mode === 'pin';
const callerMode = (all: Values): boolean => !pinMode(all);

/** The plan the rules are read with; a bad plan is its own field's problem, not the rules'. */
function planOf(all: Values): NumberPlan {
  try {
    return planFrom(all);
  } catch {
    return DEFAULT_PLAN;
  }
}

const timeZone: Check = (v) => {
  if (!isEmpty(v)) checkTimeZone(textOf(v));
};

const plan = (dflt: string): Check => (v, field) => void planDigits(v, field, dflt);

const policyNumber = (field: keyof typeof POLICY_FIELDS): Check => when(pinMode, number(POLICY_FIELDS[field]));

export const WHITELIST_FORM: Form = {
  fields: {
    name: anything,
    mode: choice(['caller', 'pin']),
    callerProp: anything,
    // the list is read with the number plan the dialog shows, as the node reads it
    rules: when(callerMode, (v, _field, all) => {
      if (!isEmpty(v)) parseRuleSource(String(v), planOf(all));
    }),
    rulesFile: anything,
    trustedSources: when(callerMode, cidrList),
    timezone: when(callerMode, timeZone),
    countryCode: plan(DEFAULT_PLAN.countryCode),
    trunkPrefix: plan(DEFAULT_PLAN.trunkPrefix),
    internationalPrefix: plan(DEFAULT_PLAN.internationalPrefix),
    nationalDigits: number(NATIONAL_DIGITS),
    pinProp: anything,
    pinLength: policyNumber('pinLength'),
    maxTries: policyNumber('maxTries'),
    maxDoorTries: policyNumber('maxDoorTries'),
    lockoutSec: policyNumber('lockoutSec'),
    maxLockoutMin: policyNumber('maxLockoutMin'),
  },
  credentials: {
    pins: when(pinMode, (v, _field, all) => {
      if (typeof v !== 'string' || isEmpty(v)) return;
      let length: number;
      try {
        length = pinPolicy(all).length;
      } catch {
        return; // the PIN length is wrong: that field says so
      }
      readPins(v, length);
    }),
  },
};

const day: Check = (v) => void parseRanges(textOf(v));

export const TIME_WINDOW_FORM: Form = {
  fields: {
    name: anything,
    timezone: timeZone,
    // Monday first, as the dialog lists them
    ...Object.fromEntries([...WEEKDAYS.slice(1), WEEKDAYS[0]].map((d) => [d, day])),
    exceptions: (v) => void parseExceptions(textOf(v)),
  },
};
