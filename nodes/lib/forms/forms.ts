/**
 * Every dialog's rules by node type: what the package's editor script (resources/, built
 * by scripts/build.js from this file) checks fields with. Each node's config parser uses
 * the same rules at deploy. Nothing here may need Node.js: the build refuses a module that
 * requires anything outside nodes/lib.
 */
import type { Form } from '../core/fields';
import { ACCOUNT_FORM } from '../sip/account-form';
import { SIP_CALL_FORM, SIP_IN_FORM } from '../calls/call-form';
import { DTMF_FORM } from '../media/dtmf-form';
import { TIME_WINDOW_FORM, WHITELIST_FORM } from '../access/access-forms';
import { DOOR_FORM } from '../door/door-form';
import { DOOR_OPEN_FORM, SNAPSHOT_FORM } from '../camera/snapshot-form';
import { JOURNAL_FORM } from '../journal/journal-form';
import { DOOR_PAGE_FORM } from '../page/page-form';

export { anything, fieldProblem, formProblems } from '../core/fields';
export { describeError } from '../core/describe';
export { numberPlanFor } from '../access/number-plans';

export const FORMS: Readonly<Record<string, Form>> = {
  'intercom-sip-account': ACCOUNT_FORM,
  'intercom-sip-in': SIP_IN_FORM,
  'intercom-sip-call': SIP_CALL_FORM,
  'intercom-dtmf': DTMF_FORM,
  'intercom-whitelist': WHITELIST_FORM,
  'intercom-time-window': TIME_WINDOW_FORM,
  'intercom-door': DOOR_FORM,
  'intercom-door-open': DOOR_OPEN_FORM,
  'intercom-snapshot': SNAPSHOT_FORM,
  'intercom-journal': JOURNAL_FORM,
  'intercom-door-page': DOOR_PAGE_FORM,
};
