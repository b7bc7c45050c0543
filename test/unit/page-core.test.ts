/**
 * The door page's core without a browser: its settings, the digest login (only the page's
 * users, the same answer for a wrong password and an unknown user, a wait for an address
 * that keeps failing, tokens that end), Open as requests to the flow (a press sent twice
 * is one, one press per user at a time, the flow's answer read from its message), and the
 * page's language from Accept-Language.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { IntercomError } from '../../nodes/lib/core/errors';
import { authorize, parseChallenge } from '../../nodes/lib/auth/digest';
import { checkAccount, pageConfig } from '../../nodes/lib/page/config';
import { OpenRequests, outcomeOf } from '../../nodes/lib/page/opens';
import { PageSessions } from '../../nodes/lib/page/sessions';
import { PageCatalog } from '../../nodes/lib/page/texts';

function refusal(fn: () => unknown): { code: string; params: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IntercomError);
    return { code: (err as IntercomError).code, params: (err as IntercomError).params };
  }
  throw new Error('did not throw');
}

describe('door page settings', () => {
  test('defaults: /door, 60 s Look, 10 s wait for the flow', () => {
    expect(pageConfig({ id: 'p1', users: 'hall, kitchen' })).toEqual({ name: 'p1', path: '/door', users: ['hall', 'kitchen'], title: undefined, lookMs: 60_000, openWaitMs: 10_000 });
    expect(pageConfig({ id: 'p', path: '/doors/front/', users: ' hall ', lookSeconds: '30', openWait: 2 })).toMatchObject({ path: '/doors/front', lookMs: 30_000, openWaitMs: 2000 });
  });

  test.each([
    [{ path: 'door' }, 'page.badPath', 'path'],
    [{ path: '/door/../admin' }, 'page.badPath', 'path'],
    [{ path: '/door/api' }, 'page.badPath', 'path'],
    [{ path: '/a b' }, 'page.badPath', 'path'],
    [{ users: '' }, 'page.noUsers', 'users'],
    [{ users: 'hall, bad"user' }, 'page.badUser', 'users'],
    [{ lookSeconds: '2' }, 'setting.number', 'lookSeconds'],
    [{ openWait: 'soon' }, 'setting.number', 'openWait'],
  ])('%j is refused naming its field', (bad, code, field) => {
    const r = refusal(() => pageConfig({ id: 'p', users: 'hall', ...bad }));
    expect(r).toMatchObject({ code, params: { field } });
  });

  test('the account must be a registrar serving browsers, with an account per page user', () => {
    const cfg = pageConfig({ id: 'p', users: 'hall, kitchen' });
    const ok = { name: 'door', mode: 'registrar', websocket: { on: 'node-red' as const, path: '/sip' }, registrarUsers: ['panel', 'hall', 'kitchen'] };
    expect(() => checkAccount(cfg, ok)).not.toThrow();
    expect(refusal(() => checkAccount(cfg, { ...ok, mode: 'p2p' })).code).toBe('page.accountNotRegistrar');
    expect(refusal(() => checkAccount(cfg, { ...ok, websocket: undefined })).code).toBe('page.accountNoWebSocket');
    expect(refusal(() => checkAccount(cfg, { ...ok, registrarUsers: ['panel', 'hall'] }))).toMatchObject({ code: 'page.userNotOnAccount', params: { users: 'kitchen' } });
  });
});

describe('the digest login', () => {
  const passwords: Record<string, string> = { hall: 'hall-pw', panel: 'panel-pw' };
  let now = 1_000_000;
  const sessions = (o: Partial<ConstructorParameters<typeof PageSessions>[0]> = {}) =>
    new PageSessions({ realm: 'door.local', users: ['hall'], password: (u) => passwords[u], now: () => now, ...o });
  const answer = (s: PageSessions, user: string, password: string, nc = 1) => authorize(parseChallenge(s.challenge())!, { user, password }, 'POST', '/door/api/login', nc);

  test('a page user with the password gets a token; the token names the user', () => {
    const s = sessions();
    const r = s.login(answer(s, 'hall', 'hall-pw'), '127.0.0.2');
    expect(r).toMatchObject({ ok: true, user: 'hall' });
    const token = (r as { token: string }).token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.check(token)).toMatchObject({ user: 'hall', address: '127.0.0.2' });
    expect(s.check(token + 'x')).toBeUndefined();
    expect(s.check(undefined)).toBeUndefined();
  });

  test('a wrong password, an unknown user and an account that is not a page user get the same refusal', () => {
    const s = sessions();
    expect(s.login(answer(s, 'hall', 'nope'), 'a')).toEqual({ ok: false, why: 'refused' });
    expect(s.login(answer(s, 'ghost', 'x'), 'a')).toEqual({ ok: false, why: 'refused' });
    // the panel's account exists on the SIP account, but it is not a user of this page
    expect(s.login(answer(s, 'panel', 'panel-pw'), 'a')).toEqual({ ok: false, why: 'refused' });
    expect(s.login('Basic aGFsbDpoYWxsLXB3', 'a')).toEqual({ ok: false, why: 'refused' });
  });

  test('a replayed answer, a nonce from elsewhere or an old one gets a new challenge, never a session', () => {
    const s = sessions();
    const a = answer(s, 'hall', 'hall-pw');
    expect(s.login(a, 'a').ok).toBe(true);
    expect(s.login(a, 'a')).toEqual({ ok: false, why: 'stale' });
    const other = sessions();
    expect(s.login(answer(other, 'hall', 'hall-pw'), 'a')).toEqual({ ok: false, why: 'stale' });
    const old = answer(s, 'hall', 'hall-pw');
    now += 10 * 60_000;
    expect(s.login(old, 'a')).toEqual({ ok: false, why: 'stale' });
  });

  test('an address that keeps failing is told to wait, others are not', () => {
    const s = sessions({ maxFailures: 3, failureWindowMs: 60_000 });
    for (let i = 0; i < 3; i++) expect(s.login(answer(s, 'hall', 'x'), 'bad').ok).toBe(false);
    expect(s.login(answer(s, 'hall', 'hall-pw'), 'bad')).toEqual({ ok: false, why: 'wait' });
    expect(s.login(answer(s, 'hall', 'hall-pw'), 'good').ok).toBe(true);
    now += 61_000;
    expect(s.login(answer(s, 'hall', 'hall-pw'), 'bad').ok).toBe(true);
  });

  test('an unused session ends, a used one lives on; the oldest goes when there are too many; clear ends all', () => {
    const s = sessions({ idleMs: 1000, maxSessions: 2 });
    const t1 = (s.login(answer(s, 'hall', 'hall-pw'), 'a') as { token: string }).token;
    now += 900;
    expect(s.check(t1)).toBeDefined();
    now += 900;
    expect(s.check(t1)).toBeDefined();
    now += 1100;
    expect(s.check(t1)).toBeUndefined();
    const [a, b, c] = [1, 2, 3].map(() => {
      now += 1; // a fresh nonce each (one per millisecond)
      return (s.login(answer(s, 'hall', 'hall-pw'), 'a') as { token: string }).token;
    });
    expect(s.check(a)).toBeUndefined();
    expect(s.check(b) && s.check(c)).toBeTruthy();
    s.clear();
    expect(s.check(c)).toBeUndefined();
  });
});

describe('Open as requests to the flow', () => {
  jest.useFakeTimers({ doNotFake: ['queueMicrotask'] });
  afterAll(() => jest.useRealTimers());
  let now = 0;
  const opens = () => new OpenRequests({ waitMs: 5000, minIntervalMs: 1500, now: () => now });

  test('a press is one request until the flow answers; the same press sent again is the same request', async () => {
    const o = opens();
    const a = o.begin('hall', 'key-aaaaaaaa');
    const again = o.begin('hall', 'key-aaaaaaaa');
    if (!('request' in a) || !('request' in again)) throw new Error('refused');
    expect(a.fresh).toBe(true);
    expect(again.fresh).toBe(false);
    expect(again.request.id).toBe(a.request.id);
    expect(o.answer(a.request.id, { result: 'ok' })).toBe(true);
    await expect(a.request.done).resolves.toEqual({ result: 'ok' });
    expect(o.answer(a.request.id, { result: 'ok' })).toBe(false);
  });

  test('one press per user at a time, and not faster than the interval; other users are not held up', () => {
    const o = opens();
    expect('request' in o.begin('hall', 'key-1111111')).toBe(true);
    expect(o.begin('hall', 'key-2222222')).toEqual({ refused: 'busy' });
    expect('request' in o.begin('kitchen', 'key-3333333')).toBe(true);
    const o2 = opens();
    const first = o2.begin('hall', 'key-4444444');
    if ('request' in first) o2.answer(first.request.id, { result: 'ok' });
    now += 1000;
    expect(o2.begin('hall', 'key-5555555')).toEqual({ refused: 'too-soon' });
    now += 600;
    expect('request' in o2.begin('hall', 'key-6666666')).toBe(true);
  });

  test('no answer in time says so; close answers every waiting press', async () => {
    const o = opens();
    const a = o.begin('hall', 'key-7777777');
    jest.advanceTimersByTime(5001);
    if ('request' in a) await expect(a.request.done).resolves.toEqual({ result: 'no-answer' });
    now += 5000;
    const b = o.begin('hall', 'key-8888888');
    o.close();
    if ('request' in b) await expect(b.request.done).resolves.toEqual({ result: 'closed' });
    expect(o.begin('kitchen', 'key-9999999')).toEqual({ refused: 'busy' });
  });

  test("the flow's answer: door-open's ok, else why not", () => {
    expect(outcomeOf({ payload: 'ok' })).toEqual({ result: 'ok' });
    expect(outcomeOf({ payload: true })).toEqual({ result: 'ok' });
    expect(outcomeOf({ payload: 'failed', door: { error: 'authentication refused (HTTP 401)' } })).toEqual({ result: 'failed', reason: 'authentication refused (HTTP 401)' });
    expect(outcomeOf({ payload: 'denied', access: { reason: 'out of hours' } })).toEqual({ result: 'failed', reason: 'out of hours' });
    expect(outcomeOf({ payload: 'denied' })).toEqual({ result: 'failed', reason: 'denied' });
    expect(outcomeOf({ payload: 'failed' })).toEqual({ result: 'failed', reason: undefined });
    expect(outcomeOf({ payload: 'open' })).toEqual({ result: 'failed', reason: undefined });
    expect(outcomeOf({ payload: { open: true } })).toEqual({ result: 'failed', reason: undefined });
  });
});

describe("the page's language", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'page-texts-'));
    for (const [lang, word] of [['en-US', 'Open'], ['de', 'Öffnen'], ['ru', 'Открыть']]) {
      mkdirSync(path.join(dir, lang));
      writeFileSync(path.join(dir, lang, 'intercom-door-page.json'), JSON.stringify({ 'intercom-door-page': { label: {}, page: { open: word } } }));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['de-DE,de;q=0.9,en;q=0.8', 'de'],
    ['ru', 'ru'],
    ['fr-FR,fr;q=0.9,de;q=0.5', 'de'],
    ['en-GB', 'en-US'],
    ['fr', 'en-US'],
    [undefined, 'en-US'],
    ['de;q=0, ru;q=0.2', 'ru'],
  ])('%s → %s', (accept, lang) => {
    const c = new PageCatalog(dir);
    expect(c.pick(accept)).toBe(lang);
  });

  test("the page's words are the page section of the catalog", () => {
    expect(new PageCatalog(dir).texts('de')).toEqual({ open: 'Öffnen' });
  });

  test('the shipped catalog has every word the page script asks for', () => {
    const { readFileSync } = require('node:fs') as typeof import('node:fs');
    const root = path.resolve(__dirname, '../..');
    const en = new PageCatalog(path.join(root, 'locales')).texts('en-US');
    const scripts = ['door-page.js', 'index.html'].map((f) => readFileSync(path.join(root, 'nodes/assets/door-page', f), 'utf8')).join('\n');
    const keys = new Set([...scripts.matchAll(/\bt\('([A-Za-z]+)'/g), ...scripts.matchAll(/data-t="([A-Za-z]+)"/g), ...scripts.matchAll(/\bt\(\w+ \? '([A-Za-z]+)' : '([A-Za-z]+)'/g)].flatMap((m) => m.slice(1).filter(Boolean)));
    expect(keys.size).toBeGreaterThan(30);
    expect([...keys].filter((k) => typeof en[k] !== 'string')).toEqual([]);
    // and the script writes no words of its own into the page
    expect(scripts.match(/textContent\s*=\s*['"`][A-Za-z]/g)).toBeNull();
    expect(scripts).not.toMatch(/innerHTML/);
  });
});
