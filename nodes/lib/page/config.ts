/**
 * The door page's settings as the editor stores them, checked once by the one settings
 * policy (core/settings.ts): empty is the default, anything else valid or an error naming
 * the field by its label (label.<field> of intercom-door-page). What the page needs of the
 * SIP account (registrar mode, a WebSocket for browsers, an account per page user) is
 * checked against the account itself by `checkAccount`.
 */
import { IntercomError } from '../core/errors';
import { secondsSetting } from '../core/settings';

export interface PageDef {
  id: string;
  name?: string;
  /** URL path below httpNodeRoot, `/door` */
  path?: string;
  /** the extensions that may use this page, comma separated: `hall, kitchen` */
  users?: string;
  /** heading of the page; empty = the door's name */
  title?: string;
  /** seconds a Look shows the door before it stops by itself */
  lookSeconds?: string | number;
  /** seconds an Open waits for the flow's answer */
  openWait?: string | number;
}

export interface PageConfig {
  name: string;
  path: string;
  users: string[];
  title?: string;
  lookMs: number;
  openWaitMs: number;
}

/** A path such as /door or /doors/front: letters, digits and - . _ ~ between slashes. */
export const PAGE_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;
const USER = /^[A-Za-z0-9._~+-]{1,64}$/;
/** Paths of the page itself: a page path may not end in one of them (they would shadow each other). */
const RESERVED = new Set(['api', 'sipjs']);

/** The page's numbers as the dialog has them (seconds). */
export const PAGE_NUMBERS = {
  lookSeconds: { default: 60, min: 5, max: 3600 },
  openWait: { default: 10, min: 1, max: 120 },
} as const;

/** The URL path below httpNodeRoot ('/door' when empty), or an error naming the field. */
export function pagePath(v: unknown): string {
  const path = (typeof v === 'string' ? v : '').trim().replace(/\/+$/, '') || '/door';
  if (!PAGE_PATH.test(path) || path.split('/').some((p) => p === '.' || p === '..' || RESERVED.has(p))) {
    throw new IntercomError('page.badPath', { field: 'path', value: path.slice(0, 80) });
  }
  return path;
}

/** The extensions that may use the page: at least one, each a user name. */
export function pageUsers(v: unknown): string[] {
  const users = [...new Set((typeof v === 'string' ? v : '').split(/[\s,]+/).filter(Boolean))];
  for (const u of users) if (!USER.test(u)) throw new IntercomError('page.badUser', { field: 'users', value: u.slice(0, 64) });
  if (!users.length) throw new IntercomError('page.noUsers', { field: 'users' });
  return users;
}

export function pageConfig(def: PageDef): PageConfig {
  return {
    name: def.name?.trim() || def.id,
    path: pagePath(def.path),
    users: pageUsers(def.users),
    title: def.title?.trim() || undefined,
    lookMs: secondsSetting(def.lookSeconds, { field: 'lookSeconds', ...PAGE_NUMBERS.lookSeconds }),
    openWaitMs: secondsSetting(def.openWait, { field: 'openWait', ...PAGE_NUMBERS.openWait }),
  };
}

/** What the page needs to know of its SIP account. */
export interface AccountFacts {
  name: string;
  mode: string;
  /** the WebSocket transport's settings, undefined when the account serves no browsers */
  websocket?: { on: 'node-red' | 'port'; path: string; port?: number };
  /** the registrar's accounts (panels and pages) */
  registrarUsers: string[];
}

/** Why the account cannot carry this page, or nothing: registrar mode, a WebSocket, an account per user. */
export function checkAccount(cfg: PageConfig, account: AccountFacts): void {
  if (account.mode !== 'registrar') throw new IntercomError('page.accountNotRegistrar', { account: account.name, mode: account.mode });
  if (!account.websocket) throw new IntercomError('page.accountNoWebSocket', { account: account.name });
  const missing = cfg.users.filter((u) => !account.registrarUsers.includes(u));
  if (missing.length) throw new IntercomError('page.userNotOnAccount', { users: missing.join(', ').slice(0, 200), account: account.name });
}
