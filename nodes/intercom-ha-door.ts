/**
 * intercom-ha-door: exposes one intercom-door to Home Assistant as an MQTT discovery
 * device (lock with Open, doorbell event, snapshot image, last caller, ringing, open
 * button). Door events and snapshots come in from the flow; HA commands go out, with the
 * HA user who asked when the websocket part can tell.
 */
import { secondsSetting } from './lib/core/settings';
import { isDoorEventType, validDoorId, type DoorCommand } from './lib/homeassistant/discovery';
import { callerOf, DoorDevice } from './lib/homeassistant/door-device';
import type { DoorConfigNode } from './shared/door';
import { partsStatus, type HaConfigNode, type PartState } from './shared/home-assistant';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface HaDoorDef extends NodeDef {
  server?: string;
  door?: string;
  relockSeconds?: number | string;
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-ha-door');
  function IntercomHaDoorNode(this: Node, def: HaDoorDef): void {
    RED.nodes.createNode(this, def);
    const server = (def.server ? RED.nodes.getNode(def.server) : null) as HaConfigNode | null;
    const door = (def.door ? RED.nodes.getNode(def.door) : null) as DoorConfigNode | null;
    let device: DoorDevice | null = null;
    let unroute: (() => void) | null = null;
    let last = '';
    let problem = '';

    const showStatus = (): void => {
      if (problem) return this.status(T.status('red', 'ring', 'problem', { problem }));
      const parts: PartState[] = [{ part: 'mqtt', state: server?.mqtt?.state ?? 'missing' }];
      if (server?.ws) parts.push({ part: 'ws', state: server.ws.state });
      this.status(partsStatus(T, parts, last));
    };

    let relockMs = 5000;
    try {
      relockMs = secondsSetting(def.relockSeconds, { field: 'relockSeconds', default: 5, min: 1, max: 3600 });
    } catch (err) {
      problem = T.describe(err);
    }
    if (!server || !server.mqtt) problem = T.t('errors.noBroker');
    else if (!door) problem = T.t('errors.noDoor');
    else if (!validDoorId(door.doorId)) problem = T.t('errors.doorNotSlug', { door: String(door.doorId) });

    const emitCommand = async (command: DoorCommand, via: 'lock' | 'button'): Promise<void> => {
      if (!door) return;
      const entity = via === 'lock' ? `lock.${door.doorId}` : `button.${door.doorId}_open`;
      const services = via === 'lock' ? [command] : ['press'];
      const ha: Record<string, unknown> = { via, entity_id: entity };
      if (server?.attribution && server.ws?.connected) {
        const who = await server.attribution.who(via, services, entity, 750);
        if (who) {
          ha.user_id = who.userId;
          const name = await server.ws.userName(who.userId).catch(() => undefined);
          if (name) ha.user = name;
        }
      }
      last = ha.user ? T.t('last.commandBy', { command: T.t(`command.${command}`), user: String(ha.user) }) : T.t(`command.${command}`);
      showStatus();
      this.send({ topic: command, payload: command, door: { id: door.doorId, name: door.doorName }, ha });
    };

    if (!problem && server?.mqtt && door) {
      const mqtt = server.mqtt;
      device = new DoorDevice({
        doorId: door.doorId,
        doorName: door.doorName || door.doorId,
        baseTopic: mqtt.baseTopic,
        discoveryPrefix: mqtt.discoveryPrefix,
        publisher: mqtt,
        logger: T.logger(this),
        relockMs,
      });
      const dev = device;
      try {
        unroute = mqtt.addDoor(door.doorId, {
          onCommand: (command, via) => {
            emitCommand(command, via).catch((err) => this.error(T.t('errors.command', { command, error: T.describe(err) })));
          },
          onAnnounce: (reason) => dev.linkUp(reason),
        });
        this.on('intercom-ha-state', showStatus);
        server.register(this, server.ws ? ['mqtt', 'ws'] : ['mqtt']);
      } catch (err) {
        problem = T.describe(err);
        device = null;
      }
    }
    showStatus();

    onInput(this, T, (msg: NodeMessage) => {
      if (!device) throw new Error(T.t('errors.notExposed', { problem }));
      const dev = device;
      const reportLoss = (what: string) => (err: unknown) => {
        // Never silent: the error goes to Catch nodes (and so to a journal) with the message.
        this.error(T.t('errors.notDelivered', { what, error: T.describe(err) }), msg);
      };
      if (Buffer.isBuffer(msg.payload)) {
        dev.setImage(msg.payload).catch(reportLoss(T.t('last.snapshot')));
        last = T.t('last.snapshot');
      } else if (msg.topic === 'locked' || msg.topic === 'unlocked') {
        dev.setLocked(msg.topic === 'locked').catch(reportLoss(T.t('last.lockState')));
        last = T.t(`last.${msg.topic}`);
      } else if (isDoorEventType(msg.topic)) {
        const callId = (msg.call as { id?: unknown } | undefined)?.id;
        dev.event(msg.topic, { caller: callerOf(msg), callId: typeof callId === 'string' ? callId : undefined }).catch(reportLoss(T.t('last.event', { event: msg.topic })));
        last = msg.topic;
      } else {
        throw new Error(T.t('errors.unsupportedTopic', { topic: JSON.stringify(msg.topic) }));
      }
      if (!server?.mqtt?.connected) last = T.t('last.queued', { last });
      showStatus();
    });

    onClose(this, T, async (removed) => {
      this.removeListener('intercom-ha-state', showStatus);
      try {
        // Removed: delete the retained discovery configs; a redeploy only goes offline.
        // Bounded: with the broker away these publishes could wait forever, and a redeploy must not.
        let timer: NodeJS.Timeout | undefined;
        if (device) await Promise.race([device.stop(removed), new Promise((r) => (timer = setTimeout(r, 1500)))]);
        clearTimeout(timer);
      } catch (err) {
        this.warn(T.t('log.closeFailed', { error: T.describe(err) }));
      } finally {
        unroute?.();
        server?.deregister(this);
      }
    });
  }
  RED.nodes.registerType('intercom-ha-door', IntercomHaDoorNode);
};
