/**
 * Forwarding a panel's call to people, built from the pieces: the ForwardQueue decides
 * who rings when, the account dials the legs, the panel hears ring-back meanwhile, and the
 * leg that answers is bridged to the panel (RTP relayed both ways, key presses too, so the
 * person can open the door with the panel's code). Either side hanging up ends both.
 */
import { EventEmitter } from 'node:events';
import { IntercomError } from '../core/errors';
import type { Bridge } from '../media/bridge';
import type { CallMedia, VideoPacket } from '../media/port';
import type { VideoSource } from '../media/rtsp-video';
import { errorText } from '../core/errors';
import type { SipAccount } from '../sip/account';
import type { Call } from '../sip/call';
import { type Clock, systemClock } from '../sip/clock';
import { bridgeCalls, mediaOf } from './bridge-calls';
import { type ForwardOptions, ForwardQueue } from './forward-queue';

export interface ForwardCallOptions extends ForwardOptions {
  /** prompt looped to the panel while the legs ring; false for silence (default ringback-eu) */
  ringback?: string | false;
  clock?: Clock;
  /**
   * The door's camera as the call's video when the panel sends none and the person who
   * answered can show it (a page, a video phone): started on answer, stopped on hang-up.
   */
  camera?: () => Promise<VideoSource>;
}

export interface ForwardCallEvents {
  dialing: [target: string, leg: Call];
  'dial-error': [target: string, err: unknown];
  /** the leg that answered, now bridged to the panel */
  answered: [leg: Call, target: string];
  /** why nobody took the call: 'no target answered', 'caller hung up', 'stopped', 'bridge failed' */
  failed: [reason: string];
  'ringback-error': [err: unknown];
}

export class ForwardCall extends EventEmitter<ForwardCallEvents> {
  readonly queue: ForwardQueue<Call>;
  bridge?: Bridge;
  /** the camera giving the answered leg its video, while it does */
  camera?: VideoSource;
  private ringing = false;

  constructor(private readonly account: SipAccount, readonly panel: Call, targets: string[], private readonly opts: ForwardCallOptions) {
    super();
    const clock = opts.clock ?? systemClock;
    // The leg's own no-answer timer only backs the queue's up.
    const legTimeout = Math.max(opts.perTargetMs, opts.monitorMs ?? 0) + 5000;
    this.queue = new ForwardQueue<Call>(targets, opts, {
      dial: (target) => {
        const leg = this.account.dial(target, { noAnswerTimeoutMs: legTimeout });
        leg.origin = this.panel;
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
    if (this.panel.isEnded) throw new IntercomError('calls.panelHungUp');
    const media = mediaOf(this.panel);
    this.panel.once('ended', () => this.queue.stop('caller hung up'));
    if (this.opts.ringback !== false) this.loopRingback(media, this.opts.ringback || 'ringback-eu');
    this.queue.start();
  }

  private loopRingback(media: CallMedia, source: string): void {
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
    this.panel.media?.stopPlayback();
  }

  private connect(leg: Call, target: string): void {
    this.stopRingback();
    try {
      this.bridge = bridgeCalls(this.panel, leg);
    } catch {
      // The leg answered but has no media to bridge: nobody can talk, so nobody took the call.
      leg.hangup();
      this.emit('failed', 'bridge failed');
      return;
    }
    this.emit('answered', leg, target);
    // The leg's answer may still be applying (its 'answered' comes first): whether it takes
    // video is looked at once the camera is up.
    if (this.opts.camera && !this.panel.media?.hasVideo && leg.media?.relayVideo) void this.showCamera(leg);
  }

  private async showCamera(leg: Call): Promise<void> {
    // Up to 3 s for the leg's answer to settle: a leg without video gets no camera.
    for (let i = 0; i < 60 && !leg.isEnded && !leg.media?.hasVideo; i++) await new Promise((r) => setTimeout(r, 50));
    if (leg.isEnded || this.panel.isEnded || !leg.media?.hasVideo) return;
    let source: VideoSource;
    try {
      source = await (this.opts.camera as () => Promise<VideoSource>)();
    } catch (err) {
      leg.emit('error', err as Error);
      this.account.endpoint?.log.warn('calls.cameraFailed', { call: leg.id, detail: errorText(err) });
      return;
    }
    if (leg.isEnded || this.panel.isEnded || !leg.media?.hasVideo) return void source.close();
    this.camera = source;
    const relay = (pkt: VideoPacket): void => leg.media?.relayVideo?.(pkt);
    source.on('video', relay);
    const stop = (): void => {
      source.off('video', relay);
      if (this.camera === source) this.camera = undefined;
      void source.close();
    };
    leg.once('ended', stop);
    this.panel.once('ended', stop);
  }

  stop(): void {
    this.stopRingback();
    this.queue.stop('stopped');
  }
}
