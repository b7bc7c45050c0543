/**
 * The intercom-door-page dialog as rules (core/fields.ts), for page config at deploy and
 * for the editor. What the page needs of its SIP account (registrar mode, a WebSocket, an
 * account per user) depends on another node: the dialog and `checkAccount` check that.
 */
import { anything, number, type Form } from '../core/fields';
import { PAGE_NUMBERS, pagePath, pageUsers } from './config';

export const DOOR_PAGE_FORM: Form = {
  fields: {
    name: anything,
    path: (v) => void pagePath(v),
    users: (v) => void pageUsers(v),
    title: anything,
    lookSeconds: number(PAGE_NUMBERS.lookSeconds),
    openWait: number(PAGE_NUMBERS.openWait),
  },
};
