/**
 * Forwarding a panel's call to people, built from the pieces: the ForwardQueue decides
 * who rings when, the account dials the legs, the panel hears ring-back meanwhile, and the
 * leg that answers is bridged to the panel (RTP relayed both ways, key presses too, so the
 * person can open the door with the panel's code). Either side hanging up ends both.
 *
 * Events: 'dialing' (target, Call), 'answered' (Call, target), 'failed' (reason).
 */
import { EventEmitter } from 'node:events';
import { bridge, type Bridge } from '../media/bridge';
import { RtpCallMedia } from '../media/call-media';
import type { SipAccount } from './account';
import type { Call } from './call';
import { type Clock, systemClock } from './clock';
import { type ForwardOptions, ForwardQueue } from './forward';

export interface ForwardCallOptions extends ForwardOptions {
  /** prompt looped to the panel while the legs ring; false for silence (default ringback-eu) */
  ringback?: string | false;
  clock?: Clock;
}

function rtpMedia(call: Call, what: string): RtpCallMedia {
  if (!(call.media instanceof RtpCallMedia)) throw new Error(`${what} has no RTP media (not answered yet, or media is not the RTP kind)`);
  return call.media;
}

/**
 * Relay audio and key presses between two answered calls; when one ends the other is hung
 * up, because a panel left talking to nobody keeps the door's line busy.
 */
export function bridgeCalls(a: Call, b: Call): Bridge {
  if (a === b) throw new Error('cannot bridge a call to itself');
  for (const c of [a, b]) if (c.state !== 'answered') throw new Error(`call ${c.id} is ${c.state}; only answered calls can be bridged`);
  const br = bridge(rtpMedia(a, `call ${a.id}`), rtpMedia(b, `call ${b.id}`));
  a.once('ended', () => b.hangup());
  b.once('ended', () => a.hangup());
  return br;
}

export class ForwardCall extends EventEmitter {
  readonly queue: ForwardQueue<Call>;
  bridge?: Bridge;
  private ringing = false;

  constructor(private readonly account: SipAccount, readonly panel: Call, targets: string[], private readonly opts: ForwardCallOptions) {
    super();
    const clock = opts.clock ?? systemClock;
    // The leg's own no-answer timer only backs the queue's up.
    const legTimeout = Math.max(opts.perTargetMs, opts.monitorMs ?? 0) + 5000;
    this.queue = new ForwardQueue<Call>(targets, opts, {
      dial: (target) => {
        const leg = this.account.dial(target, { noAnswerTimeoutMs: legTimeout });
        leg.once('answered', () => {
          // Lost the race (its 200 crossed our CANCEL): end it with BYE, §9.1.
          if (!this.queue.legAnswered(leg)) leg.hangup();
        });
        leg.once('ended', () => this.queue.legEnded(leg));
        return leg;
      },
      cancel: (leg) => leg.hangup(),
    }, clock);
    this.queue.on('dialing', (t: string, leg: Call) => this.emit('dialing', t, leg));
    this.queue.on('dial-error', (t: string, err: unknown) => this.emit('dial-error', t, err));
    this.queue.on('answered', (leg: Call, target: string) => this.connect(leg, target));
    this.queue.on('failed', (reason: string) => {
      this.stopRingback();
      this.emit('failed', reason);
    });
  }

  /** Answer the panel if it still rings, start ring-back, ring the first targets. */
  async start(): Promise<void> {
    if (this.panel.direction === 'inbound' && this.panel.state !== 'answered') await this.panel.answer();
    if (this.panel.isEnded) throw new Error('the panel hung up before forwarding started');
    const media = rtpMedia(this.panel, 'the panel call');
    this.panel.once('ended', () => this.queue.stop('caller hung up'));
    if (this.opts.ringback !== false) this.loopRingback(media, this.opts.ringback || 'ringback-eu');
    this.queue.start();
  }

  private loopRingback(media: RtpCallMedia, source: string): void {
    this.ringing = true;
    const once = (): void => {
      if (!this.ringing || this.panel.isEnded) return;
      media.play(source).then(once, (err: unknown) => {
        this.ringing = false;
        this.emit('ringback-error', err);
      });
    };
    once();
  }

  private stopRingback(): void {
    if (!this.ringing) return;
    this.ringing = false;
    if (this.panel.media instanceof RtpCallMedia) this.panel.media.stopPlayback();
  }

  private connect(leg: Call, target: string): void {
    this.stopRingback();
    try {
      this.bridge = bridgeCalls(this.panel, leg);
    } catch (err) {
      leg.hangup();
      this.emit('failed', `bridge failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.emit('answered', leg, target);
  }

  stop(): void {
    this.stopRingback();
    this.queue.stop('stopped');
  }
}
