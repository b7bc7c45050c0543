/**
 * intercom-door (config): one door as a vendor-neutral object. How it opens (vendor preset,
 * generic HTTP, MQTT, DTMF into the call, Home Assistant service), how it is seen (HTTP
 * JPEG or RTSP through ffmpeg) and which panel it belongs to. It owns the opener and the
 * camera, so every node using the door shares the minimum interval and one grab per ring.
 */
import { DoorOpener, type Confirmation, type DoorAction, type OpenerOptions } from './lib/door/opener';
import { MqttBrokerPublisher } from './lib/door/mqtt-publisher';
import { findPreset } from './lib/door/presets';
import type { AuthMode } from './lib/door/http-client';
import { Snapshotter, type SnapshotSource } from './lib/camera/snapshotter';
import type { DoorConfigNode, DoorOpenRequest, DoorOpenResult, DoorSnapshot } from './shared/door';
import { onClose } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, RED } from './shared/red';
import { providers } from './shared/providers';

interface DoorCreds {
  user?: string;
  password?: string;
  pin?: string;
  mqttUser?: string;
  mqttPassword?: string;
}

interface DoorDef extends NodeDef {
  doorId?: string;
  panel?: string;
  openKind?: string;
  preset?: string;
  host?: string;
  relay?: string | number;
  pulse?: string | number;
  userId?: string;
  method?: string;
  url?: string;
  headers?: string;
  body?: string;
  auth?: string;
  idempotent?: boolean;
  successMatch?: string;
  broker?: string;
  topic?: string;
  mqttPayload?: string;
  qos?: string | number;
  retain?: boolean;
  digits?: string;
  haService?: string;
  haEntity?: string;
  haServer?: string;
  insecureTls?: boolean;
  timeout?: string | number;
  retries?: string | number;
  minInterval?: string | number;
  confirm?: string;
  confirmUrl?: string;
  confirmMatch?: string;
  confirmTimeout?: string | number;
  camera?: string;
  snapshotUrl?: string;
  rtspUrl?: string;
  ffmpegPath?: string;
  snapshotTimeout?: string | number;
  snapshotCache?: string | number;
  snapshotWidth?: string | number;
}

type DoorNode = DoorConfigNode & Node<DoorCreds>;

function num(v: unknown, dflt: number, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : dflt;
}

function slug(s: string): string {
  return (
    s
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 48) || 'door'
  );
}

