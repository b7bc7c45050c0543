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
import { errorText, IntercomError } from '../core/errors';
import type { Logger } from '../core/log';
import type { PublishOptions } from './mqtt-link';

export interface Publisher {
  publish(topic: string, payload: string | Buffer, opts?: PublishOptions): Promise<void>;
  /** false while Home Assistant's last will says it is gone */
  readonly haOnline?: boolean;
  /** the broker connection is up */
  readonly connected: boolean;
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
  /** how long held events wait for HA's birth message after a reconnect */
  haGraceMs?: number;
  now?: () => Date;
}

/** Who rang, as the doorbell event and the last-caller sensor show it: display name, user, or msg.caller. */
export function callerOf(msg: Record<string, unknown>): string | undefined {
  const from = (msg.call as { from?: unknown } | undefined)?.from;
  if (typeof from === 'string') return from;
  if (from && typeof from === 'object') {
    const f = from as { user?: unknown; displayName?: unknown };
    if (typeof f.displayName === 'string' && f.displayName) return f.displayName;
    if (typeof f.user === 'string') return f.user;
  }
  return typeof msg.caller === 'string' ? msg.caller : undefined;
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
  /** events raised while the broker was away, held until HA can hear them */
  private held: Array<{ payload: string; resolve: () => void; reject: (e: Error) => void }> = [];
  private flushTimer: NodeJS.Timeout | null = null;

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
   * The broker connection came (back) or HA announced itself. Everything is published again;
   * events held while the broker was away go out once HA is back on the broker too: after a
   * broker restart HA resubscribes only when it reconnects, and says so with its birth message.
   * If no birth comes within haGraceMs (only our side had dropped), they go out anyway.
   */
  linkUp(reason: 'connected' | 'ha-online'): void {
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

  /**
   * A door event from the flow. Resolves once the broker acknowledged it (QoS 1). Raised
   * while the broker is away, it is held and delivered after reconnection (see linkUp);
   * raised while HA itself is gone, it rejects: nobody could hear it.
   */
  async event(type: DoorEventType, info: DoorEventInfo = {}): Promise<void> {
    if (this.stopped) throw new IntercomError('ha.deviceStopped');
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
    // HA subscribes with a clean session: an event published while it is down reaches
    // nobody. The states above are retained and catch up; the event itself is reported lost.
    const haDown = this.o.publisher.haOnline === false;
    if (this.o.publisher.connected || this.stopped) {
      jobs.push(this.pub(this.topics.event, JSON.stringify(payload), false));
    } else {
      jobs.push(new Promise<void>((resolve, reject) => this.held.push({ payload: JSON.stringify(payload), resolve, reject })));
    }
    await Promise.all(jobs);
    if (haDown) throw new IntercomError('ha.haOffline', { topic: `${this.o.discoveryPrefix}/status`, event: type });
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
