/**
 * intercom-notify: a push to the phone through Home Assistant (notify.<service>) with the
 * visitor's picture and one-time actions. Output 1 carries a valid press (once per ring),
 * output 2 every press that came too late, twice, or after the call ended — wire output 1
 * to the door, output 2 to the journal.
 */
import { validDoorId } from './lib/homeassistant/discovery';
import {
  ActionRegistry,
  clearNotificationData,
  notificationData,
  parseCustomActions,
  validNotifyService,
  type ActionSpec,
} from './lib/homeassistant/notify';
import type { DoorConfigNode } from './shared/door';
import { partsStatus, type HaConfigNode } from './shared/home-assistant';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface NotifyDef extends NodeDef {
  server?: string;
  door?: string;
  service?: string;
  title?: string;
  message?: string;
  image?: 'entity' | 'none';
  openAction?: boolean;
  ignoreAction?: boolean;
  customActions?: string;
  expiry?: number | string;
}

const ENDING = new Set(['answered', 'missed', 'ended', 'opened', 'denied', 'hangup']);

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? vars[k] : m));
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-notify');
  function IntercomNotifyNode(this: Node, def: NotifyDef): void {
    RED.nodes.createNode(this, def);
    const server = (def.server ? RED.nodes.getNode(def.server) : null) as HaConfigNode | null;
    const door = (def.door ? RED.nodes.getNode(def.door) : null) as DoorConfigNode | null;
    const expirySeconds = Math.max(1, Math.min(3600, Number(def.expiry) || 60));
    const registry = new ActionRegistry({ expiryMs: expirySeconds * 1000 });
    let problem = '';
    let last = '';
    let actions: ActionSpec[] = [];
    try {
      if (def.openAction !== false) actions.push({ key: 'open', title: 'Open' });
      if (def.ignoreAction !== false) actions.push({ key: 'ignore', title: 'Ignore' });
      actions = actions.concat(parseCustomActions(def.customActions ?? ''));
    } catch (err) {
      problem = T.describe(err);
    }
    const service = (def.service ?? '').trim();
    if (!server || !server.ws) problem = 'no Home Assistant websocket configured';
    else if (!validNotifyService(service)) problem = `invalid notify service "${service}" (e.g. mobile_app_my_phone)`;
    const doorId = door && validDoorId(door.doorId) ? door.doorId : undefined;

    const showStatus = (): void => {
      if (problem) this.status({ fill: 'red', shape: 'ring', text: problem });
      else this.status(partsStatus([{ label: 'HA', state: server?.ws?.state ?? 'missing' }], last));
    };

    let unsubscribe: (() => void) | null = null;
    if (!problem && server?.ws) {
      const ws = server.ws;
      unsubscribe = ws.subscribe('mobile_app_notification_action', (ev) => {
        const r = registry.resolve((ev.data as { action?: unknown }).action);
        if (r.kind === 'unknown') return; // another node's or another app's notification
        const userId = ev.context?.user_id ?? undefined;
        const out: NodeMessage = {
          topic: r.kind === 'action' ? 'action' : 'expired',
          payload: r.key,
          action: (ev.data as { action?: unknown }).action,
          call: r.ring.context?.call,
          door: r.ring.context?.door,
          ha: { user_id: userId, age_ms: r.ageMs },
        };
        if (r.kind === 'action') {
          last = `${r.key} pressed`;
          this.send([out, null]);
        } else {
          out.reason = r.reason;
          last = `${r.key} refused (${r.reason})`;
          this.warn(`notification action ${r.key} refused: ${r.reason}`);
          this.send([null, out]);
        }
        showStatus();
      });
      this.on('intercom-ha-state', showStatus);
      server.register(this, ['ws']);
    }
    showStatus();

    onInput(this, T, async (msg: NodeMessage) => {
      if (problem || !server?.ws) throw new Error(`cannot notify: ${problem}`);
      const ws = server.ws;
      const call = (msg.call && typeof msg.call === 'object' ? msg.call : undefined) as { id?: unknown; from?: { user?: unknown } | string } | undefined;
      const callId = typeof call?.id === 'string' ? call.id : undefined;
      const tag = `intercom_${doorId ?? 'door'}`;
      if (typeof msg.topic === 'string' && ENDING.has(msg.topic)) {
        // The call is over: every action of its notification is dead, and the phone drops it.
        const n = registry.endRing({ callId: callId ?? msg._msgid });
        if (n > 0) await ws.callService('notify', service, clearNotificationData(tag));
        last = `${msg.topic}: ${n} action(s) expired`;
        showStatus();
        return;
      }
      const caller = typeof call?.from === 'string' ? call.from : typeof call?.from?.user === 'string' ? call.from.user : 'a visitor';
      const vars = { caller, door: door?.doorName ?? 'the door' };
      const title = typeof msg.title === 'string' ? msg.title : fill(def.title || '{door}', vars);
      const message = typeof msg.message === 'string' ? msg.message : fill(def.message || '{caller} is ringing', vars);
      // Preferred image: the door's HA image entity, fetched by the app through HA with its own login.
      let image: string | undefined;
      if (typeof msg.image === 'string' && /^(\/api\/|https:\/\/)/.test(msg.image)) image = msg.image;
      else if (def.image !== 'none' && doorId) image = `/api/image_proxy/image.${doorId}_snapshot`;
      const issued = registry.issue(
        { ringId: callId ?? String(msg._msgid), callId, doorId, context: { call: msg.call, door: door ? { id: door.doorId, name: door.doorName } : undefined } },
        actions,
      );
      await ws.callService('notify', service, notificationData({ title, message, image, actions: issued, tag, expirySeconds }));
      last = `sent to ${service}`;
      showStatus();
    });

    onClose(this, T, () => {
      this.removeListener('intercom-ha-state', showStatus);
      unsubscribe?.();
      server?.deregister(this);
    });
  }
  RED.nodes.registerType('intercom-notify', IntercomNotifyNode);
};
