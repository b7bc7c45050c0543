/**
 * Weekly schedules in a named IANA time zone, evaluated on the wall clock of that zone
 * through Intl (so DST switches follow the tz database without a dependency).
 * A range whose end is before its start runs across midnight (18:00-09:00 belongs to the
 * day it starts on and spills into the next morning). A date exception replaces that
 * date's ranges: a holiday is an exception with none, a one-off opening one with some.
 */
import { IntercomError } from '../core/errors';
import { Problems } from './problems';

export interface Range {
  /** minutes since local midnight */
  start: number;
  /** minutes since local midnight, 1440 allowed; end < start means across midnight */
  end: number;
}

export interface Schedule {
  timezone: string;
  /** index 0 = Sunday ... 6 = Saturday, like Date#getDay */
  weekly: Range[][];
  /** "YYYY-MM-DD" → that date's ranges ([] = closed all day) */
  exceptions: Map<string, Range[]>;
}

export interface Override {
  open: boolean;
  /** epoch ms */
  until: number;
  note?: string;
}

export interface WindowState {
  open: boolean;
  reason: 'schedule' | 'exception' | 'override';
  /** epoch ms of the next change, null if none within the horizon */
  nextChange: number | null;
}

/** Index 0 = Sunday, like Date#getDay. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const dayIndex = (name: string): number => (WEEKDAYS as readonly string[]).indexOf(name);

// ---------------------------------------------------------------- parsing

function parseTime(text: string, allow24: boolean): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  const h = Number(m?.[1]);
  const mi = Number(m?.[2]);
  if (!m || mi > 59 || h > 24 || (h === 24 && (mi !== 0 || !allow24))) throw new IntercomError('access.schedule.badTime', { value: text.trim() });
  return h * 60 + mi;
}

export function parseRange(text: string): Range {
  const m = /^\s*(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})\s*$/.exec(text);
  if (!m) throw new IntercomError('access.schedule.badRange', { value: text.trim() });
  const start = parseTime(m[1], false);
  const end = parseTime(m[2], true);
  if (start === end) throw new IntercomError('access.schedule.emptyRange', { value: text.trim() });
  return { start, end };
}

/** "09:00-18:00, 20:00-22:00" | "closed" | "" | "all day" → ranges. */
export function parseRanges(text: string): Range[] {
  const t = text.trim().toLowerCase();
  if (t === '' || t === 'closed' || t === 'off' || t === '-') return [];
  if (t === 'all day' || t === 'allday' || t === '24h' || t === 'open') return [{ start: 0, end: 1440 }];
  // Ranges may be written "09:00-18:00, 20:00 - 22:00": take each range, then insist
  // that nothing but separators is left over.
  const found = [...t.matchAll(/(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})/g)];
  if (!found.length || t.replace(/(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})/g, '').replace(/[,\s]/g, '') !== '') {
    throw new IntercomError('access.schedule.badRange', { value: text.trim() });
  }
  return found.map((m) => parseRange(m[0]));
}

function parseDays(token: string): number[] {
  const t = token.toLowerCase();
  if (t === 'daily' || t === '*' || t === 'all') return [0, 1, 2, 3, 4, 5, 6];
  if (t === 'weekdays') return [1, 2, 3, 4, 5];
  if (t === 'weekends' || t === 'weekend') return [6, 0];
  const out: number[] = [];
  for (const part of t.split(',')) {
    const [a, b] = part.split('-');
    const ia = dayIndex(a.slice(0, 3));
    if (ia < 0 || a.length < 3) throw new IntercomError('access.schedule.badWeekday', { value: part });
    if (b === undefined) {
      out.push(ia);
      continue;
    }
    const ib = dayIndex(b.slice(0, 3));
    if (ib < 0 || b.length < 3) throw new IntercomError('access.schedule.badWeekday', { value: part });
    for (let d = ia; ; d = (d + 1) % 7) {
      out.push(d);
      if (d === ib) break;
    }
  }
  return out;
}

/**
 * Compact weekly form: "mon-fri 09:00-18:00; sat 10:00-14:00" (segments by ';' or
 * newline; a segment without days applies daily). Days not named are closed.
 */
