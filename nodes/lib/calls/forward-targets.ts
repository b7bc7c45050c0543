/**
 * Forward targets as BAS-IP panels store them, and the apartment table that picks a queue
 * by the number the panel dialled. Pure parsing, checked once when a node starts or a
 * message names targets.
 */
import { IntercomError } from '../core/errors';

export const MAX_FORWARD_TARGETS = 8;

/**
 * A forward target as BAS-IP panels accept it: `sip:1@192.168.1.65`, `sip:192.168.1.65`,
 * `sip:5588@server`, a short number (`5588`) dialled on the account's own server, or the
 * name a phone or door page registered with (`hall`).
 * Returns the target trimmed, or throws with the reason.
 */
export function normalizeTarget(raw: unknown): string {
  const t = typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  if (!t) throw new IntercomError('calls.targetEmpty', { target: String(JSON.stringify(raw) ?? raw).slice(0, 40) });
  if (/^sips?:([^@\s;<>"]+@)?[A-Za-z0-9.\-[\]:]+(;[^\s<>"]*)?$/i.test(t)) return t;
  if (/^[0-9*#+]{1,32}$/.test(t)) return t; // short number: the account resolves it on its server
  // A registered name (a door page `hall`, a phone registered as `reception`): its binding, like a number's.
  if (/^[A-Za-z][A-Za-z0-9._+-]{0,63}$/.test(t)) return t;
  if (/^\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?$/.test(t)) return t; // bare IP, as some panels store it
  throw new IntercomError('calls.badTarget', { target: t.slice(0, 80) });
}

/** Targets from a list or comma/newline separated text: at most 8, each valid. */
export function parseTargets(raw: unknown): string[] {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[,\n]/) : raw === undefined || raw === null ? [] : [raw];
  const list = items.filter((x) => !(typeof x === 'string' && !x.trim())).map(normalizeTarget);
  if (list.length > MAX_FORWARD_TARGETS) throw new IntercomError('calls.tooManyTargets', { max: MAX_FORWARD_TARGETS, count: list.length });
  return list;
}

/**
 * An apartment number as a panel's keypad sends it: the last two digits are the
 * apartment, the digits before them the floor (223 = floor 2 apt 23, 1050 = floor 10 apt 50).
 */
export function parseApartment(dialled: string): { floor: number; apartment: number } | undefined {
  const m = /^(\d{1,3})(\d{2})$/.exec(dialled.trim());
  return m ? { floor: Number(m[1]), apartment: Number(m[2]) } : undefined;
}

/**
 * The apartment table: one line per apartment, `223: sip:5588@server, 5589` (also `=`).
 * Keys are normalised (leading zeros dropped) so `0223` and `223` are the same flat.
 */
export function parseApartmentTable(text: string): Map<string, string[]> {
  const table = new Map<string, string[]>();
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.replace(/#.*$/, '').trim();
    if (!l) return;
    const m = /^(\d{3,5})\s*[:=]\s*(.+)$/.exec(l);
    if (!m || !parseApartment(m[1])) throw new IntercomError('calls.apartmentLine', { line: i + 1, text: l.slice(0, 80) });
    const key = String(Number(m[1]));
    if (table.has(key)) throw new IntercomError('calls.apartmentTwice', { line: i + 1, apartment: m[1] });
    table.set(key, parseTargets(m[2]));
  });
  return table;
}

export function lookupApartment(table: Map<string, string[]>, dialled: string): string[] | undefined {
  return parseApartment(dialled) ? table.get(String(Number(dialled.trim()))) : undefined;
}
