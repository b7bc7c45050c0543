/**
 * Turns single key presses into what a door flow acts on: each digit as it comes, or a
 * sequence per call that completes on a fixed length (a 4-digit PIN), a terminator (#),
 * an inter-digit timeout or a total timeout. The clock is injected so tests drive time.
 */
import { IntercomError } from '../core/errors';
import { choiceSetting, numberSetting, secondsSetting } from '../core/settings';
import type { DtmfMethod } from './port';

export interface CollectorConfig {
  mode: 'digit' | 'sequence';
  /** complete when this many digits are in (0 = no fixed length) */
  length?: number;
  /** complete when this key is pressed; the key itself is not part of the result */
  terminator?: string;
  /** complete (reason 'inter-digit-timeout') this long after the last digit (0 = never) */
  interDigitTimeoutMs?: number;
  /** complete (reason 'total-timeout') this long after the first digit (0 = never) */
  totalTimeoutMs?: number;
  /** hard cap on a sequence, whatever else is configured */
  maxLength?: number;
}

export type CompletionReason = 'digit' | 'length' | 'terminator' | 'inter-digit-timeout' | 'total-timeout' | 'max-length';

export interface CollectorResult<C> {
  callKey: string;
  digits: string;
  reason: CompletionReason;
  /** method of each digit, in order (the terminator's too, last, when it ended the sequence) */
  methods: DtmfMethod[];
  /** what the caller attached to the digit that completed the result (e.g. msg.call) */
  context: C;
}

export interface CollectorClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: CollectorClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface Pending<C> {
  digits: string;
  methods: DtmfMethod[];
  context: C;
  interTimer?: unknown;
  totalTimer?: unknown;
}

const DIGIT = /^[0-9*#A-D]$/;

/** The intercom-dtmf node's settings as the editor stores them. */
export interface CollectorSettings {
  mode?: string;
  scope?: string;
  length?: string | number;
  terminator?: string;
  interDigitTimeout?: string | number;
  totalTimeout?: string | number;
}

/**
 * The collector's configuration and the node's scope from its settings, by the one
 * settings policy (fields named by their label in intercom-dtmf's locale file).
 */
export function collectorSettings(def: CollectorSettings): { config: CollectorConfig; scope: 'all' | 'armed' } {
  return {
    scope: choiceSetting(def.scope, 'scope', DTMF_SCOPES, 'all'),
    config: {
      mode: choiceSetting(def.mode, 'mode', DTMF_MODES, 'digit'),
      length: numberSetting(def.length, { field: 'length', ...DTMF_NUMBERS.length }),
      terminator: (def.terminator ?? '').trim().toUpperCase() || undefined,
      interDigitTimeoutMs: secondsSetting(def.interDigitTimeout, { field: 'interDigitTimeout', ...DTMF_NUMBERS.interDigitTimeout }),
      totalTimeoutMs: secondsSetting(def.totalTimeout, { field: 'totalTimeout', ...DTMF_NUMBERS.totalTimeout }),
    },
  };
}

/** The dialog's choices and numbers (seconds), for collectorSettings and dtmf-form.ts. */
export const DTMF_MODES = ['digit', 'sequence'] as const;
export const DTMF_SCOPES = ['all', 'armed'] as const;
export const DTMF_NUMBERS = {
  length: { default: 0, min: 0, max: 32, integer: true },
  interDigitTimeout: { default: 5, min: 0, max: 3600 },
  totalTimeout: { default: 0, min: 0, max: 3600 },
};
/** One DTMF key, as a sequence's end key */
export const DTMF_KEY = /^[0-9*#A-Da-d]$/;

export class DtmfCollector<C = unknown> {
  private readonly pending = new Map<string, Pending<C>>();
  private readonly maxLength: number;

  constructor(
    private readonly config: CollectorConfig,
    private readonly onResult: (r: CollectorResult<C>) => void,
    private readonly clock: CollectorClock = systemClock,
  ) {
    if (config.terminator !== undefined && config.terminator !== '' && !DIGIT.test(config.terminator)) {
      throw new IntercomError('media.badTerminator', { terminator: String(config.terminator).slice(0, 20) });
    }
    this.maxLength = Math.min(Math.max(config.maxLength ?? 32, 1), 64);
    if (config.mode === 'sequence' && !config.length && !config.terminator && !config.interDigitTimeoutMs && !config.totalTimeoutMs) {
      throw new IntercomError('media.sequenceNeverEnds');
    }
  }

  /** One key press on a call. Returns false (and ignores it) if `digit` is not a DTMF key. */
  push(callKey: string, digit: string, method: DtmfMethod, context: C): boolean {
    const key = typeof digit === 'string' ? digit.toUpperCase() : '';
    if (!DIGIT.test(key)) return false;
    if (this.config.mode === 'digit') {
      this.onResult({ callKey, digits: key, reason: 'digit', methods: [method], context });
      return true;
    }
    let p = this.pending.get(callKey);
    if (key === this.config.terminator) {
      if (p) p.methods.push(method);
      this.complete(callKey, 'terminator', p ? undefined : { digits: '', methods: [method], context });
      return true;
    }
    if (!p) {
      p = { digits: '', methods: [], context };
      this.pending.set(callKey, p);
      if (this.config.totalTimeoutMs) p.totalTimer = this.clock.setTimeout(() => this.complete(callKey, 'total-timeout'), this.config.totalTimeoutMs);
    }
    p.digits += key;
    p.methods.push(method);
    p.context = context;
    if (p.interTimer !== undefined) this.clock.clearTimeout(p.interTimer);
    p.interTimer = undefined;
    if (this.config.length && p.digits.length >= this.config.length) this.complete(callKey, 'length');
    else if (p.digits.length >= this.maxLength) this.complete(callKey, 'max-length');
    else if (this.config.interDigitTimeoutMs) p.interTimer = this.clock.setTimeout(() => this.complete(callKey, 'inter-digit-timeout'), this.config.interDigitTimeoutMs);
    return true;
  }

  /** Digits collected so far on a call (for status displays: count only, never shown). */
  count(callKey: string): number {
    return this.pending.get(callKey)?.digits.length ?? 0;
  }

  /** The call ended or the flow reset it: forget its digits without a result. */
  discard(callKey: string): void {
    const p = this.pending.get(callKey);
    if (!p) return;
    this.clearTimers(p);
    this.pending.delete(callKey);
  }

  /** Stop every timer (node close). */
  close(): void {
    for (const key of [...this.pending.keys()]) this.discard(key);
  }

  private clearTimers(p: Pending<C>): void {
    if (p.interTimer !== undefined) this.clock.clearTimeout(p.interTimer);
    if (p.totalTimer !== undefined) this.clock.clearTimeout(p.totalTimer);
    p.interTimer = p.totalTimer = undefined;
  }

  private complete(callKey: string, reason: CompletionReason, empty?: { digits: string; methods: DtmfMethod[]; context: C }): void {
    const p = this.pending.get(callKey) ?? empty;
    if (!p) return;
    if (this.pending.has(callKey)) {
      this.clearTimers(this.pending.get(callKey)!);
      this.pending.delete(callKey);
    }
    this.onResult({ callKey, digits: p.digits, reason, methods: p.methods, context: p.context });
  }
}