export function parseWeekSpec(text: string): Range[][] {
  const weekly: Range[][] = [[], [], [], [], [], [], []];
  for (const raw of text.split(/[;\n]/)) {
    const seg = raw.replace(/#.*$/, '').trim();
    if (!seg) continue;
    const m = /^([a-z*][a-z,*-]*)?\s*(.*)$/i.exec(seg);
    const days = m && m[1] ? parseDays(m[1]) : [0, 1, 2, 3, 4, 5, 6];
    const ranges = parseRanges(m ? m[2] : seg);
    for (const d of days) weekly[d].push(...ranges);
  }
  return weekly;
}

function validDate(y: number, m: number, d: number): boolean {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

function parseDate(text: string): [number, number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) throw new IntercomError('access.schedule.badDate', { value: text.trim() });
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function dateKey(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/**
 * One exception per line: "2026-12-31 closed", "2026-05-09 10:00-14:00",
 * "2026-12-24..2026-12-26 closed"; '#' starts a comment. Every bad line is reported.
 */
export function parseExceptions(text: string): Map<string, Range[]> {
  const out = new Map<string, Range[]>();
  const problems = new Problems();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const m = /^(\d{4}-\d{2}-\d{2})(?:\s*\.\.\s*(\d{4}-\d{2}-\d{2}))?\s*(.*)$/.exec(line);
    try {
      if (!m) throw new IntercomError('access.schedule.badException', { value: line.slice(0, 60) });
      const from = parseDate(m[1]);
      const to = m[2] ? parseDate(m[2]) : from;
      const ranges = parseRanges(m[3]);
      const t0 = Date.UTC(from[0], from[1] - 1, from[2]);
      const t1 = Date.UTC(to[0], to[1] - 1, to[2]);
      if (t1 < t0 || t1 - t0 > 366 * 86400000) throw new IntercomError('access.schedule.badSpan', { value: line.slice(0, 60) });
      for (let t = t0; t <= t1; t += 86400000) {
        const d = new Date(t);
        out.set(dateKey(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()), ranges);
      }
    } catch (err) {
      problems.add({ line: i + 1 }, err);
    }
  });
  problems.check('exceptions');
  return out;
}

/** The week as the editor has it, one field of ranges per weekday; every bad field is reported. */
export function weeklyFromDays(days: Partial<Record<Weekday, unknown>>): Range[][] {
  const problems = new Problems();
  const weekly = WEEKDAYS.map((d) => {
    try {
      return parseRanges(String(days[d] ?? ''));
    } catch (err) {
      problems.add({ day: d }, err);
      return [];
    }
  });
  problems.check('weekly');
  return weekly;
}

/** The name, when the runtime's tz database knows it; `access.schedule.badTimeZone` if not. */
export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new IntercomError('access.schedule.badTimeZone', { value: tz.slice(0, 60) });
  }
  return tz;
}

export function systemTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

// ---------------------------------------------------------------- wall clock

interface Wall {
  y: number;
  m: number;
  d: number;
  wd: number;
  /** minutes since local midnight */
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

function parts(tz: string, t: number): Wall & { s: number } {
  const o: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(new Date(t))) o[p.type] = p.value;
  const h = Number(o.hour) % 24;
  return {
    y: Number(o.year),
    m: Number(o.month),
    d: Number(o.day),
    wd: dayIndex(o.weekday.slice(0, 3).toLowerCase()),
    minute: h * 60 + Number(o.minute),
    s: Number(o.second),
  };
}

export function wallClock(tz: string, t: number): Wall {
  return parts(tz, t);
}

