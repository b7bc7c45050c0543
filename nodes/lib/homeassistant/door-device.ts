/**
 * One door as a Home Assistant device: keeps the door's last known state (lock, ringing,
 * last caller, last snapshot) and publishes it, with the discovery configs, whenever the
 * broker connection comes back or HA restarts. Events (ring, answered, ...) are not
 * retained: HA would fire them again at each restart.
 *
 * It follows each call from its ring: a call that ends (the visitor hung up, the panel
 * gave up) without having been answered, opened for or denied is a `missed` doorbell event,
 * and "ringing" is on exactly while some call rings.
 *
 * What it does not know it does not publish: after a redeploy the last caller and the
 * snapshot are what the broker retained, read back before anything is sent, so a redeploy
 * never blanks the last caller, and a reconnect never sends the same picture again (HA
 * would date it anew and fire "picture changed" automations for nothing).
 */
import {
  discoveryMessages,
  doorTopics,
  LOCK_STATE,
  type DoorDescription,
  type DoorEventType,
  type DoorTopics,
} from './discovery';
import { callerText, type Caller } from './caller';
import { errorText, IntercomError } from '../core/errors';
import type { Logger } from '../core/log';
import type { PublishOptions } from './mqtt-link';

export interface Publisher {
  publish(topic: string, payload: string | Buffer, opts?: PublishOptions): Promise<void>;
  /** the retained messages the broker holds on these topics now (absent: nothing is read back) */
  readRetained?(topics: string[]): Promise<Map<string, Buffer>>;
  /** false while Home Assistant's last will says it is gone */
  readonly haOnline?: boolean;
  /** the broker connection is up */
  readonly connected: boolean;
}

/** What a flow message may say about the door: the doorbell events, and the ends of a call. */
export type DoorTopic = DoorEventType | 'cancelled' | 'ended';
const DOOR_TOPICS: readonly DoorTopic[] = ['ring', 'answered', 'missed', 'opened', 'denied', 'cancelled', 'ended'];

export function isDoorTopic(v: unknown): v is DoorTopic {
  return typeof v === 'string' && (DOOR_TOPICS as readonly string[]).includes(v);
}

export interface DoorEventInfo {
  caller?: Caller;
  callId?: string;
}

export interface DoorDeviceOptions extends DoorDescription {
  publisher: Publisher;
  logger: Logger;
  /** after an "opened" event the lock shows unlocked for this long, then locked again */
  relockMs?: number;
  /** how long held events wait for HA's birth message after a reconnect */
  haGraceMs?: number;
  now?: () => Date;
}

/** Largest snapshot we pass to the broker (mosquitto's default limit is far higher, HA's image entity is not). */
export const MAX_IMAGE_BYTES = 4 * 1024 * 1024;

/** Calls followed at once; a flow that never sends `ended` cannot grow the map for ever. */
const MAX_CALLS = 64;
/** The key of a ring that came without msg.call.id. */
const ANONYMOUS = '';

export class DoorDevice {
  readonly topics: DoorTopics;
  private locked = true;
  /** undefined: not known yet (neither rung in this run nor read back from the broker) */
  private caller: string | undefined;
  private image: Buffer | null = null;
  /** the broker holds `image` retained (published or read back on this connection) */
  private brokerHasImage = false;
  /** calls since their ring: still ringing, or taken care of (answered, opened, denied) */
  private readonly calls = new Map<string, 'ringing' | 'handled'>();
  private publishedRinging: boolean | undefined;
  private relock: NodeJS.Timeout | null = null;
  private stopped = false;
  /** events raised while the broker was away, held until HA can hear them */
  private held: Array<{ payload: string; resolve: () => void; reject: (e: Error) => void }> = [];
  private flushTimer: NodeJS.Timeout | null = null;
  /** the retained state read back on this connection (announce waits for it) */
  private restored: Promise<void> | null = null;

  constructor(private readonly o: DoorDeviceOptions) {
    this.topics = doorTopics(o.baseTopic, o.doorId);
  }

  get ringing(): boolean {
    for (const s of this.calls.values()) if (s === 'ringing') return true;
    return false;
  }

  /** the last caller as the sensor shows it (undefined until known) */
  get lastCaller(): string | undefined {
    return this.caller;
  }

  private pub(topic: string, payload: string | Buffer, retain: boolean): Promise<void> {
    return this.o.publisher.publish(topic, payload, { retain, qos: 1 });
  }