function actionFromDef(def: DoorDef): DoorAction {
  const kind = def.openKind || 'preset';
  switch (kind) {
    case 'preset':
      return {
        kind: 'preset',
        preset: def.preset || '',
        baseUrl: (def.host || '').trim(),
        relay: num(def.relay, 1, 1, 16),
        pulseSeconds: num(def.pulse, 2, 1, 60),
        userId: def.userId || undefined,
      };
    case 'http': {
      let headers: Record<string, string> = {};
      if (def.headers && def.headers.trim()) {
        const parsed: unknown = JSON.parse(def.headers);
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('headers must be a JSON object');
        headers = Object.fromEntries(Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      }
      return {
        kind: 'http',
        method: (def.method || 'GET').toUpperCase(),
        url: (def.url || '').trim(),
        headers,
        body: def.body || undefined,
        auth: (['none', 'basic', 'digest', 'auto'].includes(def.auth ?? '') ? def.auth : 'auto') as AuthMode,
        idempotent: def.idempotent === true,
        successMatch: def.successMatch || undefined,
      };
    }
    case 'mqtt':
      return { kind: 'mqtt', topic: (def.topic || '').trim(), payload: def.mqttPayload ?? 'open', qos: num(def.qos, 1, 0, 2) as 0 | 1 | 2, retain: def.retain === true };
    case 'dtmf':
      return { kind: 'dtmf', digits: (def.digits || '').trim() };
    case 'ha':
      return { kind: 'ha', service: (def.haService || 'lock.open').trim(), entityId: (def.haEntity || '').trim(), server: def.haServer || undefined };
    default:
      throw new Error(`unknown open kind "${kind}"`);
  }
}

function confirmFromDef(def: DoorDef): Confirmation {
  const timeoutMs = num(def.confirmTimeout, 5000, 100, 60000);
  if (def.confirm === 'poll') {
    if (!def.confirmUrl || !def.confirmMatch) throw new Error('confirmation by state URL needs a URL and a pattern');
    new RegExp(def.confirmMatch); // a bad pattern fails at deploy, not at the door
    return { kind: 'poll', url: def.confirmUrl.trim(), match: def.confirmMatch, timeoutMs };
  }
  if (def.confirm === 'event') return { kind: 'event', timeoutMs };
  return { kind: 'none' };
}

function sourceFromDef(def: DoorDef): SnapshotSource | undefined {
  if (def.camera === 'rtsp' && def.rtspUrl) return { kind: 'rtsp', url: def.rtspUrl.trim(), ffmpeg: def.ffmpegPath?.trim() || undefined };
  if (def.camera === 'http') {
    let url = (def.snapshotUrl || '').trim();
    // Empty URL: the preset's own snapshot path on the same host.
    if (!url && (def.openKind || 'preset') === 'preset') {
      const p = findPreset(def.preset || '');
      if (p?.snapshot && def.host) url = def.host.trim().replace(/\/+$/, '') + p.snapshot;
    }
    return url ? { kind: 'http', url } : undefined;
  }
  return undefined;
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-door');
  function IntercomDoorNode(this: DoorNode, def: DoorDef): void {
    RED.nodes.createNode(this, def);
    const creds = this.credentials ?? {};
    this.doorName = def.name || def.doorId || 'Door';
    this.doorId = slug(def.doorId || def.name || def.id);
    this.panel = def.panel || undefined;

    let opener: DoorOpener | undefined;
    let problem: string | undefined;
    try {
      const action = actionFromDef(def);
      const opts: OpenerOptions = {
        doorId: this.doorId,
        doorName: this.doorName,
        action,
        credentials: { user: creds.user, password: creds.password, pin: creds.pin },
        insecureTls: def.insecureTls === true,
        timeoutMs: num(def.timeout, 5000, 200, 60000),
        retries: num(def.retries, 2, 0, 5),
        minIntervalMs: num(def.minInterval, 1000, 0, 600000),
        confirm: confirmFromDef(def),
        dtmfSenders: () => providers('dtmf-sender'),
        haCallers: () => providers('ha-service-caller'),
      };
      if (action.kind === 'mqtt') {
        const broker = (def.broker || '').trim();
        // Constructed now so a bad broker URL shows at deploy; it connects on the first open.
        const publisher = new MqttBrokerPublisher({ url: broker, username: creds.mqttUser, password: creds.mqttPassword, insecureTls: def.insecureTls === true });
        opts.mqtt = () => publisher;
      }
      opener = new DoorOpener(opts);
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
      this.error(`door "${this.doorName}": ${problem}`);
    }

    let camera: Snapshotter | undefined;
    let cameraProblem: string | undefined;
    try {
      const source = sourceFromDef(def);
      if (source) {
        camera = new Snapshotter({
          source,
          credentials: creds.user ? { user: creds.user, password: creds.password ?? '' } : undefined,
          insecureTls: def.insecureTls === true,
          timeoutMs: num(def.snapshotTimeout, 5000, 500, 60000),
          cacheMs: num(def.snapshotCache, 3000, 0, 60000),
          width: num(def.snapshotWidth, 0, 0, 4096) || undefined,
        });
        cameraProblem = camera.problem();
        if (cameraProblem) this.warn(`door "${this.doorName}": ${cameraProblem}`);
      }
    } catch (err) {
      cameraProblem = err instanceof Error ? err.message : String(err);
      this.error(`door "${this.doorName}" camera: ${cameraProblem}`);
    }
    this.hasCamera = camera !== undefined;

    this.open = async (req: DoorOpenRequest = {}): Promise<DoorOpenResult> => {
      if (!opener) return { ok: false, latencyMs: 0, attempts: 0, error: `door not usable: ${problem}`, outcome: 'failed' };
      const r = await opener.open(req);
      // Log the outcome for the operator; never the URL query or credentials.
      if (!r.ok) this.debug(`open ${this.doorId}: ${r.outcome} ${r.error ?? ''}`);
      return { ok: r.ok, latencyMs: r.latencyMs, attempts: r.attempts, status: r.status, error: r.error, outcome: r.outcome };
    };
    this.confirmOpen = () => opener?.confirmEvent();
    this.snapshot = (opts?: { maxAgeMs?: number }): Promise<DoorSnapshot> => {
      if (!camera) return Promise.reject(new Error(cameraProblem ? `camera not usable: ${cameraProblem}` : `door "${this.doorName}" has no camera configured`));
      return camera.get(opts);
    };
    this.prefetchSnapshot = () => camera?.prefetch();
    this.cameraProblem = cameraProblem;

    onClose(this, T, async () => {
      await Promise.all([opener?.close(), camera?.close()]);
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
