/**
 * The broker connection of an MQTT door, one per broker whatever the number of doors: a
 * Node-RED mqtt-broker config node, used as core's mqtt out node uses it (register, publish,
 * deregister; @node-red/nodes core/network/10-mqtt.js), the MQTT link of an
 * intercom-home-assistant config node, or, for a door saved with its own broker URL, the
 * client shared by every door naming that URL and user (lib/door/mqtt-clients.ts).
 */
import { errorText, IntercomError } from '../lib/core/errors';
import type { MqttConnection } from '../lib/door/action-mqtt';
import type { MqttRoute } from '../lib/door/config';
import { shareClient } from '../lib/door/mqtt-clients';
import type { HaConfigNode } from './home-assistant';
import type { Node, RED } from './red';

export interface BrokerLease {
  connection: MqttConnection;
  /** the door closes: it stops using the connection */
  release(removed: boolean): Promise<void>;
}

/** Node-RED's mqtt-broker config node as its users see it. */
interface CoreBroker extends Node {
  brokerurl?: string;
  connected?: boolean;
  register(user: Node): void;
  deregister(user: Node, done: () => void, autoDisconnect?: boolean): void;
  publish(msg: { topic: string; payload: string; qos: number; retain: boolean }, done: (err?: unknown) => void): void;
}

function isCoreBroker(n: Node | null): n is CoreBroker {
  const b = n as Partial<CoreBroker> | null;
  return !!b && typeof b.register === 'function' && typeof b.deregister === 'function' && typeof b.publish === 'function';
}

function isHa(n: Node | null): n is HaConfigNode {
  const h = n as Partial<HaConfigNode> | null;
  return !!h && typeof h.register === 'function' && 'mqtt' in h;
}

const redact = (url: string): string => url.replace(/\/\/[^@/]*@/, '//');

function coreLease(broker: CoreBroker, user: Node): BrokerLease {
  // As mqtt out does: the broker connects with its first user and may end with its last.
  broker.register(user);
  const connection: MqttConnection = {
    label: broker.name || redact(broker.brokerurl ?? '') || broker.id,
    get connected() {
      return broker.connected === true;
    },
    publish: (topic, payload, opts) =>
      new Promise<void>((resolve, reject) => {
        // The broker node publishes only while connected (and then calls back on the PUBACK).
        broker.publish({ topic, payload, qos: opts.qos, retain: opts.retain }, (err) => (err ? reject(new IntercomError('door.mqttFailed', { detail: errorText(err).slice(0, 120) })) : resolve()));
      }),
  };
  return { connection, release: (removed) => new Promise<void>((resolve) => broker.deregister(user, resolve, removed)) };
}

function haLease(ha: HaConfigNode, user: Node): BrokerLease {
  const link = ha.mqtt;
  if (!link) throw new IntercomError('door.mqttHaMissing', { id: ha.id });
  ha.register(user, ['mqtt']);
  const connection: MqttConnection = {
    label: ha.name || 'Home Assistant',
    get connected() {
      return link.connected;
    },
    // QoS 2 was refused for this route at deploy (lib/door/config.ts).
    publish: (topic, payload, opts) => link.publish(topic, payload, { qos: opts.qos as 0 | 1, retain: opts.retain }),
  };
  return {
    connection,
    release: async () => {
      ha.deregister(user);
    },
  };
}

/** The connection an MQTT door's route names; throws an IntercomError when it is not there. */
export function brokerLease(RED: RED, route: MqttRoute, user: Node): BrokerLease {
  if (route.via === 'url') {
    const shared = shareClient(route.address);
    return { connection: shared.connection, release: () => shared.release() };
  }
  const node = RED.nodes.getNode(route.node);
  if (route.via === 'broker') {
    if (!isCoreBroker(node)) throw new IntercomError('door.mqttBrokerMissing', { id: route.node });
    return coreLease(node, user);
  }
  if (!isHa(node)) throw new IntercomError('door.mqttHaMissing', { id: route.node });
  return haLease(node, user);
}
