/**
 * Call forwarding the way BAS-IP panels describe it: a queue of up to 8 targets rung all at
 * once (first answer wins, the rest get CANCEL, RFC 3261 §9.1) or one by one (each for a
 * fixed time), optionally after a monitor target that gets the first chance alone. Pure
 * logic: legs are started and cancelled through an injected dialer and timed by an
 * injected clock, so the policy is unit-tested without sockets.
 */
import { EventEmitter } from 'node:events';
import { IntercomError } from '../core/errors';
import type { Clock, TimerHandle } from '../sip/clock';
import { MAX_FORWARD_TARGETS } from './forward-targets';

export type ForwardMode = 'all' | 'sequential';

export interface ForwardOptions {
  mode: ForwardMode;
  /** ring time per target (sequential) or for the whole group (all), ms */
  perTargetMs: number;
  /** tried alone first; the queue only rings when it does not answer in time */
  monitor?: string;
  monitorMs?: number;
}

/** What the queue needs from a leg's owner: start a call, cancel one still ringing. */
export interface ForwardDialer<L> {
  dial(target: string): L;
  cancel(leg: L): void;
}

export interface ForwardQueueEvents<L> {
  dialing: [target: string, leg: L];
  'dial-error': [target: string, err: unknown];
  answered: [leg: L, target: string];
  failed: [reason: string];
}

export class ForwardQueue<L> extends EventEmitter<ForwardQueueEvents<L>> {
  private readonly groups: Array<{ targets: string[]; ms: number }> = [];
  private group = -1;
  private readonly live = new Map<L, string>();
  private timer?: TimerHandle;
  private done = false;
  winner?: L;

  constructor(targets: string[], opts: ForwardOptions, private readonly dialer: ForwardDialer<L>, private readonly clock: Clock) {
    super();
    if (targets.length > MAX_FORWARD_TARGETS) throw new IntercomError('calls.tooManyTargets', { max: MAX_FORWARD_TARGETS, count: targets.length });
    if (!(opts.perTargetMs > 0)) throw new IntercomError('calls.ringTimeZero');
    if (opts.monitor) this.groups.push({ targets: [opts.monitor], ms: opts.monitorMs ?? opts.perTargetMs });
    if (opts.mode === 'all') {
      if (targets.length) this.groups.push({ targets, ms: opts.perTargetMs });
    } else for (const t of targets) this.groups.push({ targets: [t], ms: opts.perTargetMs });
    if (!this.groups.length) throw new IntercomError('calls.noTargets');
  }

  get finished(): boolean {
    return this.done;
  }

  /** Legs still ringing. */
  get ringing(): L[] {
    return [...this.live.keys()];
  }

  start(): void {
    this.next();
  }

  private next(): void {
    if (this.done) return;
    this.clock.clearTimeout(this.timer);
    this.group++;
    const g = this.groups[this.group];
    if (!g) return this.fail('no target answered');
    this.timer = this.clock.setTimeout(() => this.timeUp(), g.ms);
    for (const target of g.targets) {
      let leg: L;
      try {
        leg = this.dialer.dial(target);
      } catch (err) {
        this.emit('dial-error', target, err);
        continue;
      }
      this.live.set(leg, target);
      this.emit('dialing', target, leg);
    }
    // Every dial of this group failed at once: on to the next group.
    if (this.live.size === 0) this.next();
  }

  private timeUp(): void {
    if (this.done) return;
    this.cancelAll();
    this.next();
  }

  private cancelAll(except?: L): void {
    for (const leg of [...this.live.keys()]) {
      if (leg === except) continue;
      this.live.delete(leg);
      this.dialer.cancel(leg);
    }
  }

  /** A leg answered: the first one wins and every other leg gets CANCEL. */
  legAnswered(leg: L): boolean {
    const target = this.live.get(leg);
    if (this.done || target === undefined) return false;
    this.done = true;
    this.clock.clearTimeout(this.timer);
    this.winner = leg;
    this.live.delete(leg);
    this.cancelAll();
    this.emit('answered', leg, target);
    return true;
  }

  /** A leg ended without answering (busy, declined, unreachable): when its group is empty, go on. */
  legEnded(leg: L): void {
    if (!this.live.delete(leg) || this.done) return;
    if (this.live.size === 0) this.next();
  }

  /** The caller hung up or the flow stopped it: cancel whatever still rings. */
  stop(reason = 'stopped'): void {
    if (this.done) return;
    this.cancelAll();
    this.fail(reason);
  }

  private fail(reason: string): void {
    this.done = true;
    this.clock.clearTimeout(this.timer);
    this.emit('failed', reason);
  }
}
