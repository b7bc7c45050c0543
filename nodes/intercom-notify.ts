/**
 * intercom-notify: a push to the phone through Home Assistant (notify.<service>) with this
 * ring's picture and one-time actions. Output 1 carries a valid press (once per ring),
 * output 2 what the journal wants: each push sent (or failed), and every press that came
 * too late, twice, or after the call ended — wire output 1 to the door, output 2 to the journal.
 */
import { EventEmitter } from 'node:events';
import { numberSetting } from './lib/core/settings';
import { validDoorId } from './lib/homeassistant/discovery';
import type { ImageSource } from './lib/homeassistant/image-check';
import { ActionRegistry, clearNotificationData, endsRing, notificationData, parseCustomActions, validNotifyService, type ActionSpec } from './lib/homeassistant/notify';
import { RingOrder, ringPicture, ringTexts } from './lib/homeassistant/push';
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
  /** seconds to wait for HA to serve this ring's picture before pushing without one */
  pictureWait?: number | string;
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
    let pictureWaitMs = 5000;
    let actions: ActionSpec[] = [];
    try {
      expirySeconds = numberSetting(def.expiry, { field: 'expiry', default: 60, min: 1, max: 3600 });
      pictureWaitMs = numberSetting(def.pictureWait, { field: 'pictureWait', default: 5, min: 0, max: 60 }) * 1000;
      if (def.openAction !== false) actions.push({ key: 'open', title: T.t('label.open') });
      if (def.ignoreAction !== false) actions.push({ key: 'ignore', title: T.t('label.ignore') });
      actions = actions.concat(parseCustomActions(def.customActions ?? ''));
    } catch (err) {
      problem = T.describe(err);
    }
    const registry = new ActionRegistry({ expiryMs: expirySeconds * 1000 });
    const service = (def.service ?? '').trim();
    if (!server || !server.ws) problem = server?.problem ?? T.t('errors.noWebsocket');
    else if (!validNotifyService(service)) problem = T.t('errors.badService', { service });
    // The config node already logged its own problem; this node says what it means here.
    if (problem) (server?.problem === problem ? this.warn : this.error).call(this, T.t('errors.cannotNotify', { problem }));
    const doorId = door && validDoorId(door.doorId) ? door.doorId : undefined;
    const imageEntity = doorId && def.image !== 'none' ? `image.${doorId}_snapshot` : undefined;
    const doorInfo = door ? { id: door.doorId, name: door.doorName } : undefined;

    const showStatus = (): void => {
      if (problem) this.status(T.status('red', 'ring', 'problem', { problem }));
      else this.status(partsStatus(T, [{ part: 'ws', state: server?.ws?.state ?? 'missing' }], last));
    };

    // HA's changes of the door's image entity wake the wait for this ring's picture.
    const changes = new EventEmitter();
    const offs: Array<() => void> = [];
    const order = new RingOrder();
    let source: ImageSource | undefined;
    if (!problem && server?.ws) {
      const ws = server.ws;
      if (imageEntity) offs.push(ws.watchEntities([imageEntity], () => changes.emit('change')));
      source = { fetch: (id) => ws.fetchImage(id), watch: (_id, cb) => (changes.on('change', cb), () => changes.off('change', cb)) };
      offs.push(
        ws.subscribe('mobile_app_notification_action', (ev) => {
          const r = registry.resolve((ev.data as { action?: unknown }).action);
          if (r.kind === 'unknown') return; // another node's or another app's notification
          const userId = ev.context?.user_id ?? undefined;
          void (userId ? ws.userName(userId).catch(() => undefined) : Promise.resolve(undefined)).then((user) => {
            const ha = { via: 'push', action: r.key, user_id: userId, user, age_ms: r.ageMs };
            const out: NodeMessage = { payload: r.key, action: (ev.data as { action?: unknown }).action, call: r.ring.context?.call, door: r.ring.context?.door, ha };
            if (r.kind === 'action') {
              last = T.t('last.pressed', { key: r.key });
              this.send([{ ...out, topic: r.key }, null]);
            } else {
              const reason = T.t(`reason.${r.reason}`);
              last = T.t('last.refused', { key: r.key, reason });
              this.warn(T.t('log.refused', { key: r.key, reason }));
              this.send([null, { ...out, topic: 'refused', payload: 'refused', reason: r.reason }]);
            }
            showStatus();
          });
        }),
      );
      this.on('intercom-ha-state', showStatus);
      server.register(this, ['ws']);
    }
    showStatus();

    onInput(this, T, async (msg: NodeMessage, send) => {
      if (problem || !server?.ws || !source) throw new Error(T.t('errors.cannotNotify', { problem }));
      const ws = server.ws;
      // Just deployed, or HA restarting: a ring waits a moment for the connection rather than being lost.
      if (!ws.connected) await ws.whenConnected(5000);
      const call = (msg.call && typeof msg.call === 'object' ? msg.call : undefined) as { id?: unknown } | undefined;
      const callId = typeof call?.id === 'string' ? call.id : undefined;
      const tag = `intercom_${doorId ?? 'door'}`;
      if (endsRing(msg.topic)) {
        // The call is over: every action of its notification is dead, and the phone drops it.
        order.end(callId);
        const n = registry.endRing({ callId: callId ?? msg._msgid });
        if (n > 0) await ws.callService('notify', service, clearNotificationData(tag));
        last = T.t('last.ended', { topic: msg.topic, count: n });
        showStatus();
        return;
      }
      const ringId = callId ?? String(msg._msgid);
      order.begin(ringId);
      const { title, message } = ringTexts(msg, { title: def.title || '{door}', message: def.message || T.t('text.message') }, { visitor: T.t('text.visitor'), door: door?.doorName ?? T.t('text.door') });
      if (Buffer.isBuffer(msg.payload) && imageEntity) this.status(T.status('blue', 'ring', 'waitingPicture'));
      const pic = await ringPicture(msg, imageEntity, source, pictureWaitMs);
      if (pic.picture === 'not-ready') this.warn(T.t('log.pictureNotReady', { seconds: pictureWaitMs / 1000, entity: String(imageEntity), error: pic.error ? T.describe(pic.error) : '' }));
      if (pic.waitedMs > 0 && order.stale(ringId)) {
        last = T.t('last.skipped');
        showStatus();
        return;
      }
      const issued = registry.issue({ ringId, callId, doorId, context: { call: msg.call, door: doorInfo } }, actions);
      const log = (payload: string, extra: Record<string, unknown> = {}): NodeMessage => ({ topic: 'push', payload, call: msg.call, door: doorInfo, notify: { service, picture: pic.picture, waited_ms: pic.waitedMs, ...extra } });
      try {
        await ws.callService('notify', service, notificationData({ title, message, image: pic.image, actions: issued, tag, expirySeconds }));
      } catch (err) {
        registry.endRing({ ringId });
        send([null, log('failed', { error: T.describe(err) })]);
        throw err;
      }
      const noPicture = pic.picture === 'not-ready';
      last = T.t(noPicture ? 'last.sentNoPicture' : 'last.sent', { service });
      showStatus();
      send([null, log(noPicture ? 'sent-without-picture' : 'sent')]);
    });

    onClose(this, T, () => {
      this.removeListener('intercom-ha-state', showStatus);
      for (const off of offs) off();
      changes.removeAllListeners();
      server?.deregister(this);
    });
  }
  RED.nodes.registerType('intercom-notify', IntercomNotifyNode);
};
