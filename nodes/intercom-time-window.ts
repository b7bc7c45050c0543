/**
 * intercom-time-window: a gate with two outputs, in-window and out-of-window, following a
 * weekly schedule in an IANA time zone with date exceptions, and an override set by msg
 * (an "open house" for two hours). The status shows the state and the next change,
 * refreshed by a timer at that change.
 */
import {
  describeInstant,
  evaluate,
  makeSchedule,
  parseRanges,
  type Override,
  type Range,
  type Schedule,
} from './lib/access/schedule';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

interface TimeWindowDef extends NodeDef {
  timezone?: string;
  exceptions?: string;
  sun?: string;
  mon?: string;
  tue?: string;
  wed?: string;
  thu?: string;
  fri?: string;
  sat?: string;
}

/** Longest single timer: re-evaluating hourly also catches a changed system clock. */
const MAX_TIMER_MS = 3_600_000;

/** An override from msg.payload: "open" | "closed" | "auto", or {state, minutes | until}. */
function readOverride(msg: NodeMessage, now: number): Override | null {
  const p = msg.payload;
  const o = p && typeof p === 'object' ? (p as Record<string, unknown>) : { state: p };
  const state = String(o.state ?? '').toLowerCase();
  if (state === 'auto' || state === 'clear') return null;
  if (state !== 'open' && state !== 'closed') throw new Error('override: state must be "open", "closed" or "auto"');
  let until: number;
  if (o.until !== undefined) {
    until = typeof o.until === 'number' ? o.until : Date.parse(String(o.until));
    if (!Number.isFinite(until) || until <= now) throw new Error('override: "until" must be a time in the future');
  } else {
    const minutes = o.minutes === undefined ? 60 : Number(o.minutes);
    if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 527_040) throw new Error('override: "minutes" must be between 0 and a year');
    until = now + minutes * 60_000;
  }
  return { open: state === 'open', until, note: typeof o.note === 'string' ? o.note.slice(0, 200) : undefined };
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-time-window');
  function IntercomTimeWindowNode(this: Node, def: TimeWindowDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: TimeWindowDef): void {
    let schedule: Schedule | null = null;
    try {
      const weekly: Range[][] = DAYS.map((d) => {
        try {
          return parseRanges(String(def[d] ?? ''));
        } catch (err) {
          throw new Error(`${d}: ${T.describe(err)}`);
        }
      });
      schedule = makeSchedule({ timezone: def.timezone, weekly, exceptions: def.exceptions ?? '' });
    } catch (err) {
      node.error(`schedule not valid, every message goes to out-of-window: ${T.describe(err)}`);
      node.status({ fill: 'red', shape: 'dot', text: 'bad schedule' });
    }

    let override: Override | null = null;
    const saved = node.context().get('override') as Override | undefined;
    if (saved && typeof saved.until === 'number' && saved.until > Date.now()) override = saved;

    let timer: NodeJS.Timeout | null = null;
    function refresh(): void {
      if (timer) clearTimeout(timer);
      timer = null;
      if (!schedule) return;
      const now = Date.now();
      let wait = MAX_TIMER_MS;
      // Runs from a timer: nothing may escape it into the Node-RED process.
      try {
        const st = evaluate(schedule, now, override);
        const when = st.nextChange === null ? '' : ` until ${describeInstant(schedule.timezone, st.nextChange)}`;
        node.status({
          fill: st.open ? 'green' : 'grey',
          shape: st.reason === 'override' ? 'ring' : 'dot',
          text: `${st.open ? 'open' : 'closed'}${st.reason === 'override' ? ' (override)' : ''}${when}`,
        });
        if (st.nextChange !== null) wait = Math.min(Math.max(st.nextChange - now + 50, 50), MAX_TIMER_MS);
      } catch (err) {
        node.status({ fill: 'red', shape: 'dot', text: 'evaluation failed' });
        node.error(`time window evaluation failed: ${T.describe(err)}`);
      }
      timer = setTimeout(refresh, wait);
    }
    refresh();

    onInput(node, T, (msg: NodeMessage, send) => {
      const now = Date.now();
      if (msg.topic === 'override') {
        override = readOverride(msg, now);
        node.context().set('override', override ?? undefined);
        refresh();
        return;
      }
      if (!schedule) {
        msg.timeWindow = { open: false, reason: 'bad-schedule', event: msg.topic };
        send([null, msg]);
        return;
      }
      let st: ReturnType<typeof evaluate>;
      try {
        st = evaluate(schedule, now, override);
      } catch (err) {
        // Closed when in doubt: a gate that cannot tell does not let the msg in.
        node.error(`time window evaluation failed: ${T.describe(err)}`, msg);
        msg.timeWindow = { open: false, reason: 'error', event: msg.topic };
        send([null, msg]);
        return;
      }
      msg.timeWindow = {
        open: st.open,
        reason: st.reason,
        nextChange: st.nextChange === null ? null : new Date(st.nextChange).toISOString(),
        timezone: schedule.timezone,
        event: msg.topic,
      };
      send(st.open ? [msg, null] : [null, msg]);
    });

    onClose(node, T, () => {
      if (timer) clearTimeout(timer);
      timer = null;
    });
  }
  RED.nodes.registerType('intercom-time-window', IntercomTimeWindowNode);
};