/** UTC offset of the zone at instant t, in ms (east positive). */
function offsetAt(tz: string, t: number): number {
  const w = parts(tz, t);
  const asUtc = Date.UTC(w.y, w.m - 1, w.d, 0, w.minute, w.s);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

const HALF_DAY = 43200000;

/** First instant in (a, b] whose offset is the one at b; offsets differ at a and b. */
function transition(tz: string, a: number, b: number): number {
  const target = offsetAt(tz, b);
  while (b - a > 1000) {
    const mid = a + Math.floor((b - a) / 2000) * 1000;
    if (offsetAt(tz, mid) === target) b = mid;
    else a = mid;
  }
  return b;
}

/**
 * Every instant that may be the local wall time (y-m-d minute): one on an ordinary day,
 * both of an autumn fold, and the end of a spring-forward gap for a time inside it
 * (02:30 on the spring day "happens" when the clock jumps to 03:00).
 */
function instantsOf(tz: string, y: number, m: number, d: number, minute: number): number[] {
  const guess = Date.UTC(y, m - 1, d, 0, minute);
  const oA = offsetAt(tz, guess - HALF_DAY);
  const oB = offsetAt(tz, guess + HALF_DAY);
  if (oA === oB) return [guess - oA];
  return [guess - oA, guess - oB, transition(tz, guess - HALF_DAY, guess + HALF_DAY)].sort((p, q) => p - q);
}

/** The first instant at which the zone's wall clock reads (y-m-d minute) or later. */
export function localToInstant(tz: string, y: number, m: number, d: number, minute: number): number {
  const all = instantsOf(tz, y, m, d, minute);
  const target = Date.UTC(y, m - 1, d, 0, minute);
  // Earliest candidate whose wall clock reads the target or later: the time itself, or
  // for a time inside the gap the instant the clock jumps over it.
  for (const t of all) {
    const w = parts(tz, t);
    if (Date.UTC(w.y, w.m - 1, w.d, 0, w.minute) >= target) return t;
  }
  return all[all.length - 1];
}

function shiftDate(y: number, m: number, d: number, days: number): { y: number; m: number; d: number } {
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
}

// ---------------------------------------------------------------- evaluation

function rangesOf(s: Schedule, y: number, m: number, d: number, wd: number): { ranges: Range[]; exception: boolean } {
  const ex = s.exceptions.get(dateKey(y, m, d));
  return ex ? { ranges: ex, exception: true } : { ranges: s.weekly[wd] ?? [], exception: false };
}

/** Is the schedule open at instant t (ignoring overrides)? */
export function scheduleOpen(s: Schedule, t: number): { open: boolean; exception: boolean } {
  const w = parts(s.timezone, t);
  const today = rangesOf(s, w.y, w.m, w.d, w.wd);
  for (const r of today.ranges) {
    if (r.start < r.end ? w.minute >= r.start && w.minute < r.end : w.minute >= r.start) return { open: true, exception: today.exception };
  }
  const p = shiftDate(w.y, w.m, w.d, -1);
  const yday = rangesOf(s, p.y, p.m, p.d, (w.wd + 6) % 7);
  for (const r of yday.ranges) {
    if (r.start > r.end && w.minute < r.end) return { open: true, exception: yday.exception };
  }
  return { open: false, exception: today.exception };
}

/** Candidate instants where the state may change: every range edge and every midnight. */
function boundaries(s: Schedule, t: number, days: number): number[] {
  const w = parts(s.timezone, t);
  const out: number[] = [];
  for (let k = -1; k <= days; k++) {
    const dt = shiftDate(w.y, w.m, w.d, k);
    const wd = (((w.wd + k) % 7) + 7) % 7;
    out.push(...instantsOf(s.timezone, dt.y, dt.m, dt.d, 0));
    for (const r of rangesOf(s, dt.y, dt.m, dt.d, wd).ranges) {
      out.push(...instantsOf(s.timezone, dt.y, dt.m, dt.d, r.start));
      const endDay = r.end <= r.start || r.end === 1440 ? shiftDate(dt.y, dt.m, dt.d, 1) : dt;
      out.push(...instantsOf(s.timezone, endDay.y, endDay.m, endDay.d, r.end % 1440));
    }
  }
  return out;
}

/** The first instant after t where the schedule's state differs from its state at t. */
export function nextScheduleChange(s: Schedule, t: number, horizonDays = 8): number | null {
  const now = scheduleOpen(s, t).open;
  const cands = [...new Set(boundaries(s, t, horizonDays))].filter((c) => c > t).sort((a, b) => a - b);
  for (const c of cands) if (scheduleOpen(s, c).open !== now) return c;
  return null;
}

/** The gate's state at t: an unexpired override wins over the schedule. */
export function evaluate(s: Schedule, t: number, override?: Override | null): WindowState {
  if (override && t < override.until) {
    const after = scheduleOpen(s, override.until).open;
    // When the override ends the schedule takes over; if it agrees, the change is later.
    const next = after !== override.open ? override.until : nextScheduleChange(s, override.until);
    return { open: override.open, reason: 'override', nextChange: next };
  }
  const st = scheduleOpen(s, t);
  return { open: st.open, reason: st.exception ? 'exception' : 'schedule', nextChange: nextScheduleChange(s, t) };
}

export function makeSchedule(opts: { timezone?: string; weekly?: string | Range[][]; exceptions?: string }): Schedule {
  const timezone = checkTimeZone(opts.timezone && opts.timezone.trim() ? opts.timezone.trim() : systemTimeZone());
  const weekly = typeof opts.weekly === 'string' || opts.weekly === undefined ? parseWeekSpec(opts.weekly ?? '') : opts.weekly;
  return { timezone, weekly, exceptions: parseExceptions(opts.exceptions ?? '') };
}

/** The weekday and "HH:MM" of an instant in the schedule's zone, for status texts. */
export function instantParts(tz: string, t: number): { day: Weekday; time: string } {
  const w = parts(tz, t);
  const hh = String(Math.floor(w.minute / 60)).padStart(2, '0');
  const mm = String(w.minute % 60).padStart(2, '0');
  return { day: WEEKDAYS[w.wd], time: `${hh}:${mm}` };
}

/** Longest override: a year, in minutes. */
const MAX_OVERRIDE_MINUTES = 527_040;

/**
 * An override from a msg payload: "open" | "closed" | "auto", or {state, minutes | until,
 * note}; null clears it. Without minutes or until it lasts an hour.
 */
export function parseOverride(payload: unknown, now: number): Override | null {
  const o = payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : { state: payload };
  const state = String(o.state ?? '').toLowerCase();
  if (state === 'auto' || state === 'clear') return null;
  if (state !== 'open' && state !== 'closed') throw new IntercomError('access.override.badState', { value: state.slice(0, 20) });
  let until: number;
  if (o.until !== undefined) {
    until = typeof o.until === 'number' ? o.until : Date.parse(String(o.until));
    if (!Number.isFinite(until) || until <= now) throw new IntercomError('access.override.badUntil');
  } else {
    const minutes = o.minutes === undefined ? 60 : Number(o.minutes);
    if (!Number.isFinite(minutes) || minutes <= 0 || minutes > MAX_OVERRIDE_MINUTES) throw new IntercomError('access.override.badMinutes');
    until = now + minutes * 60_000;
  }
  return { open: state === 'open', until, note: typeof o.note === 'string' ? o.note.slice(0, 200) : undefined };
}
