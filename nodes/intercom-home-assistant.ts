/**
 * intercom-home-assistant (config): one MQTT broker connection and one Home Assistant
 * websocket connection, either of which may be left out. Flow nodes register with it like
 * core mqtt-broker users do; the connections start with the first user and end on close.
 */
import { CommandAttribution } from './lib/homeassistant/attribution';
import { validTopicBase } from './lib/homeassistant/discovery';
import type { Logger } from './lib/homeassistant/logger';
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

/** Resolves once the websocket is up; rejects with its state after timeoutMs. */
function connectedWithin(ws: HaWsLink, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onState = (): void => {
      if (ws.connected) finish();
      else if (ws.state === 'auth-rejected' || ws.state === 'closed') finish(new Error(`Home Assistant websocket is ${ws.state}${ws.detail ? ' (' + ws.detail + ')' : ''}`));
    };
    const finish = (err?: Error): void => {
      clearTimeout(t);
      ws.off('state', onState);
      if (err) reject(err);
      else resolve();
    };
    const t = setTimeout(() => finish(new Error(`Home Assistant websocket not connected within ${timeoutMs} ms (${ws.state})`)), timeoutMs);
    ws.on('state', onState);
    onState();
  });
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-home-assistant');
  function IntercomHomeAssistantNode(this: Node<HaCreds>, def: HaDef): void {
    RED.nodes.createNode(this, def);
    const node = this as unknown as HaConfigNode & Node<HaCreds>;
    const log: Logger = {
      debug: (m) => node.debug(m),
      info: (m) => node.log(m),
      warn: (m) => node.warn(m),
      error: (m) => node.error(m),
    };
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
        node.error(`invalid base topic "${baseTopic}" or discovery prefix "${discoveryPrefix}" (no wildcards, no leading or trailing /)`);
      } else if (!/^(mqtts?|wss?|tcp|ssl):\/\//.test(broker)) {
        node.error(`invalid broker URL "${broker}" (mqtt://host:1883 or mqtts://host:8883)`);
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
        node.error(`Home Assistant URL: ${T.describe(err)}`);
        node.ws = null;
      }
    } else if (haUrl) {
      node.warn('Home Assistant URL set but no access token: websocket part disabled');
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
          if (!ws.connected) await connectedWithin(ws, 5000);
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
