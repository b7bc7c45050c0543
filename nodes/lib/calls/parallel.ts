/**
 * Parallel ring over several accounts (BAS-IP's second SIP account, a PBX plus a cloud
 * account): the same target is called on every usable account, the first answer wins and
 * the other branches are cancelled (or hung up if they answered too), like a forking
 * proxy does (RFC 3261 §16.7 step 10).
 */
import { EventEmitter } from 'node:events';
import { IntercomError } from '../core/errors';
import type { SipAccount } from '../sip/account';
import type { Call } from '../sip/call';

export interface ParallelCallEvents {
  answered: [call: Call];
  /** no branch answered */
  ended: [info: { reason: string; statuses: Array<number | string | undefined> }];
  error: [err: Error];
}

export class ParallelCall extends EventEmitter<ParallelCallEvents> {
  readonly branches: Call[] = [];
  winner?: Call;
  private open = 0;

  constructor(accounts: SipAccount[], target: string, opts: { noAnswerTimeoutMs?: number } = {}) {
    super();
    this.on('error', () => undefined);
    const usable = accounts.filter((a) => a.usable);
    if (usable.length === 0) throw new IntercomError('calls.noUsableAccount');
    for (const a of usable) {
      const ep = a.endpoint;
      if (!ep) continue;
      // Each branch goes out on its own account only: failover is what parallel ring replaces.
      const call = ep.dial(target, { noAnswerTimeoutMs: opts.noAnswerTimeoutMs ?? a.config.noAnswerTimeoutMs });
      a.emit('call', call);
      this.branches.push(call);
      this.open++;
      call.once('answered', () => this.answered(call));
      call.once('ended', () => {
        this.open--;
        if (!this.winner && this.open === 0) this.emit('ended', { reason: 'no branch answered', statuses: this.branches.map((b) => b.info.status ?? b.info.reason) });
      });
    }
  }

  private answered(call: Call): void {
    if (this.winner) {
      call.hangup(); // a second answer crossed our CANCEL
      return;
    }
    this.winner = call;
    for (const b of this.branches) if (b !== call) b.cancel('answered elsewhere');
    this.emit('answered', call);
  }

  cancel(): void {
    for (const b of this.branches) b.hangup();
  }
}
