/**
 * intercom-door (config): one door as a vendor-neutral object. How it opens (vendor preset,
 * generic HTTP, MQTT, DTMF into the call, Home Assistant service), how it is seen (HTTP
 * JPEG or RTSP through ffmpeg) and which panel it belongs to. It owns the opener and the
 * camera, so every node using the door shares the minimum interval and one grab per ring.
 * Its settings are checked by lib/door/config.ts; a bad one is reported at deploy and
 * shown by every flow node using the door.
 */
import { IntercomError } from './lib/core/errors';
import { LiveView } from './lib/camera/live';
import { Snapshotter, withCredentials } from './lib/camera/snapshotter';
import { cameraConfig, doorIdentity, openConfig, type DoorCredentials, type DoorDef } from './lib/door/config';
import { DoorOpener } from './lib/door/opener';
import type { DoorConfigNode, DoorOpenRequest, DoorOpenResult, DoorSnapshot } from './shared/door';
import { onClose } from './shared/lifecycle';
import { texts } from './shared/i18n';
import { brokerLease, type BrokerLease } from './shared/mqtt-brokers';
import type { Node, NodeDef, RED } from './shared/red';
import { providers } from './shared/providers';

type DoorNode = DoorConfigNode & Node<DoorCredentials>;

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-door');
  function IntercomDoorNode(this: DoorNode, def: DoorDef): void {
    RED.nodes.createNode(this, def as unknown as NodeDef);
    const creds = this.credentials ?? {};
    Object.assign(this, doorIdentity(def));
    // The panel's SIP account by its name, looked up when asked (it may start after the door);
    // older doors kept free text there.
    Object.defineProperty(this, 'panel', {
      enumerable: true,
      get: (): string | undefined => {
        const account = def.panel ? (RED.nodes.getNode(def.panel) as (Node & { account?: { config?: { name?: string } } }) | null) : null;
        return account?.account ? account.account.config?.name || def.panel : def.panel || undefined;
      },
    });

    let opener: DoorOpener | undefined;
    let lease: BrokerLease | undefined;
    try {
      const cfg = openConfig(def, creds);
      lease = cfg.mqtt ? brokerLease(RED, cfg.mqtt, this) : undefined;
      const connection = lease?.connection;
      opener = new DoorOpener({
        ...cfg.opener,
        dtmfSenders: () => providers('dtmf-sender'),
        haCallers: () => providers('ha-service-caller'),
        mqtt: connection ? () => connection : undefined,
      });
    } catch (err) {
      void lease?.release(false);
      lease = undefined;
      this.problem = T.describe(err);
      this.error(T.t('errors.notUsable', { door: this.doorName, problem: this.problem }));
    }

    let camera: Snapshotter | undefined;
    let live: LiveView | undefined;
    try {
      const opts = cameraConfig(def, creds);
      if (opts) {
        const cam = (camera = new Snapshotter(opts));
        // Live frames for a page's Look: one ffmpeg reading the RTSP stream, or the JPEG URL polled through the cache.
        const src = opts.source;
        live = new LiveView({ source: src.kind === 'rtsp' && cam.ffmpeg ? { kind: 'rtsp', ffmpeg: cam.ffmpeg, url: withCredentials(src.url, opts.credentials), width: opts.width } : { kind: 'poll', grab: (maxAgeMs) => cam.get({ maxAgeMs }) } });
        const why = camera.problem();
        if (why) {
          this.cameraProblem = T.describe(why);
          this.warn(T.t('errors.cameraProblem', { door: this.doorName, problem: this.cameraProblem }));
        }
      }
    } catch (err) {
      this.cameraProblem = T.describe(err);
      this.error(T.t('errors.cameraNotUsable', { door: this.doorName, problem: this.cameraProblem }));
    }
    this.hasCamera = camera !== undefined;

    this.open = async (req: DoorOpenRequest = {}): Promise<DoorOpenResult> => {
      if (!opener) return { ok: false, latencyMs: 0, attempts: 0, error: T.t('errors.notUsableShort', { problem: this.problem }), outcome: 'failed' };
      const r = await opener.open(req);
      const error = r.error ? T.describe(new IntercomError(r.error.code, r.error.params)) : undefined;
      // Log the outcome for the operator; never the URL query or credentials.
      if (!r.ok) this.debug(T.t('log.openFailed', { door: this.doorId, outcome: r.outcome, error: error ?? '' }));
      return { ok: r.ok, latencyMs: r.latencyMs, attempts: r.attempts, status: r.status, error, outcome: r.outcome };
    };
    this.confirmOpen = () => opener?.confirmEvent();
    this.snapshot = (opts?: { maxAgeMs?: number }): Promise<DoorSnapshot> => {
      if (camera) return camera.get(opts);
      if (this.cameraProblem) return Promise.reject(new IntercomError('camera.notUsable', { problem: this.cameraProblem }));
      return Promise.reject(new IntercomError('camera.none', { door: this.doorName }));
    };
    this.prefetchSnapshot = () => camera?.prefetch();
    if (live) this.watch = live.watch.bind(live);

    onClose(this, T, async (removed) => {
      await Promise.all([opener?.close(), live?.close(), camera?.close(), lease?.release(removed)]);
    });
  }
  RED.nodes.registerType('intercom-door', IntercomDoorNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: {
      user: { type: 'text' },
      password: { type: 'password' },
      pin: { type: 'password' },
      mqttUser: { type: 'text' },
      mqttPassword: { type: 'password' },
    },
  });
};
