/**
 * What an account refused for the flow to journal: calls refused before they rang (no
 * codec in common, SDP that cannot be read, a body that is not SDP), floods held off by
 * admission, and digest lockouts. Each goes out once per kind per source address per
 * interval, the rest as one summary (net/summary.ts), so a flood does not become a journal
 * flood. The account emits them as 'security'; intercom-sip-in sends them on its second
 * output.
 */
import type { Party } from './call';
import { type Repeated, SourceSummary, type SummaryOptions } from '../net/summary';

export type SecurityKind = 'refused' | 'flood' | 'lockout';

export interface SecurityEvent {
  kind: SecurityKind;
  /**
   * refused: 'no-common-codec', 'bad-sdp', 'not-sdp', 'not-acceptable' (its Accept has no SDP); flood: 'rate', 'source-busy',
   * 'overload', 'unknown-user'; lockout: 'source' (an address), 'user' (an account name)
   */
  reason: string;
  account: string;
  /** `address:port` of the (first) request */
  source: string;
  /** the SIP status it was answered with */
  status?: number;
  from?: Party;
  to?: Party;
  /** lockout: the account name the guesses named (never a password) */
  user?: string;
  /** lockout: epoch ms it lasts until */
  until?: number;
  /** a summary: how many more like the first came, in how long, from how many sources */
  repeated?: Repeated;
}

/** Security events, summarised per kind and reason per source address. */
export class SecurityReports {
  private readonly summary: SourceSummary<SecurityEvent>;

  constructor(emit: (ev: SecurityEvent) => void, opts: SummaryOptions = {}) {
    this.summary = new SourceSummary<SecurityEvent>((_kind, ev, repeated) => emit(repeated ? { ...ev, repeated } : ev), opts);
  }

  report(ev: SecurityEvent, address: string): void {
    this.summary.note(`${ev.kind}/${ev.reason}`, address, ev);
  }

  close(): void {
    this.summary.close();
  }
}