  /**
   * Reads back what the broker retained for this door, once per connection: the last caller
   * and snapshot of an earlier run are kept, and what the broker already holds is not sent again.
   */
  private restore(): Promise<void> {
    const read = this.o.publisher.readRetained;
    if (!read) return Promise.resolve();
    return read
      .call(this.o.publisher, [this.topics.caller, this.topics.image])
      .then((held) => {
        const caller = held.get(this.topics.caller);
        // A ring of this run is newer than anything retained.
        if (this.caller === undefined && caller && caller.length > 0) this.caller = caller.toString('utf8');
        const image = held.get(this.topics.image);
        if (image && image.length > 0) {
          if (!this.image) this.image = image;
          if (this.image.equals(image)) this.brokerHasImage = true;
        }
      })
      .catch((err: unknown) => this.o.logger.debug('ha.restoreFailed', { detail: errorText(err) }));
  }

  /** Discovery configs, availability and the known state, in the order HA needs them. */
  async announce(): Promise<void> {
    await (this.restored ?? Promise.resolve());
    const jobs = discoveryMessages(this.o).map((m) => this.pub(m.topic, m.payload, true));
    // Discovery first, so the entity exists when its state arrives.
    await Promise.all(jobs);
    // A reconnect while those were in flight started a new read-back: decide on its answer.
    await (this.restored ?? Promise.resolve());
    const ringing = this.ringing;
    this.publishedRinging = ringing;
    const states = [
      this.pub(this.topics.available, 'online', true),
      this.pub(this.topics.lockState, this.locked ? LOCK_STATE.locked : LOCK_STATE.unlocked, true),
      this.pub(this.topics.ringing, ringing ? 'ON' : 'OFF', true),
    ];
    // HA drops a state it already has, so these cost nothing twice; a picture it would date anew.
    if (this.caller !== undefined) states.push(this.pub(this.topics.caller, this.caller, true));
    if (this.image && !this.brokerHasImage) {
      this.brokerHasImage = true;
      states.push(this.pub(this.topics.image, this.image, true));
    }
    await Promise.all(states);
  }

