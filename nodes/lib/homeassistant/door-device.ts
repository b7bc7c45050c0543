/**
 * One door as a Home Assistant device: keeps the door's last known state (lock, ringing,
 * last caller, last snapshot) and publishes it, with the discovery configs, whenever the
 * broker connection comes back or HA restarts. Events (ring, answered, ...) are not
 * retained: HA would fire them again at each restart.
 */
import {
  discoveryMessages,
  doorTopics,
  LOCK_STATE,
  type DoorDescription,
  type DoorEventType,
  type DoorTopics,
} from './discovery';
import type { Logger } from './logger';
import type { PublishOptions } from './mqtt-link';

export interface Publisher {
  publish(topic: string, payload: string | Buffer, opts?: PublishOptions): Promise<void>;
}

export interface DoorEventInfo {
  caller?: string;
  callId?: string;
}

export interface DoorDeviceOptions extends DoorDescription {
  publisher: Publisher;
  logger: Logger;
  /** after an "opened" event the lock shows unlocked for this long, then locked again */
  relockMs?: number;
  now?: () => Date;
}

/** Largest snapshot we pass to the broker (mosquitto's default limit is far higher, HA's image entity is not). */
export const MAX_IMAGE_BYTES = 4 * 1024 * 1024;

export class DoorDevice {
  readonly topics: DoorTopics;
  private locked = true;
  private ringing = false;
  private caller = '';
  private image: Buffer | null = null;
  private relock: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly o: DoorDeviceOptions) {
    this.topics = doorTopics(o.baseTopic, o.doorId);
  }

  private pub(topic: string, payload: string | Buffer, retain: boolean): Promise<void> {
    return this.o.publisher.publish(topic, payload, { retain, qos: 1 });
  }

  /** Discovery configs, availability and the retained state, in the order HA needs them. */
  async announce(): Promise<void> {
    const jobs = discoveryMessages(this.o).map((m) => this.pub(m.topic, m.payload, true));
    // Discovery first, so the entity exists when its state arrives.
    await Promise.all(jobs);
    await Promise.all([
      this.pub(this.topics.available, 'online', true),
      this.pub(this.topics.lockState, this.locked ? LOCK_STATE.locked : LOCK_STATE.unlocked, true),
      this.pub(this.topics.ringing, this.ringing ? 'ON' : 'OFF', true),
      this.pub(this.topics.caller, this.caller, true),
      ...(this.image ? [this.pub(this.topics.image, this.image, true)] : []),
    ]);
  }

  /**
   * A door event from the flow. Resolves once the broker acknowledged the event (QoS 1);
   * while the broker is away it waits in the client's queue and is delivered on reconnect.
   */
  async event(type: DoorEventType, info: DoorEventInfo = {}): Promise<void> {
    if (this.stopped) throw new Error('door device stopped');
    const jobs: Promise<void>[] = [];
    if (type === 'ring') {
      this.ringing = true;
      jobs.push(this.pub(this.topics.ringing, 'ON', true));
      if (info.caller !== undefined) {
        this.caller = info.caller.slice(0, 255);
        jobs.push(this.pub(this.topics.caller, this.caller, true));
      }
    } else if (this.ringing) {
      this.ringing = false;
      jobs.push(this.pub(this.topics.ringing, 'OFF', true));
    }
    if (type === 'opened') this.showOpened();
    const payload: Record<string, unknown> = { event_type: type, time: (this.o.now ?? (() => new Date()))().toISOString() };
    if (info.caller !== undefined) payload.caller = info.caller;
    if (info.callId !== undefined) payload.call_id = info.callId;
    jobs.push(this.pub(this.topics.event, JSON.stringify(payload), false));
    await Promise.all(jobs);
  }

  private showOpened(): void {
    this.setLocked(false).catch((err: Error) => this.o.logger.warn(`lock state not published: ${err.message}`));
    if (this.relock) clearTimeout(this.relock);
    this.relock = setTimeout(() => {
      this.relock = null;
      this.setLocked(true).catch((err: Error) => this.o.logger.warn(`lock state not published: ${err.message}`));
    }, this.o.relockMs ?? 5000);
  }

  /** The lock state as the flow reports it (a strike relocks itself; a motor lock reports back). */
  setLocked(locked: boolean): Promise<void> {
    this.locked = locked;
    return this.pub(this.topics.lockState, locked ? LOCK_STATE.locked : LOCK_STATE.unlocked, true);
  }

  /** The last snapshot, raw JPEG bytes on image_topic. */
  setImage(jpeg: Buffer): Promise<void> {
    if (jpeg.length === 0) return Promise.reject(new Error('empty image'));
    if (jpeg.length > MAX_IMAGE_BYTES) return Promise.reject(new Error(`image of ${jpeg.length} bytes exceeds ${MAX_IMAGE_BYTES}`));
    this.image = jpeg;
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
