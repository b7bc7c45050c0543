/**
 * The broker connection of one intercom-home-assistant config node. It owns the MQTT
 * client, its last will (the bridge availability topic), the subscription to Home
 * Assistant's birth topic and to every door's command topics, and routes each command to
 * the door that registered for it. Unknown doors and malformed payloads are logged and
 * dropped here, before any flow sees them.
 */
import { randomBytes } from 'node:crypto';
import * as mqtt from 'mqtt';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { errorText, IntercomError } from '../core/errors';
import type { Logger } from '../core/log';
import { bridgeAvailabilityTopic, commandWildcard, parseCommand, type DoorCommand } from './discovery';
import { attemptFailure, Link, ReconnectPolicy } from './link';

/** Where the broker is, and the login it wants. */
export interface BrokerAddress {
  url: string;
  username?: string;
  password?: string;
}

export interface MqttLinkOptions {
  /** the broker; or leave it out and give resolveBroker */
  url?: string;
  username?: string;
  password?: string;
  /** asks for the broker at the first start (the Supervisor's mqtt service of an add-on) */
  resolveBroker?: () => Promise<BrokerAddress>;
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
  reconnect?: ReconnectPolicy;
  /** how long readRetained waits for the broker at most */
  retainedTimeoutMs?: number;
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
  private readonly reconnect: ReconnectPolicy;
  /** the broker once known (given, or resolved at the first start) */
  private address: BrokerAddress | undefined;
  private resolving: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** why the broker could not be used (an IntercomError the node words), for the status */
  problem: unknown;
  /** readRetained calls in flight, by their barrier topic */
  private readonly reads = new Map<string, { topics: Set<string>; found: Map<string, Buffer>; done: () => void }>();
  /**
   * Home Assistant's own availability from its birth and last-will messages on
   * <prefix>/status: false after "offline", true after "online", undefined until HA said.
   */
  haOnline: boolean | undefined = undefined;
  readonly availabilityTopic: string;
  readonly birthTopic: string;

  constructor(private readonly opts: MqttLinkOptions) {
    super();
    this.reconnect = opts.reconnect ?? new ReconnectPolicy();
    if (opts.url) this.address = { url: opts.url, username: opts.username, password: opts.password };
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
    if (this.client || this.resolving || this.retryTimer || this.state === 'closed' || this.state === 'auth-rejected' || this.state === 'misconfigured') return;
    const o = this.opts;
    if (!this.address && o.resolveBroker) {
      this.setState('connecting');
      this.resolving = o.resolveBroker().then(
        (address) => {
          this.resolving = null;
          this.address = address;
          this.start();
        },
        (err: unknown) => {
          this.resolving = null;
          if (this.state === 'closed') return;
          this.problem = err;
          if ((err as { code?: string }).code === 'ha.supervisorUnreachable') {
            // The Supervisor itself not answering (yet): ask again, a while later each time.
            this.setState('disconnected', errorText(err));
            this.retryTimer = setTimeout(() => {
              this.retryTimer = null;
              this.start();
            }, this.reconnect.next('failed'));
          } else {
            o.logger.error('ha.brokerUnknown', { detail: errorText(err) });
            this.setState('misconfigured', errorText(err));
          }
        },
      );
      return;
    }
    const address = this.address ?? { url: o.url ?? '', username: o.username, password: o.password };
    this.problem = undefined;
    const connect = o.connect ?? mqtt.connect;
    this.setState('connecting');
    const client = connect(address.url, {
      username: address.username || undefined,
      password: address.password || undefined,
      clientId: o.clientId || `intercom_${Math.random().toString(16).slice(2, 10)}`,
      reconnectPeriod: this.reconnect.next('down'),
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
      this.reconnect.reset();
      // The first retry after a drop comes within a second: the broker may be back already.
      client.options.reconnectPeriod = this.reconnect.next('down');
      this.setState('connected');
      client.publish(this.availabilityTopic, 'online', { retain: true, qos: 1 });
      client.subscribe([this.birthTopic, commandWildcard(o.baseTopic)], { qos: 1 }, (err) => {
        if (err) o.logger.warn('ha.subscribeFailed', { detail: err.message });
      });
      for (const r of this.routes.values()) this.safe(() => r.onAnnounce('connected'));
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    client.on('close', () => {
      if (this.state === 'closed' || this.state === 'auth-rejected') return;
      for (const r of this.reads.values()) r.done();
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
      // The error comes before the close that schedules the next attempt (mqtt.js), so this
      // delay is the one used: a second while nothing listens, longer and longer otherwise.
      client.options.reconnectPeriod = this.reconnect.next(attemptFailure(err));
    });
  }

  private onMessage(topic: string, payload: Buffer, packet?: IPublishPacket): void {
    try {
      if (this.reads.size > 0 && this.readMessage(topic, payload, packet)) return;
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

  /** A message for a readRetained in flight: a retained copy it asked for, or its barrier. */
  private readMessage(topic: string, payload: Buffer, packet?: IPublishPacket): boolean {
    const barrier = this.reads.get(topic);
    if (barrier) {
      barrier.done();
      return true;
    }
    let mine = false;
    for (const r of this.reads.values()) {
      if (!r.topics.has(topic)) continue;
      mine = true;
      // Only what the broker held: a live publish of ours that crossed the read is not "retained".
      if (packet?.retain) r.found.set(topic, payload);
    }
    return mine;
  }

  /**
   * The retained messages the broker holds on these topics now. The broker sends the
   * retained copies of a new subscription before anything published after it, so once a
   * barrier message published after subscribing comes back, every copy has arrived. Bounded:
   * with a broker that does not echo, it resolves with what it got after retainedTimeoutMs.
   */
  readRetained(topics: string[]): Promise<Map<string, Buffer>> {
    const client = this.client;
    if (!client || !this.connected) return Promise.reject(new IntercomError('ha.mqttNotUp', { state: this.state }));
    const barrier = `${this.opts.baseTopic}/bridge/barrier/${randomBytes(6).toString('hex')}`;
    const found = new Map<string, Buffer>();
    return new Promise((resolve) => {
      let finished = false;
      const done = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.reads.delete(barrier);
        client.unsubscribe([...topics, barrier], () => undefined);
        resolve(found);
      };
      const timer = setTimeout(done, this.opts.retainedTimeoutMs ?? 2000);
      this.reads.set(barrier, { topics: new Set(topics), found, done });
      client.subscribe([...topics, barrier], { qos: 1 }, (err) => {
        if (err) return done();
        client.publish(barrier, '', { qos: 1, retain: false }, (e) => e && done());
      });
    });
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
  async publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    // The first moments of an add-on: the broker's address is being asked for.
    if (this.resolving) await this.resolving;
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
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.setState('closed');
    this.routes.clear();
    for (const r of this.reads.values()) r.done();
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
