import { evaluate, instantParts, localToInstant, makeSchedule, nextScheduleChange, parseExceptions, parseOverride, parseWeekSpec, scheduleOpen, weeklyFromDays } from '../../nodes/lib/access/schedule';
import { isIntercomError } from '../../nodes/lib/core/errors';
import { texts } from '../../nodes/shared/i18n';
import { describeProblems } from '../../nodes/shared/problems';
import type { RED } from '../../nodes/shared/red';
import { translate } from '../helpers/i18n';

// What the user reads: the error through the real en-US catalog, as the node shows it.
const T = texts({ _: (k: string, p?: Record<string, unknown>) => translate(k, p) } as unknown as RED, 'intercom-time-window');
function shown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return describeProblems(T, err);
  }
  return '(nothing thrown)';
}
const codeOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return isIntercomError(err) ? err.code : err;
  }
  return undefined;
};

const Z = (iso: string) => Date.parse(iso);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

describe('weekly schedules', () => {
  test('a range across midnight belongs to its start day and spills into the next morning', () => {
    const s = makeSchedule({ timezone: 'UTC', weekly: 'mon 18:00-09:00' });
    expect(scheduleOpen(s, Z('2026-06-08T17:59:00Z')).open).toBe(false); // Mon
    expect(scheduleOpen(s, Z('2026-06-08T18:00:00Z')).open).toBe(true);
    expect(scheduleOpen(s, Z('2026-06-08T23:59:59Z')).open).toBe(true);
    expect(scheduleOpen(s, Z('2026-06-09T00:00:00Z')).open).toBe(true); // Tue, from Monday's range
    expect(scheduleOpen(s, Z('2026-06-09T08:59:00Z')).open).toBe(true);
    expect(scheduleOpen(s, Z('2026-06-09T09:00:00Z')).open).toBe(false);
    expect(scheduleOpen(s, Z('2026-06-09T18:00:00Z')).open).toBe(false); // Tuesday has no range
    expect(iso(nextScheduleChange(s, Z('2026-06-08T20:00:00Z')))).toBe('2026-06-09T09:00:00.000Z');
  });

  test('parking: weekdays 09:00-18:00, the next change is the next edge', () => {
    const s = makeSchedule({ timezone: 'Europe/Moscow', weekly: 'mon-fri 09:00-18:00' });
    // Friday 17:00 MSK (UTC+3) is open, closes at 18:00, reopens Monday 09:00.
    const fri = Z('2026-06-12T14:00:00Z');
    expect(evaluate(s, fri)).toEqual({ open: true, reason: 'schedule', nextChange: Z('2026-06-12T15:00:00Z') });
    expect(iso(nextScheduleChange(s, Z('2026-06-12T15:00:00Z')))).toBe('2026-06-15T06:00:00.000Z');
  });

  test('Europe/Berlin spring forward (2026-03-29): 09:00 is 07:00Z after the switch, 08:00Z before', () => {
    const s = makeSchedule({ timezone: 'Europe/Berlin', weekly: 'daily 09:00-18:00' });
    expect(scheduleOpen(s, Z('2026-03-28T08:00:00Z')).open).toBe(true);
    expect(scheduleOpen(s, Z('2026-03-29T06:59:00Z')).open).toBe(false);
    expect(scheduleOpen(s, Z('2026-03-29T07:00:00Z')).open).toBe(true);
    expect(iso(nextScheduleChange(s, Z('2026-03-28T20:00:00Z')))).toBe('2026-03-29T07:00:00.000Z');
    expect(iso(nextScheduleChange(s, Z('2026-03-29T07:00:00Z')))).toBe('2026-03-29T16:00:00.000Z');
  });

  test('Europe/Berlin: a range starting inside the skipped hour opens when the clock jumps', () => {
    const s = makeSchedule({ timezone: 'Europe/Berlin', weekly: 'sun 02:30-04:00' });
    expect(iso(localToInstant('Europe/Berlin', 2026, 3, 29, 150))).toBe('2026-03-29T01:00:00.000Z');
    expect(iso(nextScheduleChange(s, Z('2026-03-28T23:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
    expect(scheduleOpen(s, Z('2026-03-29T00:59:59Z')).open).toBe(false);
  });

  test('Europe/Berlin fall back (2026-10-25): 09:00 is 08:00Z', () => {
    const s = makeSchedule({ timezone: 'Europe/Berlin', weekly: 'daily 09:00-18:00' });
    expect(iso(nextScheduleChange(s, Z('2026-10-24T20:00:00Z')))).toBe('2026-10-25T08:00:00.000Z');
    expect(scheduleOpen(s, Z('2026-10-25T07:30:00Z')).open).toBe(false);
  });

  test('America/New_York: the overnight range is an hour shorter on 2026-03-08, longer on 2026-11-01', () => {
    const s = makeSchedule({ timezone: 'America/New_York', weekly: 'daily 18:00-09:00' });
    // Sat 2026-03-07 18:00 EST = 23:00Z; Sun 09:00 EDT = 13:00Z: 14 hours, not 15.
    expect(iso(nextScheduleChange(s, Z('2026-03-07T22:00:00Z')))).toBe('2026-03-07T23:00:00.000Z');
    expect(iso(nextScheduleChange(s, Z('2026-03-07T23:00:00Z')))).toBe('2026-03-08T13:00:00.000Z');
    // Sat 2026-10-31 18:00 EDT = 22:00Z; Sun 09:00 EST = 14:00Z: 16 hours.
    expect(iso(nextScheduleChange(s, Z('2026-10-31T22:00:00Z')))).toBe('2026-11-01T14:00:00.000Z');
    expect(scheduleOpen(s, Z('2026-11-01T13:30:00Z')).open).toBe(true); // 08:30 EST
  });

  test('leap day: an exception on 2028-02-29 and a spill from it into March', () => {
    const s = makeSchedule({ timezone: 'UTC', weekly: 'mon-fri 09:00-18:00; tue 20:00-08:00', exceptions: '2028-02-29 10:00-12:00' });
    // 2028-02-29 is a Tuesday: the exception replaces Tuesday's ranges (both of them).
    expect(evaluate(s, Z('2028-02-29T09:30:00Z'))).toMatchObject({ open: false, reason: 'exception', nextChange: Z('2028-02-29T10:00:00Z') });
    expect(scheduleOpen(s, Z('2028-02-29T11:00:00Z')).open).toBe(true);
    expect(scheduleOpen(s, Z('2028-03-01T07:00:00Z')).open).toBe(false); // no Tuesday night range that day
    expect(scheduleOpen(s, Z('2028-03-08T07:00:00Z')).open).toBe(true); // a normal Tuesday night spills
    expect(shown(() => parseExceptions('2027-02-29 closed'))).toBe('exceptions: line 1: bad date "2027-02-29" (want YYYY-MM-DD)');
    // every bad line at once
    expect(shown(() => parseExceptions('2027-02-29 closed\n2027-03-01 ok\n2027-01-05..2027-01-01 closed'))).toMatch(/^exceptions: line 1: bad date .*; line 2: bad time range "ok" .*; line 3: bad date span/);
  });

  test('holiday spans and one-off openings', () => {
    const ex = parseExceptions('# new year\n2026-12-31..2027-01-02 closed\n2027-01-03 10:00-12:00');
    expect([...ex.keys()]).toEqual(['2026-12-31', '2027-01-01', '2027-01-02', '2027-01-03']);
    expect(ex.get('2027-01-01')).toEqual([]);
  });

  test('an override (open house for 2 hours) wins, then the schedule takes over', () => {
    const s = makeSchedule({ timezone: 'UTC', weekly: 'mon-fri 09:00-18:00' });
    const t = Z('2026-06-13T12:00:00Z'); // Saturday
    const st = evaluate(s, t, { open: true, until: t + 7200000 });
    expect(st).toEqual({ open: true, reason: 'override', nextChange: t + 7200000 });
    expect(evaluate(s, t + 7200000, { open: true, until: t + 7200000 }).open).toBe(false);
  });

  test('bad specs are errors naming what is wrong', () => {
    expect(shown(() => parseWeekSpec('mon-fri 9-18'))).toBe('bad time range "9-18" (want HH:MM-HH:MM)');
    expect(shown(() => parseWeekSpec('moon 09:00-10:00'))).toBe('bad weekday "moon"');
    expect(shown(() => parseWeekSpec('mon 09:00-09:00'))).toMatch(/^empty time range/);
    expect(shown(() => parseWeekSpec('mon 25:00-26:00'))).toMatch(/^bad time "25:00"/);
    expect(codeOf(() => makeSchedule({ timezone: 'Mars/Olympus' }))).toBe('access.schedule.badTimeZone');
    expect(shown(() => makeSchedule({ timezone: 'Mars/Olympus' }))).toBe('unknown time zone "Mars/Olympus"');
    expect(parseWeekSpec('sat,sun 00:00-24:00')[0]).toEqual([{ start: 0, end: 1440 }]);
    expect(parseWeekSpec('mon 09:00 - 12:00, 13:00-18:00 20:00–22:00')[1]).toEqual([
      { start: 540, end: 720 },
      { start: 780, end: 1080 },
      { start: 1200, end: 1320 },
    ]);
    expect(shown(() => parseWeekSpec('mon 09:00-12:00 and more'))).toBe('bad time range "09:00-12:00 and more" (want HH:MM-HH:MM)');
  });
});

describe('the editor\'s week, overrides and status parts', () => {
  test('one field a weekday; every bad field is named, by the name its dialog field has', () => {
    const w = weeklyFromDays({ mon: '09:00-18:00', sat: 'closed', sun: '' });
    expect(w[1]).toEqual([{ start: 540, end: 1080 }]);
    expect(w[6]).toEqual([]);
    expect(w[3]).toEqual([]);
    expect(shown(() => weeklyFromDays({ mon: '9-18', fri: '10:00-10:00' }))).toBe('Monday: bad time range "9-18" (want HH:MM-HH:MM); Friday: empty time range "10:00-10:00"');
  });

  test('overrides by msg: open/closed for minutes or until a time, auto clears, anything else is refused', () => {
    const now = Z('2026-06-13T12:00:00Z');
    expect(parseOverride({ state: 'open', minutes: 120, note: 'open house' }, now)).toEqual({ open: true, until: now + 7_200_000, note: 'open house' });
    expect(parseOverride('closed', now)).toEqual({ open: false, until: now + 3_600_000, note: undefined });
    expect(parseOverride({ state: 'OPEN', until: '2026-06-13T13:00:00Z' }, now)).toMatchObject({ open: true, until: now + 3_600_000 });
    expect(parseOverride('auto', now)).toBeNull();
    expect(parseOverride({ state: 'clear' }, now)).toBeNull();
    expect(shown(() => parseOverride({ state: 'ajar' }, now))).toBe('override: state must be "open", "closed" or "auto", got "ajar"');
    expect(codeOf(() => parseOverride({ state: 'open', until: '2020-01-01' }, now))).toBe('access.override.badUntil');
    expect(codeOf(() => parseOverride({ state: 'open', minutes: 0 }, now))).toBe('access.override.badMinutes');
    expect(codeOf(() => parseOverride({ state: 'open', minutes: 600_000 }, now))).toBe('access.override.badMinutes');
  });

  test('an instant as weekday and HH:MM in the zone', () => {
    expect(instantParts('Europe/Moscow', Z('2026-06-12T15:00:00Z'))).toEqual({ day: 'fri', time: '18:00' });
    expect(instantParts('UTC', Z('2026-06-14T00:05:00Z'))).toEqual({ day: 'sun', time: '00:05' });
  });
});
