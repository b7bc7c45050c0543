/**
 * The MQTT way to open a door: one lazily opened connection per door, kept for the next
 * open and ended on close. A publish counts as done when the broker acknowledged it
 * (PUBACK for QoS 1, PUBCOMP for QoS 2; MQTT 3.1.1 §4.3), within the deadline.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { MqttPublisher } from './opener';

export interface MqttBrokerOptions {
  url: string; // mqtt://127.0.0.1:1883, mqtts://...
  username?: string;
  password?: string;
  clientId?: string;
  insecureTls?: boolean;
}

export class MqttBrokerPublisher implements MqttPublisher {
  private client: MqttClient | undefined;

  constructor(private readonly opts: MqttBrokerOptions) {
    if (!/^(mqtts?|wss?|tcp):\/\//.test(opts.url)) throw new Error('MQTT broker URL must start with mqtt://, mqtts://, ws:// or wss://');
  }

  private connect(): MqttClient {
    if (!this.client) {
      this.client = mqtt.connect(this.opts.url, {
        username: this.opts.username || undefined,
        password: this.opts.password || undefined,
        clientId: this.opts.clientId,
        reconnectPeriod: 2000,
        connectTimeout: 5000,
        rejectUnauthorized: !this.opts.insecureTls,
      });
      // Errors surface through publish; an unhandled 'error' event would crash Node-RED.
      this.client.on('error', () => undefined);
    }
    return this.client;
  }

  publish(topic: string, payload: string, opts: { qos: 0 | 1 | 2; retain: boolean }, timeoutMs: number): Promise<void> {
    const client = this.connect();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Drop the connection and its queue: a door must not open minutes later when
        // the broker comes back and mqtt.js flushes what it kept.
        if (this.client === client) this.client = undefined;
        client.end(true);
        reject(new Error(client.connected ? `broker did not acknowledge within ${timeoutMs} ms` : `broker ${redact(this.opts.url)} not reachable within ${timeoutMs} ms`));
      }, timeoutMs);
      // mqtt.js queues while connecting; the callback comes with the acknowledgement.
      client.publish(topic, payload, { qos: opts.qos, retain: opts.retain }, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true);
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
