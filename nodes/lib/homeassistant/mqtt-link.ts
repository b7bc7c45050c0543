/**
 * The broker connection of one intercom-home-assistant config node. It owns the MQTT
 * client, its last will (the bridge availability topic), the subscription to Home
 * Assistant's birth topic and to every door's command topics, and routes each command to
 * the door that registered for it. Unknown doors and malformed payloads are logged and
 * dropped here, before any flow sees them.
 */
import * as mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { errorText, IntercomError } from '../core/errors';
import type { Logger } from '../core/log';
import { bridgeAvailabilityTopic, commandWildcard, parseCommand, type DoorCommand } from './discovery';
import { Backoff, Link } from './link';

export interface MqttLinkOptions {
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  /** verify the broker certificate on mqtts:// (default true) */
  rejectUnauthorized?: boolean;
  /** PEM CA bundle for a private broker CA */
  ca?: string;
  baseTopic: string;
  discoveryPrefix: string;
  logger: Logger;
  /** injected for tests; defaults to mqtt.connect */
  connect?: (url: string, opts: IClientOptions) => MqttClient;
  backoff?: Backoff;
}

export interface DoorRoute {
  /** a parsed, valid command for this door */
  onCommand(command: DoorCommand, via: 'lock' | 'button'): void;
  /** the broker connection is (re)established, or HA announced itself: publish everything */
  onAnnounce(reason: 'connected' | 'ha-online'): void;
}

export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1;
}

/** CONNACK codes that mean the credentials were refused (MQTT 3.1.1 §3.2.2.3, MQTT 5 §3.2.2.2). */
const AUTH_CODES = new Set([4, 5, 134, 135]);

export class MqttLink extends Link {
  private client: MqttClient | null = null;
  private readonly routes = new Map<string, DoorRoute>();
  private readonly backoff: Backoff;
  /**
   * Home Assistant's own availability from its birth and last-will messages on
   * <prefix>/status: false after "offline", true after "online", undefined until HA said.
   */
  haOnline: boolean | undefined = undefined;
  readonly availabilityTopic: string;
  readonly birthTopic: string;

  constructor(private readonly opts: MqttLinkOptions) {
    super();
    this.backoff = opts.backoff ?? new Backoff(1000, 30000);
    this.availabilityTopic = bridgeAvailabilityTopic(opts.baseTopic);
    this.birthTopic = `${opts.discoveryPrefix}/status`;
  }

  get baseTopic(): string {
    return this.opts.baseTopic;
  }
  get discoveryPrefix(): string {
    return this.opts.discoveryPrefix;
  }

  /** Registers a door; a second registration of the same id is refused (two nodes, one device). */
  addDoor(doorId: string, route: DoorRoute): () => void {
    if (this.routes.has(doorId)) throw new IntercomError('ha.doorTaken', { door: doorId });
    this.routes.set(doorId, route);
    this.start();
    if (this.connected) route.onAnnounce('connected');
    return () => {
      if (this.routes.get(doorId) === route) this.routes.delete(doorId);
    };
  }

  start(): void {
    if (this.client || this.state === 'closed' || this.state === 'auth-rejected') return;
    const o = this.opts;
    const connect = o.connect ?? mqtt.connect;
    this.setState('connecting');
    const client = connect(o.url, {
      username: o.username || undefined,
      password: o.password || undefined,
      clientId: o.clientId || `intercom_${Math.random().toString(16).slice(2, 10)}`,
      reconnectPeriod: this.backoff.take(),
      connectTimeout: 10000,
      rejectUnauthorized: o.rejectUnauthorized !== false,
      ca: o.ca || undefined,
      // The last will marks every door of this connection unavailable in HA when we vanish.
      will: { topic: this.availabilityTopic, payload: Buffer.from('offline'), retain: true, qos: 1 },
    });
    this.client = client;
    client.on('connect', () => {
      // A ring is several small publishes in a burst; with Nagle on, the second waits for the
      // broker's delayed ACK (~40 ms on Linux). A doorbell wants them out at once.
      const stream = client.stream as { setNoDelay?: (on: boolean) => void } | undefined;
      stream?.setNoDelay?.(true);
      this.backoff.reset();
      client.options.reconnectPeriod = this.backoff.take();
      this.setState('connected');
      client.publish(this.availabilityTopic, 'online', { retain: true, qos: 1 });
      client.subscribe([this.birthTopic, commandWildcard(o.baseTopic)], { qos: 1 }, (err) => {
        if (err) o.logger.warn('ha.subscribeFailed', { detail: err.message });
      });
      for (const r of this.routes.values()) this.safe(() => r.onAnnounce('connected'));
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('close', () => {
      if (this.state === 'closed' || this.state === 'auth-rejected') return;
      // Each failed attempt waits longer, up to the cap, so a dead broker is not hammered.
      client.options.reconnectPeriod = this.backoff.take();
      this.setState('disconnected', this.detail);
    });
    client.on('error', (err: Error & { code?: number | string }) => {
      if (typeof err.code === 'number' && AUTH_CODES.has(err.code)) {
        // Retrying with the same credentials can only fail again: stop and say why.
        o.logger.error('ha.mqttAuthRejected', { detail: err.message });
        this.setState('auth-rejected', err.message);
        client.end(true);
        return;
      }
      o.logger.debug('ha.mqttError', { detail: err.message });
      this.detail = err.message;
    });
  }

  private onMessage(topic: string, payload: Buffer): void {
    try {
      if (topic === this.birthTopic) {
        // HA restarted: it forgets non-retained state, so everything is published again.
        const text = payload.toString();
        if (text === 'offline') this.haOnline = false;
        if (text === 'online') {
          this.haOnline = true;
          for (const r of this.routes.values()) this.safe(() => r.onAnnounce('ha-online'));
        }
        return;
      }
      const cmd = parseCommand(this.opts.baseTopic, topic, payload);
      if (!cmd.ok) {
        this.opts.logger.warn('ha.commandRejected', { topic: topic.slice(0, 200), reason: cmd.reason });
        this.emit('rejected', topic, cmd.reason);
        return;
      }
      const route = this.routes.get(cmd.doorId);
      if (!route) {
        this.opts.logger.warn('ha.commandUnknownDoor', { door: cmd.doorId });
        this.emit('rejected', topic, 'unknown-door');
        return;
      }
      route.onCommand(cmd.command, cmd.via);
    } catch (err) {
      this.opts.logger.error('ha.messageFailed', { topic: topic.slice(0, 200), detail: errorText(err) });
    }
  }

  private safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.logger.error('ha.doorHandlerFailed', { detail: errorText(err) });
    }
  }

  /**
   * Publishes; with QoS 1 a message sent while the broker is away waits in the client's
   * queue and goes out on reconnect. Rejects when the link is closed before it went out.
   */
  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    const client = this.client;
    if (!client || this.state === 'closed' || this.state === 'auth-rejected') {
      return Promise.reject(new IntercomError('ha.mqttNotUp', { state: this.state }));
    }
    return new Promise((resolve, reject) => {
      client.publish(topic, payload, { retain: opts.retain ?? false, qos: opts.qos ?? 1 }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Marks the bridge offline (a clean disconnect sends no last will) and disconnects. */
  async close(): Promise<void> {
    const client = this.client;
    const wasConnected = this.connected;
    this.setState('closed');
    this.routes.clear();
    this.client = null;
    if (!client) return;
    if (wasConnected) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        client.publish(this.availabilityTopic, 'offline', { retain: true, qos: 1 }, () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        client.end(true);
        resolve();
      }, 1500);
      client.end(false, {}, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
