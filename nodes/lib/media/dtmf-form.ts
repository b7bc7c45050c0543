/**
 * The intercom-dtmf dialog as rules (core/fields.ts), from the settings collectorSettings
 * reads and the checks DtmfCollector makes when it starts (dtmf-collector.ts).
 */
import { IntercomError } from '../core/errors';
import { anything, choice, isEmpty, matching, number, textOf, type Check, type Form, type Values } from '../core/fields';
import { DTMF_KEY, DTMF_MODES, DTMF_NUMBERS, DTMF_SCOPES } from './dtmf-collector';

const positive = (v: unknown): boolean => !isEmpty(v) && Number(textOf(v)) > 0;

/** A sequence must end somehow: a length, an end key or a timeout (DtmfCollector refuses it otherwise). */
const sequenceEnds: Check = (v, field, all: Values) => {
  number(DTMF_NUMBERS.length)(v, field, all);
  if (textOf(all.mode) !== 'sequence') return;
  const timeout = (f: 'interDigitTimeout' | 'totalTimeout'): boolean => (isEmpty(all[f]) ? DTMF_NUMBERS[f].default > 0 : positive(all[f]));
  if (!positive(v) && isEmpty(all.terminator) && !timeout('interDigitTimeout') && !timeout('totalTimeout')) throw new IntercomError('setting.sequenceNeverEnds', { field });
};

export const DTMF_FORM: Form = {
  fields: {
    name: anything,
    scope: choice(DTMF_SCOPES),
    mode: choice(DTMF_MODES),
    length: sequenceEnds,
    terminator: matching(DTMF_KEY, 'setting.dtmfKey'),
    interDigitTimeout: number(DTMF_NUMBERS.interDigitTimeout),
    totalTimeout: number(DTMF_NUMBERS.totalTimeout),
  },
};
