/**
 * Texts the access and Home Assistant nodes pick by a code at run time (`reason.<code>`,
 * `ha.state.<state>`, …): the source scan cannot see those keys, so every code the core
 * can return is listed here, and tsc fails this file when a code is added to its type
 * without being listed (the Exhaustive checks below).
 */
import type { Refusal, RuleOrigin } from '../../nodes/lib/access/rule-source';
import type { PinReason } from '../../nodes/lib/access/pin';
import type { CallerReason } from '../../nodes/lib/access/rules';
import { WEEKDAYS } from '../../nodes/lib/access/schedule';
import type { DoorCommand } from '../../nodes/lib/homeassistant/discovery';
import type { LinkState } from '../../nodes/lib/homeassistant/link';
import type { Resolution } from '../../nodes/lib/homeassistant/notify';
import type { ListKind, Place } from '../../nodes/lib/access/problems';
import { texts } from '../../nodes/shared/i18n';
import { partsStatus } from '../../nodes/shared/home-assistant';
import type { RED } from '../../nodes/shared/red';
import { missingKeys, translate } from '../helpers/i18n';

/** true only when every member of U is in the listed tuple */
type Exhaustive<U, L extends readonly unknown[]> = [Exclude<U, L[number]>] extends [never] ? true : false;
const exhaustive = <U>() => <const L extends readonly U[]>(list: L & (Exhaustive<U, L> extends true ? unknown : never)): L => list;

const CALLER = exhaustive<CallerReason>()(['listed', 'denied-by-rule', 'not-listed', 'no-rules', 'missing-caller', 'malformed-caller', 'door-not-allowed', 'source-not-allowed', 'identity-not-asserted', 'outside-time-window']);
const PIN = exhaustive<PinReason>()(['pin-ok', 'pin-wrong', 'pin-length', 'pin-malformed', 'pin-missing', 'no-pins', 'lockout', 'locked-out']);
const REFUSAL = exhaustive<Refusal>()(['fileUnreadable', 'fileRejected', 'editorRejected', 'msgRejected', 'msgNotSaved']);
const ORIGIN = exhaustive<Exclude<RuleOrigin['kind'], 'file'>>()(['editor', 'msg']);
const LIST = exhaustive<ListKind>()(['rules', 'pins', 'exceptions', 'weekly']);
const PLACE = exhaustive<keyof UnionToIntersection<Place>>()(['line', 'rule', 'entry', 'key', 'day']);
const LINK = exhaustive<LinkState | 'missing'>()(['idle', 'connecting', 'connected', 'disconnected', 'auth-rejected', 'misconfigured', 'closed', 'missing']);
const EXPIRED = exhaustive<Extract<Resolution, { kind: 'expired' }>['reason']>()(['timeout', 'call-ended', 'already-used', 'replaced']);
const COMMAND = exhaustive<DoorCommand>()(['open', 'lock', 'unlock']);
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

const has = (key: string): boolean => {
  missingKeys.clear();
  translate(key, { count: 2 });
  const ok = !missingKeys.has(key);
  missingKeys.clear();
  return ok;
};
const missing = (keys: string[]): string[] => keys.filter((k) => !has(k));

describe('texts chosen by a code at run time', () => {
  test('whitelist: every reason, refusal, origin and note', () => {
    expect(missing([...CALLER, ...PIN].map((r) => `intercom-whitelist.reason.${r}`))).toEqual([]);
    expect(missing(REFUSAL.map((r) => `intercom-whitelist.refused.${r}`))).toEqual([]);
    expect(missing(ORIGIN.map((o) => `intercom-whitelist.origin.${o}`))).toEqual([]);
    expect(missing(['intercom-whitelist.note.untrusted-pai'])).toEqual([]);
  });

  test('lists: every kind and place', () => {
    expect(missing(LIST.map((l) => `intercom.errors.access.${l}Invalid`))).toEqual([]);
    expect(missing(PLACE.map((p) => `intercom.access.at.${p}`))).toEqual([]);
  });

  test('time window and schedule errors: every weekday', () => {
    expect(missing(WEEKDAYS.map((d) => `intercom-time-window.dayShort.${d}`))).toEqual([]);
    expect(missing(WEEKDAYS.map((d) => `intercom.access.weekday.${d}`))).toEqual([]);
  });

  test('Home Assistant: every link state and part; notify refusals; door commands and states', () => {
    expect(missing(LINK.map((s) => `intercom.ha.state.${s}`))).toEqual([]);
    expect(missing(['mqtt', 'ws'].map((p) => `intercom.ha.part.${p}`))).toEqual([]);
    expect(missing(EXPIRED.map((r) => `intercom-notify.reason.${r}`))).toEqual([]);
    expect(missing(COMMAND.map((c) => `intercom-ha-door.command.${c}`))).toEqual([]);
    expect(missing(['locked', 'unlocked'].map((t) => `intercom-ha-door.last.${t}`))).toEqual([]);
  });

  test('the shared status of the connection parts reads as before', () => {
    const T = texts({ _: (k: string, p?: Record<string, unknown>) => translate(k, p) } as unknown as RED, 'intercom-ha-door');
    expect(partsStatus(T, [{ part: 'mqtt', state: 'connected' }, { part: 'ws', state: 'connected' }], 'open by Owner')).toEqual({ fill: 'green', shape: 'dot', text: 'MQTT connected, HA connected · open by Owner' });
    expect(partsStatus(T, [{ part: 'mqtt', state: 'auth-rejected' }])).toEqual({ fill: 'red', shape: 'ring', text: 'MQTT auth rejected' });
    expect(partsStatus(T, [{ part: 'ws', state: 'missing' }])).toEqual({ fill: 'red', shape: 'ring', text: 'HA not configured' });
    expect(partsStatus(T, [{ part: 'mqtt', state: 'connecting' }])).toMatchObject({ fill: 'yellow', shape: 'ring' });
  });
});
