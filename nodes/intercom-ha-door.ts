/**
 * intercom-ha-door: exposes one intercom-door to Home Assistant as an MQTT discovery
 * device (lock with Open, doorbell event, snapshot image, last caller, ringing, open
 * button). Door events and snapshots come in from the flow; HA commands go out, with the
 * HA user who asked when the websocket part can tell.
 */
import { isDoorEventType, validDoorId, type DoorCommand } from './lib/homeassistant/discovery';
import { DoorDevice } from './lib/homeassistant/door-device';
import type { LinkState } from './lib/homeassistant/logger';
import type { DoorConfigNode } from './shared/door';
import { partsStatus, type HaConfigNode } from './shared/home-assistant';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface HaDoorDef extends NodeDef {
  server?: string;
  door?: string;
  relockSeconds?: number | string;
}

function callerOf(msg: NodeMessage): string | undefined {
  const call = msg.call as { from?: unknown } | undefined;
  const from = call?.from;
  if (typeof from === 'string') return from;
  if (from && typeof from === 'object') {
    const f = from as { user?: unknown; displayName?: unknown };
    if (typeof f.displayName === 'string' && f.displayName) return f.displayName;
    if (typeof f.user === 'string') return f.user;
  }
  return typeof msg.caller === 'string' ? msg.caller : undefined;
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-ha-door');
  function IntercomHaDoorNode(this: Node, def: HaDoorDef): void {
    RED.nodes.createNode(this, def);
    const server = (def.server ? RED.nodes.getNode(def.server) : null) as HaConfigNode | null;
    const door = (def.door ? RED.nodes.getNode(def.door) : null) as DoorConfigNode | null;
    const log = { debug: (m: string) => this.debug(m), info: (m: string) => this.log(m), warn: (m: string) => this.warn(m), error: (m: string) => this.error(m) };
    let device: DoorDevice | null = null;
    let unroute: (() => void) | null = null;
    let last = '';
    let problem = '';

    const showStatus = (): void => {
      if (problem) {
        this.status({ fill: 'red', shape: 'ring', text: problem });
        return;
      }
      const parts: Array<{ label: string; state: LinkState | 'missing' }> = [{ label: 'MQTT', state: server?.mqtt?.state ?? 'missing' }];
      if (server?.ws) parts.push({ label: 'HA', state: server.ws.state });
      this.status(partsStatus(parts, last));
    };

    if (!server || !server.mqtt) problem = 'no MQTT broker configured';
    else if (!door) problem = 'no door selected';
    else if (!validDoorId(door.doorId)) problem = `door id "${String(door.doorId)}" is not a slug`;

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
      last = `${command}${ha.user ? ' by ' + String(ha.user) : ''}`;
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
        logger: log,
        relockMs: Math.max(1, Number(def.relockSeconds) || 5) * 1000,
      });
      const dev = device;
      try {
        unroute = mqtt.addDoor(door.doorId, {
          onCommand: (command, via) => {
            emitCommand(command, via).catch((err) => this.error(`command ${command} failed: ${T.describe(err)}`));
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
      if (!device) throw new Error(`not exposed to Home Assistant: ${problem}`);
      const dev = device;
      const reportLoss = (what: string) => (err: unknown) => {
        // Never silent: the error goes to Catch nodes (and so to a journal) with the message.
        this.error(`${what} not delivered to Home Assistant: ${T.describe(err)}`, msg);
      };
      if (Buffer.isBuffer(msg.payload)) {
        dev.setImage(msg.payload).catch(reportLoss('snapshot'));
        last = 'snapshot';
      } else if (msg.topic === 'locked' || msg.topic === 'unlocked') {
        dev.setLocked(msg.topic === 'locked').catch(reportLoss('lock state'));
        last = msg.topic;
      } else if (isDoorEventType(msg.topic)) {
        const callId = (msg.call as { id?: unknown } | undefined)?.id;
        dev.event(msg.topic, { caller: callerOf(msg), callId: typeof callId === 'string' ? callId : undefined }).catch(reportLoss(`event ${msg.topic}`));
        last = msg.topic;
      } else {
        throw new Error(`unsupported topic ${JSON.stringify(msg.topic)}: use ring, answered, missed, opened, denied, locked, unlocked, or a Buffer payload for a snapshot`);
      }
      if (!server?.mqtt?.connected) last += ' (queued)';
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
        this.warn(`could not update Home Assistant on close: ${T.describe(err)}`);
      } finally {
        unroute?.();
        server?.deregister(this);
      }
    });
  }
  RED.nodes.registerType('intercom-ha-door', IntercomHaDoorNode);
};
