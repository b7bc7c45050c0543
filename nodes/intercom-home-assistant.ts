/**
 * intercom-home-assistant (config): one MQTT broker connection and one Home Assistant
 * connection, either of which may be left out. As the Home Assistant add-on, one checkbox
 * gives both: the Supervisor's token and proxy, and the broker of its mqtt service. Flow
 * nodes register with it like core mqtt-broker users do; the connections start with the
 * first user and end on close.
 */
import { CommandAttribution } from './lib/homeassistant/attribution';
import { validTopicBase } from './lib/homeassistant/discovery';
import { HttpClient } from './lib/http/client';
import { MqttLink, type BrokerAddress } from './lib/homeassistant/mqtt-link';
import { addonSlug, ingressUrl, mqttService, supervisorAccess } from './lib/homeassistant/supervisor';
import { HaWsLink } from './lib/homeassistant/ws-link';
import { registerHaAdmin } from './shared/home-assistant-admin';
import { editorUrl, haAccess, packageVersion, type HaConfigNode, type HaSourceDef } from './shared/home-assistant';
import { onClose } from './shared/lifecycle';
import { texts } from './shared/i18n';
import { registerProvider } from './shared/providers';
import type { Node, NodeDef, RED } from './shared/red';

interface HaDef extends NodeDef, HaSourceDef {
  broker?: string;
  clientId?: string;
  tlsVerify?: boolean;
  baseTopic?: string;
  discoveryPrefix?: string;
  /** the Node-RED editor as HA's device page links it; empty = worked out */
  editorUrl?: string;
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
    const fail = (what: string, err: unknown): void => {
      node.problem = T.describe(err);
      // A token not typed yet is a step of the setup still to do, not a broken setting.
      const text = T.t(`errors.${what}`, { error: node.problem });
      if ((err as { code?: string }).code === 'ha.noToken') node.warn(text);
      else node.error(text);
    };
    node.mqtt = null;
    node.ws = null;
    node.attribution = null;
    node.source = { addon: def.addon === true, haFrom: def.haFrom || undefined, haUrl: def.haUrl };
    node.deviceInfo = { swVersion: packageVersion(), configurationUrl: (def.editorUrl ?? '').trim() || (def.addon ? undefined : editorUrl(RED.settings)) };

    const broker = (def.broker ?? '').trim();
    const baseTopic = (def.baseTopic ?? '').trim() || 'intercom';
    const discoveryPrefix = (def.discoveryPrefix ?? '').trim() || 'homeassistant';
    if (!validTopicBase(baseTopic) || !validTopicBase(discoveryPrefix)) {
      node.error(T.t('errors.badTopic', { baseTopic, discoveryPrefix }));
    } else if (broker && !/^(mqtts?|wss?|tcp|ssl):\/\/[^/\s]+/.test(broker)) {
      node.error(T.t('errors.badBroker', { broker }));
    } else if (broker || def.addon) {
      const typed: BrokerAddress | undefined = broker ? { url: broker, username: creds.mqttUser, password: creds.mqttPassword } : undefined;
      // As an add-on: the device page links the add-on's panel, the broker comes from the
      // Supervisor's mqtt service; the typed one only when the Supervisor gives none.
      const http = new HttpClient();
      const resolveBroker = def.addon
        ? async (): Promise<BrokerAddress> => {
            const s = supervisorAccess(process.env);
            const slug = def.editorUrl ? undefined : await addonSlug(http, s).catch(() => undefined);
            if (slug) node.deviceInfo.configurationUrl = ingressUrl(slug);
            try {
              return await mqttService(http, s);
            } catch (err) {
              if (!typed || (err as { code?: string }).code !== 'ha.supervisorNoMqtt') throw err;
              log.info('ha.brokerTyped', { broker: typed.url });
              return typed;
            }
          }
        : undefined;
      node.mqtt = new MqttLink({
        ...(def.addon ? {} : typed),
        resolveBroker,
        clientId: (def.clientId ?? '').trim() || undefined,
        rejectUnauthorized: def.tlsVerify !== false,
        baseTopic,
        discoveryPrefix,
        logger: log,
      });
    }
    try {
      const access = haAccess(RED, def, creds);
      if (access) {
        node.ws = new HaWsLink({ ...access, logger: log });
        const attribution = new CommandAttribution();
        node.attribution = attribution;
        // Admin tokens may watch call_service; without it commands just carry no user.
        node.ws.subscribe('call_service', (ev) => attribution.onEvent(ev));
      }
    } catch (err) {
      fail('haUrl', err);
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
  registerHaAdmin(RED, T);
};
