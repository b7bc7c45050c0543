/**
 * intercom-home-assistant (config): one MQTT broker connection and one Home Assistant
 * websocket connection, either of which may be left out. Flow nodes register with it like
 * core mqtt-broker users do; the connections start with the first user and end on close.
 */
import { CommandAttribution } from './lib/homeassistant/attribution';
import { validTopicBase } from './lib/homeassistant/discovery';
import { MqttLink } from './lib/homeassistant/mqtt-link';
import { HaWsLink } from './lib/homeassistant/ws-link';
import type { HaConfigNode } from './shared/home-assistant';
import { onClose } from './shared/lifecycle';
import { texts } from './shared/i18n';
import { registerProvider } from './shared/providers';
import type { Node, NodeDef, RED } from './shared/red';

interface HaDef extends NodeDef {
  broker?: string;
  clientId?: string;
  tlsVerify?: boolean;
  baseTopic?: string;
  discoveryPrefix?: string;
  haUrl?: string;
}

interface HaCreds {
  mqttUser?: string;
  mqttPassword?: string;
  token?: string;
  [key: string]: string | undefined;
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-home-assistant');
  function IntercomHomeAssistantNode(this: Node<HaCreds>, def: HaDef): void {
    RED.nodes.createNode(this, def);
    const node = this as unknown as HaConfigNode & Node<HaCreds>;
    const log = T.logger(node);
    const creds = this.credentials ?? {};
    const users = new Map<string, { user: Node; parts: Array<'mqtt' | 'ws'> }>();
    node.mqtt = null;
    node.ws = null;
    node.attribution = null;

    const broker = (def.broker ?? '').trim();
    if (broker) {
      const baseTopic = (def.baseTopic ?? '').trim() || 'intercom';
      const discoveryPrefix = (def.discoveryPrefix ?? '').trim() || 'homeassistant';
      if (!validTopicBase(baseTopic) || !validTopicBase(discoveryPrefix)) {
        node.error(T.t('errors.badTopic', { baseTopic, discoveryPrefix }));
      } else if (!/^(mqtts?|wss?|tcp|ssl):\/\//.test(broker)) {
        node.error(T.t('errors.badBroker', { broker }));
      } else {
        node.mqtt = new MqttLink({
          url: broker,
          username: creds.mqttUser,
          password: creds.mqttPassword,
          clientId: (def.clientId ?? '').trim() || undefined,
          rejectUnauthorized: def.tlsVerify !== false,
          baseTopic,
          discoveryPrefix,
          logger: log,
        });
      }
    }
    const haUrl = (def.haUrl ?? '').trim();
    if (haUrl && creds.token) {
      try {
        node.ws = new HaWsLink({ url: haUrl, token: creds.token, logger: log });
        const attribution = new CommandAttribution();
        node.attribution = attribution;
        // Admin tokens may watch call_service; without it commands just carry no user.
        node.ws.subscribe('call_service', (ev) => attribution.onEvent(ev));
      } catch (err) {
        node.error(T.t('errors.haUrl', { error: T.describe(err) }));
        node.ws = null;
      }
    } else if (haUrl) {
      node.warn(T.t('log.noToken'));
    }

    // A door that opens by a Home Assistant service (lock.open, switch.turn_on, ...) finds
    // this connection through the provider registry; the websocket starts on first use.
    let offProvider: (() => void) | null = null;
    if (node.ws) {
      const ws = node.ws;
      offProvider = registerProvider('ha-service-caller', {
        id: node.id,
        callService: async (domain, service, data) => {
          ws.start();
          if (!ws.connected) await ws.whenConnected(5000);
          await ws.callService(domain, service, data);
        },
      });
    }

    const notify = (): void => {
      for (const { user } of users.values()) user.emit('intercom-ha-state');
    };
    node.mqtt?.on('state', notify);
    node.ws?.on('state', notify);

    node.register = (user: Node, parts: Array<'mqtt' | 'ws'>): void => {
      users.set(user.id, { user, parts });
      if (parts.includes('mqtt')) node.mqtt?.start();
      if (parts.includes('ws')) node.ws?.start();
      user.emit('intercom-ha-state');
    };
    node.deregister = (user: Node): void => {
      users.delete(user.id);
    };

    onClose(node, T, async () => {
      offProvider?.();
      // Flow nodes close alongside us; give them a moment to publish their last words
      // (availability offline, removed configs) before the client goes.
      const until = Date.now() + 2000;
      while (users.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      node.attribution?.clear();
      node.ws?.close();
      await node.mqtt?.close();
    });
  }

  RED.nodes.registerType('intercom-home-assistant', IntercomHomeAssistantNode, {
    credentials: { mqttUser: { type: 'text' }, mqttPassword: { type: 'password' }, token: { type: 'password' } },
  });
};