  /**
   * The broker connection came (back) or HA announced itself. Everything is published again;
   * events held while the broker was away go out once HA is back on the broker too: after a
   * broker restart HA resubscribes only when it reconnects, and says so with its birth message.
   * If no birth comes within haGraceMs (only our side had dropped), they go out anyway.
   */
  linkUp(reason: 'connected' | 'ha-online'): void {
    if (reason === 'connected') {
      // A new connection: the broker may have lost what it retained (a restart without persistence).
      this.brokerHasImage = false;
      this.restored = this.restore();
    }
    this.announce().catch((err: unknown) => this.o.logger.warn('ha.announceFailed', { detail: errorText(err) }));
    if (this.held.length === 0) return;
    if (reason === 'ha-online') {
      this.flushHeld();
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flushHeld(), this.o.haGraceMs ?? 5000);
    }
  }

  private flushHeld(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const h of this.held.splice(0)) this.pub(this.topics.event, h.payload, false).then(h.resolve, h.reject);
  }

  /** Follows the call; returns the doorbell event this topic raises, if any. */
  private follow(topic: DoorTopic, callId: string): DoorEventType | undefined {
    const state = this.calls.get(callId);
    switch (topic) {
      case 'ring':
        this.calls.delete(callId);
        this.calls.set(callId, 'ringing');
        while (this.calls.size > MAX_CALLS) this.calls.delete(this.calls.keys().next().value as string);
        return 'ring';
      case 'answered':
      case 'opened':
      case 'denied':
        if (this.calls.has(callId)) this.calls.set(callId, 'handled');
        else if (callId === ANONYMOUS) {
          // Opened from the dashboard, denied by a rule without a call: every ringing call is taken care of.
          for (const k of this.calls.keys()) this.calls.set(k, 'handled');
        }
        return topic;
      case 'missed':
        this.calls.delete(callId);
        return 'missed';
      case 'cancelled':
      case 'ended':
        this.calls.delete(callId);
        // Only a call that was still ringing was missed; one answered or opened for was not.
        return state === 'ringing' ? 'missed' : undefined;
    }
  }

  /**
   * A door event from the flow. Resolves once the broker acknowledged it (QoS 1). Raised
   * while the broker is away, it is held and delivered after reconnection (see linkUp);
   * raised while HA itself is gone, it rejects: nobody could hear it.
   */
  async event(topic: DoorTopic, info: DoorEventInfo = {}): Promise<DoorEventType | undefined> {
    if (this.stopped) throw new IntercomError('ha.deviceStopped');
    const type = this.follow(topic, info.callId ?? ANONYMOUS);
    const jobs: Promise<void>[] = [];
    const caller = callerText(info.caller);
    // HA subscribes with a clean session: an event published while it is down reaches
    // nobody. The states below are retained and catch up; the event itself is reported lost.
    const haDown = this.o.publisher.haOnline === false;
    if (type) {
      const payload: Record<string, unknown> = { event_type: type, time: (this.o.now ?? (() => new Date()))().toISOString() };
      if (caller !== undefined) payload.caller = caller;
      if (info.caller?.name) payload.caller_name = info.caller.name;
      if (info.caller?.number) payload.caller_number = info.caller.number;
      if (info.callId !== undefined) payload.call_id = info.callId;
      // The event first: the broker holds back a small message to HA behind an unacknowledged
      // one (Nagle, mosquitto's default), so the doorbell does not wait behind the states.
      if (this.o.publisher.connected) {
        jobs.push(this.pub(this.topics.event, JSON.stringify(payload), false));
      } else {
        jobs.push(new Promise<void>((resolve, reject) => this.held.push({ payload: JSON.stringify(payload), resolve, reject })));
      }
    }
    if (type === 'ring' && caller !== undefined && caller !== this.caller) {
      this.caller = caller.slice(0, 255);
      jobs.push(this.pub(this.topics.caller, this.caller, true));
    }
    const ringing = this.ringing;
    if (ringing !== this.publishedRinging) {
      this.publishedRinging = ringing;
      jobs.push(this.pub(this.topics.ringing, ringing ? 'ON' : 'OFF', true));
    }
    if (type === 'opened') this.showOpened();
    await Promise.all(jobs);
    if (type && haDown) throw new IntercomError('ha.haOffline', { topic: `${this.o.discoveryPrefix}/status`, event: type });
    return type;
  }

  private showOpened(): void {
    const failed = (err: unknown): void => this.o.logger.warn('ha.lockStateFailed', { detail: errorText(err) });
    this.setLocked(false).catch(failed);
    if (this.relock) clearTimeout(this.relock);
    this.relock = setTimeout(() => {
      this.relock = null;
      this.setLocked(true).catch(failed);
    }, this.o.relockMs ?? 5000);
  }

  /** The lock state as the flow reports it (a strike relocks itself; a motor lock reports back). */
  setLocked(locked: boolean): Promise<void> {
    this.locked = locked;
    return this.pub(this.topics.lockState, locked ? LOCK_STATE.locked : LOCK_STATE.unlocked, true);
  }

  /** The last snapshot, raw JPEG bytes on image_topic. */
  setImage(jpeg: Buffer): Promise<void> {
    if (jpeg.length === 0) return Promise.reject(new IntercomError('ha.emptyImage'));
    if (jpeg.length > MAX_IMAGE_BYTES) return Promise.reject(new IntercomError('ha.imageTooBig', { bytes: jpeg.length, max: MAX_IMAGE_BYTES }));
    this.image = jpeg;
    this.brokerHasImage = true;
    return this.pub(this.topics.image, jpeg, true);
  }

  /**
   * The flow node stops. On a redeploy the door only goes unavailable until it is back;
   * when the node was deleted, its retained configs and states are removed so HA drops the
   * device instead of keeping a ghost (an empty retained payload deletes a retained message).
   */
  async stop(removed: boolean): Promise<void> {
    this.stopped = true;
    if (this.relock) clearTimeout(this.relock);
    this.relock = null;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    for (const h of this.held.splice(0)) h.reject(new IntercomError('ha.eventLost'));
    const jobs = [this.pub(this.topics.available, 'offline', true)];
    if (removed) {
      for (const m of discoveryMessages(this.o)) jobs.push(this.pub(m.topic, '', true));
      for (const t of [this.topics.lockState, this.topics.ringing, this.topics.caller, this.topics.image, this.topics.available]) {
        jobs.push(this.pub(t, '', true));
      }
    }
    await Promise.all(jobs);
  }
}
