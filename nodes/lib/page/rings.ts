/**
 * The rings a door page shows: every call a panel makes to the account is a ring, and the
 * door's picture is grabbed the moment it rings, so each page the flow rings for it shows
 * that ring's picture at once (the same one for every page, and the one the journal and
 * the notification got from the door's short cache). A page's own call is found by the
 * SIP Call-ID its INVITE carried, and only among the calls to that page's user: a page
 * never sees another user's call.
 */
import type { Snapshot } from '../camera/snapshotter';
import type { SipAccount } from '../sip/account';
import type { Call } from '../sip/call';
import type { Remote } from '../sip/transport';

export interface Ring {
  call: Call;
  at: number;
  /** this ring's picture, when the door has a camera and the ring is this door's */
  snapshot?: Promise<Snapshot>;
}

export interface RingBookOptions {
  account: SipAccount;
  /** the door's picture now (its short cache makes concurrent asks one grab) */
  snapshot?: () => Promise<Snapshot>;
  /** the door this page shows: when set, rings from other panels of the account are not its own */
  panel?: string;
  /** how long an ended ring is remembered (a page asking late still gets its picture), default 2 min */
  keepMs?: number;
  /** rings remembered at most (default 32) */
  maxRings?: number;
  now?: () => number;
}

const sameRemote = (a: Remote, b: Remote): boolean => a.protocol === b.protocol && a.address === b.address && a.port === b.port;
const fromBrowser = (c: Call): boolean => c.peer.protocol === 'ws' || c.peer.protocol === 'wss';

export class RingBook {
  private readonly rings = new Map<string, Ring>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly onCall = (call: Call): void => this.ring(call);
  private readonly now: () => number;

  constructor(private readonly opts: RingBookOptions) {
    this.now = opts.now ?? Date.now;
    opts.account.on('call', this.onCall);
  }

  /** A ring is a call from a panel (not a page calling out); this door's gets its picture now. */
  private ring(call: Call): void {
    if (call.direction !== 'inbound' || fromBrowser(call)) return;
    const panel = this.opts.panel?.trim();
    const ours = !panel || call.info.from.user === panel || this.opts.account.config.name === panel;
    const snapshot = ours && this.opts.snapshot ? this.opts.snapshot() : undefined;
    snapshot?.catch(() => undefined); // asked for by a page, or never
    this.rings.set(call.id, { call, at: this.now(), snapshot });
    call.once('ended', () => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.rings.delete(call.id);
      }, this.opts.keepMs ?? 120_000);
      t.unref();
      this.timers.add(t);
    });
    const max = this.opts.maxRings ?? 32;
    for (const k of this.rings.keys()) {
      if (this.rings.size <= max) break;
      this.rings.delete(k);
    }
  }

  /** The call to `user`'s page that its INVITE named by this SIP Call-ID, while it lasts. */
  legOf(user: string, sipCallId: unknown): Call | undefined {
    if (typeof sipCallId !== 'string' || !sipCallId || sipCallId.length > 200) return undefined;
    const bindings = this.opts.account.registrar?.lookup(user) ?? [];
    return this.opts.account.endpoint?.activeCalls.find(
      (c) => c.callId === sipCallId && c.direction === 'outbound' && !c.isEnded && bindings.some((b) => sameRemote(b.source, c.peer)),
    );
  }

  /** The ring a page's call rings for (a forward's panel call), if the account saw it ring. */
  ringOf(leg: Call): Ring | undefined {
    return leg.origin ? this.rings.get(leg.origin.id) : undefined;
  }

  close(): void {
    this.opts.account.off('call', this.onCall);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.rings.clear();
  }
}
