/**
 * intercom-snapshot: a JPEG of the door camera in msg.payload. A `ring` message only starts
 * the grab (prefetch) so the picture is ready when the notification asks a moment later;
 * the door's short cache lets several snapshot nodes of one ring share one grab.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { numberSetting } from './lib/core/settings';
import { MAX_AGE } from './lib/camera/snapshot-form';
import type { SnapshotFailure } from './lib/camera/ffmpeg';
import { isDoor } from './shared/door';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface SnapshotDef extends NodeDef {
  door?: string;
  /** "ring" messages prefetch only (no output) */
  prefetchTopic?: string;
  /** write the picture to this directory (relative to the user dir); empty = no file */
  dir?: string;
  dataUrl?: boolean;
  maxAge?: string | number;
}

/** Failures the status names in a word or two; the whole text goes to the error. */
const SHORT: readonly SnapshotFailure[] = ['no-ffmpeg', 'timeout', 'ffmpeg-failed', 'unreachable', 'auth', 'too-large', 'not-jpeg', 'http', 'no-source', 'closed'];

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-snapshot');
  function IntercomSnapshotNode(this: Node, def: SnapshotDef): void {
    RED.nodes.createNode(this, def);
    const found = def.door ? RED.nodes.getNode(def.door) : null;
    const door = isDoor(found) ? found : undefined;
    const prefetchTopic = (def.prefetchTopic ?? 'ring').trim();
    const userDir = RED.settings.userDir ?? process.cwd();
    const dir = (def.dir ?? '').trim();
    const outDir = dir ? (path.isAbsolute(dir) ? dir : path.join(userDir, dir)) : undefined;
    let closed = false;
    // Empty: the door's own sharing time.
    let maxAge: number | undefined;
    let problem: string | undefined;
    try {
      const ms = numberSetting(def.maxAge, { field: 'maxAge', ...MAX_AGE });
      maxAge = ms >= 0 ? ms : undefined;
    } catch (err) {
      problem = T.describe(err);
      this.error(problem);
    }

    if (!door) this.status(T.status('red', 'ring', 'noDoor'));
    else if (problem) this.status(T.status('red', 'ring', 'problem', { problem }));
    else if (door.cameraProblem) this.status(T.status('red', 'ring', 'problem', { problem: door.cameraProblem }));
    else if (!door.hasCamera) this.status(T.status('red', 'ring', 'noCamera'));
    else this.status({ fill: 'grey', shape: 'ring', text: door.doorName });

    onInput(this, T, async (msg: NodeMessage, send) => {
      if (!door || !door.snapshot) throw new Error(T.t('errors.noDoor'));
      if (problem) throw new Error(problem);
      if (prefetchTopic && msg.topic === prefetchTopic) {
        door.prefetchSnapshot?.();
        this.status(T.status('blue', 'ring', 'prefetching'));
        return;
      }
      let snap;
      try {
        snap = await door.snapshot(maxAge === undefined ? undefined : { maxAgeMs: maxAge });
      } catch (err) {
        const kind = (err as { kind?: SnapshotFailure }).kind;
        if (!closed) this.status(T.status('red', 'dot', 'failed', { why: T.t(`failure.${kind && SHORT.includes(kind) ? kind : 'other'}`) }));
        throw new Error(T.t('errors.failed', { door: door.doorName, error: T.describe(err) }), { cause: err });
      }
      if (closed) return;
      const info: Record<string, unknown> = {
        door: door.doorId,
        width: snap.width,
        height: snap.height,
        bytes: snap.jpeg.length,
        takenAt: new Date(snap.takenAt).toISOString(),
        grabMs: snap.grabMs,
        shared: snap.shared,
      };
      if (outDir) {
        await fsp.mkdir(outDir, { recursive: true });
        const file = path.join(outDir, `${door.doorId}-${new Date(snap.takenAt).toISOString().replace(/[:.]/g, '-')}.jpg`);
        await fsp.writeFile(file, snap.jpeg);
        info.file = file;
        msg.filename = file;
      }
      if (def.dataUrl) info.dataUrl = 'data:image/jpeg;base64,' + snap.jpeg.toString('base64');
      msg.payload = snap.jpeg;
      msg.snapshot = info;
      const size = { width: snap.width ?? '?', height: snap.height ?? '?' };
      this.status(snap.shared ? T.status('green', 'dot', 'shared', size) : T.status('green', 'dot', 'grabbed', { ...size, ms: snap.grabMs }));
      send(msg);
    });

    onClose(this, T, () => {
      closed = true;
    });
  }
  RED.nodes.registerType('intercom-snapshot', IntercomSnapshotNode);
};
