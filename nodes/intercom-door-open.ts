/**
 * intercom-door-open: opens the configured door and reports how it went, so the flow can
 * tell the caller, journal it or retry by hand. Nothing in the message chooses where the
 * command goes: the door (and its credentials) come from configuration only.
 */
import { isDoor } from './shared/door';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface DoorOpenDef extends NodeDef {
  door?: string;
  /** msg.topic that confirms an open in flight instead of opening */
  confirmTopic?: string;
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-door-open');
  function IntercomDoorOpenNode(this: Node, def: DoorOpenDef): void {
    RED.nodes.createNode(this, def);
    const found = def.door ? RED.nodes.getNode(def.door) : null;
    const door = isDoor(found) ? found : undefined;
    const confirmTopic = (def.confirmTopic ?? 'confirm').trim();
    let closed = false;
    if (!door) this.status(T.status('red', 'ring', 'noDoor'));
    else if (door.problem) this.status(T.status('red', 'ring', 'doorProblem', { problem: door.problem }));
    else this.status({ fill: 'grey', shape: 'ring', text: door.doorName });

    onInput(this, T, async (msg: NodeMessage, send) => {
      if (!door || !door.open) throw new Error(T.t('errors.noDoor'));
      if (confirmTopic && msg.topic === confirmTopic) {
        door.confirmOpen?.();
        return;
      }
      const call = msg.call && typeof msg.call === 'object' ? (msg.call as Record<string, unknown>) : undefined;
      const callId = typeof call?.id === 'string' ? call.id : undefined;
      this.status(T.status('blue', 'dot', 'opening'));
      const r = await door.open({ msg, callId });
      if (closed) return;
      const when = new Date().toLocaleTimeString();
      if (r.ok) this.status(T.status('green', 'dot', 'opened', { ms: r.latencyMs, when }));
      else this.status(T.status(r.outcome === 'throttled' ? 'yellow' : 'red', 'dot', 'failed', { outcome: T.t(`outcome.${r.outcome ?? 'failed'}`), error: r.error ?? '' }));
      msg.payload = r.ok ? 'ok' : 'failed';
      msg.door = {
        id: door.doorId,
        name: door.doorName,
        latencyMs: r.latencyMs,
        attempts: r.attempts,
        status: r.status,
        outcome: r.outcome,
        error: r.error,
      };
      send(msg);
    });

    onClose(this, T, () => {
      closed = true;
    });
  }
  RED.nodes.registerType('intercom-door-open', IntercomDoorOpenNode);
};
