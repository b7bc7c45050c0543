/**
 * Call forwarding the way BAS-IP panels describe it: a queue of up to 8 targets rung all at
 * once (first answer wins, the rest get CANCEL, RFC 3261 §9.1) or one by one (each for a
 * fixed time), optionally after a monitor target that gets the first chance alone. Pure
 * logic: legs are started and cancelled through an injected dialer and timed by an
 * injected clock, so the policy is unit-tested without sockets.
 *
 * Events: 'dialing' (target, leg), 'answered' (leg, target), 'failed' (reason).
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from './clock';

export const MAX_FORWARD_TARGETS = 8;
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

/**
 * A forward target as BAS-IP panels accept it: `sip:1@192.168.1.65`, `sip:192.168.1.65`,
 * `sip:5588@server`, or a short number (`5588`) dialled on the account's own server.
 * Returns the target trimmed, or throws with the reason.
 */
export function normalizeTarget(raw: unknown): string {
  const t = typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  if (!t) throw new Error(`forward target ${JSON.stringify(raw)} is empty or not text`);
  if (/^sips?:([^@\s;<>"]+@)?[A-Za-z0-9.\-[\]:]+(;[^\s<>"]*)?$/i.test(t)) return t;
  if (/^[0-9*#+]{1,32}$/.test(t)) return t; // short number: the account resolves it on its server
  if (/^\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?$/.test(t)) return t; // bare IP, as some panels store it
  throw new Error(`forward target "${t}" is not sip:user@host, sip:host, an IP or a number`);
}

/** Targets from a list or comma/newline separated text: at most 8, each valid. */
export function parseTargets(raw: unknown): string[] {
  const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[,\n]/) : raw === undefined || raw === null ? [] : [raw];
  const list = items.filter((x) => !(typeof x === 'string' && !x.trim())).map(normalizeTarget);
  if (list.length > MAX_FORWARD_TARGETS) throw new Error(`a forward queue holds at most ${MAX_FORWARD_TARGETS} targets, got ${list.length}`);
  return list;
}

/**
 * An apartment number as a panel's keypad sends it: the last two digits are the
 * apartment, the digits before them the floor (223 = floor 2 apt 23, 1050 = floor 10 apt 50).
 */
export function parseApartment(dialled: string): { floor: number; apartment: number } | undefined {
  const m = /^(\d{1,3})(\d{2})$/.exec(dialled.trim());
  return m ? { floor: Number(m[1]), apartment: Number(m[2]) } : undefined;
}

/**
 * The apartment table: one line per apartment, `223: sip:5588@server, 5589` (also `=`).
 * Keys are normalised (leading zeros dropped) so `0223` and `223` are the same flat.
 */
export function parseApartmentTable(text: string): Map<string, string[]> {
  const table = new Map<string, string[]>();
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.replace(/#.*$/, '').trim();
    if (!l) return;
    const m = /^(\d{3,5})\s*[:=]\s*(.+)$/.exec(l);
    if (!m || !parseApartment(m[1])) throw new Error(`apartment table line ${i + 1}: expected "<floor><apt 2 digits>: target, target", got "${l}"`);
    const key = String(Number(m[1]));
    if (table.has(key)) throw new Error(`apartment table line ${i + 1}: apartment ${m[1]} listed twice`);
    table.set(key, parseTargets(m[2]));
  });
  return table;
}

export function lookupApartment(table: Map<string, string[]>, dialled: string): string[] | undefined {
  return parseApartment(dialled) ? table.get(String(Number(dialled.trim()))) : undefined;
}

export class ForwardQueue<L> extends EventEmitter {
  private readonly groups: Array<{ targets: string[]; ms: number }> = [];
  private group = -1;
  private readonly live = new Map<L, string>();
  private timer?: TimerHandle;
  private done = false;
  winner?: L;

  constructor(targets: string[], opts: ForwardOptions, private readonly dialer: ForwardDialer<L>, private readonly clock: Clock) {
    super();
    if (targets.length > MAX_FORWARD_TARGETS) throw new Error(`a forward queue holds at most ${MAX_FORWARD_TARGETS} targets`);
    if (!(opts.perTargetMs > 0)) throw new Error('forward ring time must be > 0');
    if (opts.monitor) this.groups.push({ targets: [opts.monitor], ms: opts.monitorMs ?? opts.perTargetMs });
    if (opts.mode === 'all') {
      if (targets.length) this.groups.push({ targets, ms: opts.perTargetMs });
    } else for (const t of targets) this.groups.push({ targets: [t], ms: opts.perTargetMs });
    if (!this.groups.length) throw new Error('forward needs at least one target');
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
