/** Turns a flow message into a journal event, following the message conventions. */
import type { NodeMessage } from './red';

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * Events whose payload is what someone typed (DTMF digits, a PIN entry): the payload is
 * never journaled for them, so a PIN cannot reach the file through the result field.
 */
const TYPED_INPUT = /dtmf|pin|digits|code|keypad/i;

function sourceText(v: unknown): string | undefined {
  const s = str(v);
  if (s !== undefined) return s;
  const o = obj(v);
  const host = str(o.address) ?? str(o.host);
  return host ? (o.port !== undefined ? `${host}:${str(o.port)}` : host) : undefined;
}

/** The door a message is about: msg.door as an id/name string or a door object. */
export function doorOf(msg: NodeMessage): string | undefined {
  if (msg.door && typeof msg.door === 'object') {
    const d = obj(msg.door);
    return str(d.doorId) ?? str(d.id) ?? str(d.name);
  }
  return str(msg.door);
}

export function eventFromMessage(msg: NodeMessage, note?: string) {
  const call = obj(msg.call);
  const from = call.from as Record<string, unknown> | string | undefined;
  const caller = typeof from === 'string' ? from : str(from?.user);
  const callerName = typeof from === 'object' && from ? str(from.display) || undefined : undefined;
  const door = doorOf(msg);
  const access = obj(msg.access);
  // Who asked in Home Assistant and how (intercom-ha-door, intercom-notify): msg.ha.
  const ha = obj(msg.ha);
  const topic = str(msg.topic) ?? 'event';
  const payload = msg.payload;
  const simple = typeof payload === 'string' || typeof payload === 'number' || typeof payload === 'boolean' ? String(payload) : undefined;
  // A decision by intercom-whitelist or intercom-time-window is the result of the event it
  // was made about (they stamp msg.topic into it); once a later node turned the msg into
  // another event (ring → open), that event's payload is its result again.
  const window = obj(msg.timeWindow);
  const sameEvent = (d: Record<string, unknown>): boolean => d.event === msg.topic;
  const result =
    (sameEvent(access) ? str(access.result) : undefined) ??
    (sameEvent(window) && typeof window.open === 'boolean' ? (window.open ? 'in-window' : 'out-of-window') : undefined) ??
    (TYPED_INPUT.test(topic) ? (simple !== undefined ? '[entered]' : undefined) : simple);
  return {
    event: topic,
    door,
    caller,
    callerName,
    source: sourceText(call.source),
    callId: str(call.id),
    result,
    reason: str(access.reason) ?? str(msg.reason),
    // who: a PIN's owner (intercom-whitelist), the door page's user who pressed Open, or the HA user
    user: str(access.user) ?? str(obj(msg.page).user) ?? str(ha.user) ?? str(ha.user_id),
    // how a Home Assistant command came: lock, button (the dashboard) or push (the phone)
    via: str(ha.via),
    // the button pressed on a push (open, ignore, a custom key) or asked on the lock (unlock)
    action: str(ha.action) ?? (str(ha.command) !== topic ? str(ha.command) : undefined),
    note: str(msg.note) ?? (note || undefined),
  };
}
