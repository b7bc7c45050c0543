/**
 * The door opens by a digit into the live call (the panel's own relay, "press 9"). The SIP
 * side registers a sender (nodes/shared/providers.ts); the door finds it when it opens.
 */
import { DTMF_DIGITS } from './door-form';
import { asOpenError, OpenError } from './open-error';
import type { ActionRunner, DtmfAction, OpenContext } from './action';

/** What the SIP side registers so a door can send a digit into the live call. */
export interface DtmfSender {
  /** false when the call is not this sender's; throws when sending failed */
  sendDtmf(callId: string | undefined, digits: string): Promise<boolean>;
}

export class DtmfRunner implements ActionRunner {
  // A digit is an action: sent twice, the panel sees it twice.
  readonly idempotent = false;

  constructor(
    private readonly a: DtmfAction,
    private readonly senders: () => DtmfSender[],
  ) {
    if (!DTMF_DIGITS.test(a.digits)) throw new OpenError('door.dtmfDigits', { digits: a.digits.slice(0, 20) });
  }

  async attempt(ctx: OpenContext): Promise<undefined> {
    const senders = this.senders();
    if (senders.length === 0) throw new OpenError('door.noDtmfSender', {}, { outcome: 'unavailable' });
    const callId = ctx.callId;
    if (!callId) throw new OpenError('door.dtmfNeedsCall');
    for (const s of senders) {
      let sent: boolean;
      try {
        sent = await s.sendDtmf(callId, this.a.digits);
      } catch (err) {
        throw asOpenError(err);
      }
      if (sent) return undefined;
    }
    throw new OpenError('door.noLiveCall', { call: callId });
  }
}
