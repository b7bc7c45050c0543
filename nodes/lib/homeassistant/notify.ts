/**
 * Actionable push notifications for a ring. Each notification gets action ids that are
 * unique to that ring (OPEN_<random>), valid once, until the call ends or the expiry
 * passes. A press on an old notification, a second press, or a press after the expiry
 * resolves as expired, never as an action: an old notification can never open the door.
 */
import { randomBytes } from 'node:crypto';
import { IntercomError } from '../core/errors';

export interface ActionSpec {
  /** what the flow sees in msg.payload: "open", "ignore" or a custom key */
  key: string;
  title: string;
}

export interface Ring {
  ringId: string;
  callId?: string;
  doorId?: string;
  /** whatever the caller wants back with the press (e.g. the call object) */
  context?: Record<string, unknown>;
}

export type Resolution =
  | { kind: 'action'; key: string; ring: Ring; ageMs: number }
  | { kind: 'expired'; key: string; ring: Ring; reason: 'timeout' | 'call-ended' | 'already-used' | 'replaced'; ageMs: number }
  | { kind: 'unknown' };

interface Issued {
  ring: Ring;
  key: string;
  issuedAt: number;
  expiresAt: number;
  dead?: 'call-ended' | 'already-used' | 'replaced';
}

const KEY = /^[a-z0-9_]{1,32}$/;

export function actionKey(title: string): string {
  const k = title.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 32);
  return k || 'action';
}

/** Parses the node's custom actions, "Call me, Let in:let_in" → [{key:'call_me',...},{key:'let_in',...}]. */
export function parseCustomActions(text: string): ActionSpec[] {
  const out: ActionSpec[] = [];
  for (const part of text.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const i = p.lastIndexOf(':');
    const title = (i > 0 ? p.slice(0, i) : p).trim();
    const key = i > 0 ? p.slice(i + 1).trim().toLowerCase() : actionKey(title);
    if (!KEY.test(key)) throw new IntercomError('ha.notify.badKey', { key: key.slice(0, 40) });
    if (key === 'open' || key === 'ignore') throw new IntercomError('ha.notify.reservedKey', { key });
    if (out.some((a) => a.key === key)) throw new IntercomError('ha.notify.duplicateKey', { key });
    out.push({ key, title });
  }
  return out;
}

export interface RegistryOptions {
  expiryMs: number;
  now?: () => number;
  random?: () => string;
  /** how long a dead id is kept to tell "expired" from "unknown" */
  tombstoneMs?: number;
}

export class ActionRegistry {
  private readonly issued = new Map<string, Issued>();
  private readonly now: () => number;
  private readonly random: () => string;

  constructor(private readonly o: RegistryOptions) {
    this.now = o.now ?? Date.now;
    this.random = o.random ?? (() => randomBytes(9).toString('base64url'));
  }

  /**
   * Issues fresh one-time action ids for a ring. Earlier rings of the same door are
   * "replaced" (the new notification carries the same tag and replaces the old one).
   */
  issue(ring: Ring, actions: ActionSpec[]): Array<{ action: string; title: string }> {
    this.prune();
    if (ring.doorId !== undefined) {
      for (const it of this.issued.values()) {
        if (it.ring.doorId === ring.doorId && it.ring.ringId !== ring.ringId && !it.dead) it.dead = 'replaced';
      }
    }
    const t = this.now();
    return actions.map((a) => {
      const id = `${a.key.toUpperCase()}_${this.random()}`;
      this.issued.set(id, { ring, key: a.key, issuedAt: t, expiresAt: t + this.o.expiryMs });
      return { action: id, title: a.title };
    });
  }

  /** The call ended (answered elsewhere, hung up, opened): its actions are dead. */
  endRing(match: { ringId?: string; callId?: string }): number {
    let n = 0;
    for (const it of this.issued.values()) {
      const hit = (match.ringId !== undefined && it.ring.ringId === match.ringId) || (match.callId !== undefined && it.ring.callId === match.callId);
      if (hit && !it.dead) {
        it.dead = 'call-ended';
        n++;
      }
    }
    return n;
  }

  /** Resolves a pressed action id exactly once; every later press of any id of that ring is expired. */
  resolve(actionId: unknown): Resolution {
    if (typeof actionId !== 'string') return { kind: 'unknown' };
    const it = this.issued.get(actionId);
    if (!it) return { kind: 'unknown' };
    const t = this.now();
    const ageMs = t - it.issuedAt;
    if (it.dead) return { kind: 'expired', key: it.key, ring: it.ring, reason: it.dead, ageMs };
    if (t >= it.expiresAt) return { kind: 'expired', key: it.key, ring: it.ring, reason: 'timeout', ageMs };
    // One answer per ring: the other buttons of the same notification die with this one.
    for (const other of this.issued.values()) if (other.ring.ringId === it.ring.ringId && !other.dead) other.dead = 'already-used';
    return { kind: 'action', key: it.key, ring: it.ring, ageMs };
  }

  /** Forgets ids long past their expiry. */
  prune(): void {
    const t = this.now();
    const keep = this.o.tombstoneMs ?? 24 * 3600 * 1000;
    for (const [id, it] of this.issued) if (t - it.expiresAt > keep) this.issued.delete(id);
  }

  get size(): number {
    return this.issued.size;
  }
}

export interface NotificationContent {
  title: string;
  message: string;
  /** an URL the phone app can load: a path on HA (fetched with the app's auth) or absolute */
  image?: string;
  actions: Array<{ action: string; title: string }>;
  tag: string;
  expirySeconds: number;
}

/** The notify service data the HA companion apps understand (iOS and Android). */
export function notificationData(n: NotificationContent): Record<string, unknown> {
  const data: Record<string, unknown> = {
    tag: n.tag,
    group: 'intercom',
    actions: n.actions,
    // Android: drop the notification once its actions would be refused anyway.
    timeout: n.expirySeconds,
    ttl: 0,
    priority: 'high',
    push: { 'interruption-level': 'time-sensitive' },
  };
  if (n.image) data.image = n.image;
  return { title: n.title, message: n.message, data };
}

/** The special message that removes a notification with this tag from the phone. */
export function clearNotificationData(tag: string): Record<string, unknown> {
  return { message: 'clear_notification', data: { tag } };
}

/** Flow topics after which a ring's push is dead: the call was taken, ended or decided. */
const ENDING = new Set(['answered', 'missed', 'cancelled', 'ended', 'opened', 'denied', 'hangup']);

export function endsRing(topic: unknown): topic is string {
  return typeof topic === 'string' && ENDING.has(topic);
}

/** "{caller} is ringing" with the values named; an unknown {name} stays as written. */
export function fillTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? vars[k] : m));
}

/** notify.<service>: mobile_app_<device> or a notify group; a slug, nothing else. */
export function validNotifyService(s: unknown): s is string {
  return typeof s === 'string' && /^[a-z0-9_]{1,128}$/.test(s);
}
