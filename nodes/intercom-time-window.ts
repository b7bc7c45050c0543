/**
 * intercom-time-window: a gate with two outputs, in-window and out-of-window, following a
 * weekly schedule in an IANA time zone with date exceptions, and an override set by msg
 * (an "open house" for two hours). The status shows the state and the next change,
 * refreshed by a timer at that change.
 */
import { evaluate, instantParts, makeSchedule, parseOverride, weeklyFromDays, type Override, type Schedule, type Weekday } from './lib/access/schedule';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import { describeProblems } from './shared/problems';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface TimeWindowDef extends NodeDef, Partial<Record<Weekday, string>> {
  timezone?: string;
  exceptions?: string;
}

/** Longest single timer: re-evaluating hourly also catches a changed system clock. */
const MAX_TIMER_MS = 3_600_000;

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-time-window');
  function IntercomTimeWindowNode(this: Node, def: TimeWindowDef): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: TimeWindowDef): void {
    let schedule: Schedule | null = null;
    try {
      schedule = makeSchedule({ timezone: def.timezone, weekly: weeklyFromDays(def), exceptions: def.exceptions ?? '' });
    } catch (err) {
      const problem = describeProblems(T, err);
      node.error(T.t('errors.badSchedule', { error: problem }));
      node.status(T.status('red', 'dot', 'badSchedule', { problem }));
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
        const state = T.t(st.open ? 'state.open' : 'state.closed');
        const over = st.reason === 'override' ? 'Override' : '';
        const next = st.nextChange === null ? null : instantParts(schedule.timezone, st.nextChange);
        const when = next ? { day: T.t(`dayShort.${next.day}`), time: next.time } : {};
        node.status(T.status(st.open ? 'green' : 'grey', over ? 'ring' : 'dot', `state${over}${next ? 'Until' : ''}`, { state, ...when }));
        if (st.nextChange !== null) wait = Math.min(Math.max(st.nextChange - now + 50, 50), MAX_TIMER_MS);
      } catch (err) {
        node.status(T.status('red', 'dot', 'evaluationFailed'));
        node.error(T.t('errors.evaluation', { error: T.describe(err) }));
      }
      timer = setTimeout(refresh, wait);
    }
    refresh();

    onInput(node, T, (msg: NodeMessage, send) => {
      const now = Date.now();
      if (msg.topic === 'override') {
        override = parseOverride(msg.payload, now);
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
        node.error(T.t('errors.evaluation', { error: T.describe(err) }), msg);
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
