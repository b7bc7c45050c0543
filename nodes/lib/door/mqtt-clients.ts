/**
 * Doors saved before they named a broker config node carry the broker's URL (and its user)
 * themselves. They keep working, but no longer with a connection each: every door naming
 * the same URL with the same user shares one client, opened on the first open and ended
 * when the last of them closes.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { IntercomError } from '../core/errors';
import type { MqttConnection } from './action-mqtt';

export interface BrokerAddress {
  /** mqtt://127.0.0.1:1883, mqtts://..., ws://..., wss://... */
  url: string;
  username?: string;
  password?: string;
  insecureTls?: boolean;
}

export interface SharedClient {
  connection: MqttConnection;
  /** this door no longer uses it; the last one out ends the client */
  release(): Promise<void>;
}

const BROKER_URL = /^(mqtts?|wss?|tcp):\/\/[^/\s]/;

class SharedBroker implements MqttConnection {
  private client: MqttClient | undefined;
  users = 0;
  readonly label: string;

  constructor(private readonly addr: BrokerAddress) {
    this.label = addr.url.replace(/\/\/[^@/]*@/, '//');
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  start(): void {
    if (this.client) return;
    this.client = mqtt.connect(this.addr.url, {
      username: this.addr.username || undefined,
      password: this.addr.password || undefined,
      // A broker that restarts is back within a second of listening again; a refused attempt costs it nothing.
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      rejectUnauthorized: !this.addr.insecureTls,
    });
    // Errors surface through the door's open; an unhandled 'error' event would crash Node-RED.
    this.client.on('error', () => undefined);
  }

  publish(topic: string, payload: string, opts: { qos: 0 | 1 | 2; retain: boolean }): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new IntercomError('door.mqttNotStarted'));
    return new Promise<void>((resolve, reject) => client.publish(topic, payload, opts, (err) => (err ? reject(err) : resolve())));
  }

  abandon(): void {
    // Drop the connection and its queue: a door must not open minutes later when the
    // broker comes back and mqtt.js flushes what it kept. The next open connects again.
    const c = this.client;
    this.client = undefined;
    c?.end(true);
  }

  async end(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true);
  }
}

const shared = new Map<string, SharedBroker>();

/** Refuses what is not a broker URL, naming the field. */
export function checkBrokerUrl(url: string): void {
  if (!BROKER_URL.test(url)) throw new IntercomError('door.mqttUrl', { field: 'broker' });
}

/** The one client of this broker URL and user, shared with every door that names them. */
export function shareClient(addr: BrokerAddress): SharedClient {
  checkBrokerUrl(addr.url);
  const key = JSON.stringify([addr.url, addr.username ?? '', addr.password ?? '', addr.insecureTls === true]);
  let broker = shared.get(key);
  if (!broker) {
    broker = new SharedBroker(addr);
    shared.set(key, broker);
  }
  broker.users++;
  const b = broker;
  let released = false;
  return {
    connection: b,
    release: async () => {
      if (released) return;
      released = true;
      if (--b.users > 0) return;
      if (shared.get(key) === b) shared.delete(key);
      await b.end();
    },
  };
}

/** Clients held now, for tests. */
export function sharedClientCount(): number {
  return shared.size;
}
