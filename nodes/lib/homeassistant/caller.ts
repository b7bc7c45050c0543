/**
 * Who rang, as Home Assistant and the phone show it. A call travels as msg.call with
 * `from: { user, display, uri }` (SIP From: `"Guest 101" <sip:100@panel>` is display
 * "Guest 101", user "100"); flows that build their own message may set msg.caller instead.
 */

export interface Caller {
  /** the display name, when the panel sent one */
  name?: string;
  /** the SIP user part: the panel's extension or the caller's number */
  number?: string;
}

const MAX = 120;

function clean(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  // One line, no control characters: it ends up in a sensor state and on a lock screen.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what goes
  const s = v.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, MAX);
  return s || undefined;
}

/** The caller of a flow message: msg.call.from (object or string), else msg.caller. */
export function callerOf(msg: Record<string, unknown>): Caller | undefined {
  const call = msg.call as { from?: unknown } | undefined;
  const from = call && typeof call === 'object' ? call.from : undefined;
  if (typeof from === 'string') return clean(from) ? { number: clean(from) } : undefined;
  if (from && typeof from === 'object') {
    const f = from as { user?: unknown; display?: unknown };
    const c: Caller = { name: clean(f.display), number: clean(f.user) };
    if (c.name || c.number) return c;
  }
  const text = clean(msg.caller);
  return text ? { name: text } : undefined;
}

/** "Guest 101 (100)", "Guest 101", "100", or undefined when nothing is known. */
export function callerText(c: Caller | undefined): string | undefined {
  if (!c) return undefined;
  if (c.name && c.number && c.name !== c.number) return `${c.name} (${c.number})`;
  return c.name ?? c.number;
}
