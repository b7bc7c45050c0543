/**
 * intercom-ha-door: exposes one intercom-door to Home Assistant as an MQTT discovery
 * device (lock with Open, doorbell event, snapshot image, last caller, ringing, open
 * button). Call events (straight from intercom-sip-in) and snapshots come in from the flow;
 * HA commands go out, with the HA user who asked when the websocket part can tell.
 */
import { secondsSetting, choiceSetting } from './lib/core/settings';
import { callerOf } from './lib/homeassistant/caller';
import { validDoorId, type DoorCommand } from './lib/homeassistant/discovery';
import { DoorDevice, isDoorTopic } from './lib/homeassistant/door-device';
import type { DoorConfigNode } from './shared/door';
import { partsStatus, type HaConfigNode, type PartState } from './shared/home-assistant';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface HaDoorDef extends NodeDef {
  server?: string;
  door?: string;
  relockSeconds?: number | string;
  /** what HA's Unlock does: "open" the door (a strike has no unlocked state) or "pass" it on as unlock */
  unlock?: string;
}

/** Call events of intercom-sip-in that say nothing about the door: taken quietly. */
const CALL_NOISE = new Set(['progress', 'dtmf', 'reinvite', 'redirected', 'registered', 'unregistered']);

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
      const mqttProblem = server?.mqtt?.state === 'misconfigured' ? T.describe(server.mqtt.problem) : '';
      if (problem || mqttProblem) return this.status(T.status('red', 'ring', 'problem', { problem: problem || mqttProblem }));
      const parts: PartState[] = [{ part: 'mqtt', state: server?.mqtt?.state ?? 'missing' }];
      if (server?.ws) parts.push({ part: 'ws', state: server.ws.state });
      this.status(partsStatus(T, parts, last));
    };

    let relockMs = 5000;
    let unlockOpens = true;
    try {
      relockMs = secondsSetting(def.relockSeconds, { field: 'relockSeconds', default: 5, min: 1, max: 3600 });
      unlockOpens = choiceSetting(def.unlock, 'unlock', ['open', 'pass'] as const, 'open') === 'open';
    } catch (err) {
      problem = T.describe(err);
    }
    if (!server || !server.mqtt) problem = T.t('errors.noBroker');
    else if (!door) problem = T.t('errors.noDoor');
    else if (!validDoorId(door.doorId)) problem = T.t('errors.doorNotSlug', { door: String(door.doorId) });
    if (problem) this.error(T.t('errors.notExposed', { problem }));

    const emitCommand = async (asked: DoorCommand, via: 'lock' | 'button'): Promise<void> => {
      if (!door) return;
      const entity = via === 'lock' ? `lock.${door.doorId}` : `button.${door.doorId}_open`;
      const services = via === 'lock' ? [asked] : ['press'];
      // A door strike has no "unlocked" to stay in: Unlock in HA opens it, unless told otherwise.
      const command = asked === 'unlock' && unlockOpens ? 'open' : asked;
      const ha: Record<string, unknown> = { via, command: asked, entity_id: entity };
      if (server?.attribution && server.ws?.connected) {
        const who = await server.attribution.who(via, services, entity, 750);
        if (who) {
          ha.user_id = who.userId;
          const name = await server.ws.userName(who.userId).catch(() => undefined);
          if (name) ha.user = name;
        }
      }
      last = ha.user ? T.t('last.commandBy', { command: T.t(`command.${asked}`), user: String(ha.user) }) : T.t(`command.${asked}`);
      showStatus();
      this.send({ topic: command, payload: command, door: { id: door.doorId, name: door.doorName }, ha });
    };

    if (!problem && server?.mqtt && door) {
      const mqtt = server.mqtt;
      // The device page: this package's version, a link to this flow in the editor (an add-on's
      // panel link is known only once the Supervisor answered: read at each announce), the panel.
      const info = server.deviceInfo;
      const z = this.z;
      device = new DoorDevice({
        doorId: door.doorId,
        doorName: door.doorName || door.doorId,
        baseTopic: mqtt.baseTopic,
        discoveryPrefix: mqtt.discoveryPrefix,
        get device() {
          const base = info.configurationUrl;
          const configurationUrl = base && /^https?:/.test(base) && z ? `${base.replace(/\/?$/, '/')}#flow/${z}` : base;
          return { swVersion: info.swVersion, configurationUrl, panel: door.panel };
        },
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

    onInput(this, T, async (msg: NodeMessage) => {
      if (!device) throw new Error(T.t('errors.notExposed', { problem }));
      const dev = device;
      if (Buffer.isBuffer(msg.payload)) {
        last = T.t('last.snapshot');
        await dev.setImage(msg.payload).catch((err) => Promise.reject(new Error(T.t('errors.notDelivered', { what: last, error: T.describe(err) }))));
      } else if (msg.topic === 'locked' || msg.topic === 'unlocked') {
        last = T.t(`last.${msg.topic}`);
        await dev.setLocked(msg.topic === 'locked').catch((err) => Promise.reject(new Error(T.t('errors.notDelivered', { what: T.t('last.lockState'), error: T.describe(err) }))));
      } else if (isDoorTopic(msg.topic)) {
        const callId = (msg.call as { id?: unknown } | undefined)?.id;
        const topic = msg.topic;
        const raised = await dev
          .event(topic, { caller: callerOf(msg), callId: typeof callId === 'string' ? callId : undefined })
          .catch((err) => Promise.reject(new Error(T.t('errors.notDelivered', { what: T.t('last.event', { event: topic }), error: T.describe(err) }))));
        if (raised) last = raised;
        else if (!dev.ringing) last = T.t('last.notRinging');
      } else if (typeof msg.topic === 'string' && CALL_NOISE.has(msg.topic)) {
        return;
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
