/**
 * intercom-notify: a push to the phone through Home Assistant (notify.<service>) with the
 * visitor's picture and one-time actions. Output 1 carries a valid press (once per ring),
 * output 2 every press that came too late, twice, or after the call ended — wire output 1
 * to the door, output 2 to the journal.
 */
import { numberSetting } from './lib/core/settings';
import { validDoorId } from './lib/homeassistant/discovery';
import {
  ActionRegistry,
  clearNotificationData,
  endsRing,
  fillTemplate,
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

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-notify');
  function IntercomNotifyNode(this: Node, def: NotifyDef): void {
    RED.nodes.createNode(this, def);
    const server = (def.server ? RED.nodes.getNode(def.server) : null) as HaConfigNode | null;
    const door = (def.door ? RED.nodes.getNode(def.door) : null) as DoorConfigNode | null;
    let problem = '';
    let last = '';
    let expirySeconds = 60;
    let actions: ActionSpec[] = [];
    try {
      expirySeconds = numberSetting(def.expiry, { field: 'expiry', default: 60, min: 1, max: 3600 });
      if (def.openAction !== false) actions.push({ key: 'open', title: T.t('label.open') });
      if (def.ignoreAction !== false) actions.push({ key: 'ignore', title: T.t('label.ignore') });
      actions = actions.concat(parseCustomActions(def.customActions ?? ''));
    } catch (err) {
      problem = T.describe(err);
    }
    const registry = new ActionRegistry({ expiryMs: expirySeconds * 1000 });
    const service = (def.service ?? '').trim();
    if (!server || !server.ws) problem = T.t('errors.noWebsocket');
    else if (!validNotifyService(service)) problem = T.t('errors.badService', { service });
    const doorId = door && validDoorId(door.doorId) ? door.doorId : undefined;

    const showStatus = (): void => {
      if (problem) this.status(T.status('red', 'ring', 'problem', { problem }));
      else this.status(partsStatus(T, [{ part: 'ws', state: server?.ws?.state ?? 'missing' }], last));
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
          last = T.t('last.pressed', { key: r.key });
          this.send([out, null]);
        } else {
          out.reason = r.reason;
          const reason = T.t(`reason.${r.reason}`);
          last = T.t('last.refused', { key: r.key, reason });
          this.warn(T.t('log.refused', { key: r.key, reason }));
          this.send([null, out]);
        }
        showStatus();
      });
      this.on('intercom-ha-state', showStatus);
      server.register(this, ['ws']);
    }
    showStatus();

    onInput(this, T, async (msg: NodeMessage) => {
      if (problem || !server?.ws) throw new Error(T.t('errors.cannotNotify', { problem }));
      const ws = server.ws;
      const call = (msg.call && typeof msg.call === 'object' ? msg.call : undefined) as { id?: unknown; from?: { user?: unknown } | string } | undefined;
      const callId = typeof call?.id === 'string' ? call.id : undefined;
      const tag = `intercom_${doorId ?? 'door'}`;
      if (endsRing(msg.topic)) {
        // The call is over: every action of its notification is dead, and the phone drops it.
        const n = registry.endRing({ callId: callId ?? msg._msgid });
        if (n > 0) await ws.callService('notify', service, clearNotificationData(tag));
        last = T.t('last.ended', { topic: msg.topic, count: n });
        showStatus();
        return;
      }
      const caller = typeof call?.from === 'string' ? call.from : typeof call?.from?.user === 'string' ? call.from.user : T.t('text.visitor');
      const vars = { caller, door: door?.doorName ?? T.t('text.door') };
      const title = typeof msg.title === 'string' ? msg.title : fillTemplate(def.title || '{door}', vars);
      const message = typeof msg.message === 'string' ? msg.message : fillTemplate(def.message || T.t('text.message'), vars);
      // Preferred image: the door's HA image entity, fetched by the app through HA with its own login.
      let image: string | undefined;
      if (typeof msg.image === 'string' && /^(\/api\/|https:\/\/)/.test(msg.image)) image = msg.image;
      else if (def.image !== 'none' && doorId) image = `/api/image_proxy/image.${doorId}_snapshot`;
      const issued = registry.issue(
        { ringId: callId ?? String(msg._msgid), callId, doorId, context: { call: msg.call, door: door ? { id: door.doorId, name: door.doorName } : undefined } },
        actions,
      );
      await ws.callService('notify', service, notificationData({ title, message, image, actions: issued, tag, expirySeconds }));
      last = T.t('last.sent', { service });
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
