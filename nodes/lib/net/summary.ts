/**
 * What a flood leaves behind: one report per kind of event per source per interval, not
 * one per packet. The first event of a kind from a source is reported at once (with its
 * values); the ones after it in the same interval are only counted, and when the interval
 * ends a summary reports how many there were. A source still at it in the next interval
 * gets only the summary for it, so a source flooding for an hour leaves one line a minute.
 * Beyond `maxSources` sources of one kind in an interval (a spoofed flood from a whole
 * subnet), the others are counted together in one summary that says how many sources.
 *
 * Used for log lines (SIP refusals, digest failures) and for the security events a flow
 * journals, so neither the log nor the journal grows with the packet rate.
 */
import type { MessageParams } from '../core/errors';
import type { Logger } from '../core/log';

/** The timers the summary needs; the SIP Clock fits, tests pass a fake one. */
export interface SummaryClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemTimers: SummaryClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface SummaryOptions {
  /** length of one interval (default 60 s) */
  intervalMs?: number;
  /** sources of one kind reported one by one per interval (default 20) */
  maxSources?: number;
  clock?: SummaryClock;
}

/** How many more of one kind came, from one source or (`sources` > 1) from many. */
export interface Repeated {
  count: number;
  seconds: number;
  /** 1: the source of `first`; more: that many sources beyond the ones reported one by one */
  sources: number;
}

/**
 * `report(kind, values)` for a first event, `report(kind, values, repeated)` for a summary
 * (values are those of the first event it summarises).
 */
export type SummaryReport<V> = (kind: string, values: V, repeated?: Repeated) => void;

interface Entry<V> {
  values: V;
  count: number;
}

interface Overflow<V> {
  values: V;
  count: number;
  sources: Set<string>;
}

const MAX_COUNTED_SOURCES = 100_000;

export class SourceSummary<V> {
  private readonly intervalMs: number;
  private readonly maxSources: number;
  private readonly clock: SummaryClock;
  /** kind → source → entry, for the current interval */
  private readonly entries = new Map<string, Map<string, Entry<V>>>();
  private readonly overflow = new Map<string, Overflow<V>>();
  private started = 0;
  private timer: unknown;
  private closed = false;

  constructor(private readonly report: SummaryReport<V>, opts: SummaryOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 60_000;
    this.maxSources = opts.maxSources ?? 20;
    this.clock = opts.clock ?? systemTimers;
  }

  /** One event of `kind` from `source`; true when it was reported now (not only counted). */
  note(kind: string, source: string, values: V): boolean {
    if (this.closed) return false;
    let bySource = this.entries.get(kind);
    if (!bySource) this.entries.set(kind, (bySource = new Map()));
    const e = bySource.get(source);
    this.arm();
    if (e) {
      e.count++;
      return false;
    }
    if (bySource.size >= this.maxSources) {
      let o = this.overflow.get(kind);
      if (!o) this.overflow.set(kind, (o = { values, count: 0, sources: new Set() }));
      o.count++;
      if (o.sources.size < MAX_COUNTED_SOURCES) o.sources.add(source);
      return false;
    }
    bySource.set(source, { values, count: 0 });
    this.report(kind, values);
    return true;
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.started = this.clock.now();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.intervalMs);
  }

  /** End the interval now: report what was only counted. */
  flush(): void {
    const seconds = Math.max(1, Math.round((this.clock.now() - this.started) / 1000));
    let ongoing = false;
    for (const [kind, bySource] of this.entries) {
      for (const [source, e] of bySource) {
        if (e.count === 0) {
          bySource.delete(source);
          continue;
        }
        this.report(kind, e.values, { count: e.count, seconds, sources: 1 });
        // Still at it: the next interval reports it by its summary only.
        e.count = 0;
        ongoing = true;
      }
      if (bySource.size === 0) this.entries.delete(kind);
    }
    for (const [kind, o] of this.overflow) this.report(kind, o.values, { count: o.count, seconds, sources: Math.max(2, o.sources.size) });
    this.overflow.clear();
    if (ongoing && !this.closed) this.arm();
  }

  /** Report what is pending and stop (the account closes). */
  close(): void {
    if (this.closed) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
    this.closed = true;
    this.entries.clear();
  }
}

/**
 * A Logger's warnings through a SourceSummary: `code` at once, then `<code>Repeated`
 * (one source) or `<code>Sources` (many) with `count`, `seconds` and `sources` added to
 * the first line's values. Each summarised code has those two texts beside its own.
 */
export class LogSummary {
  private readonly summary: SourceSummary<MessageParams>;

  constructor(log: Logger, opts: SummaryOptions = {}) {
    this.summary = new SourceSummary<MessageParams>((code, params, r) => {
      if (!r) log.warn(code, params);
      else log.warn(r.sources > 1 ? `${code}Sources` : `${code}Repeated`, { ...params, count: r.count, seconds: r.seconds, sources: r.sources });
    }, opts);
  }

  warn(code: string, source: string, params: MessageParams): void {
    this.summary.note(code, source, params);
  }

  flush(): void {
    this.summary.flush();
  }

  close(): void {
    this.summary.close();
  }
}
