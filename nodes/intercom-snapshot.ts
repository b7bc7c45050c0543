/**
 * intercom-snapshot: a JPEG of the door camera in msg.payload. A `ring` message only starts
 * the grab (prefetch) so the picture is ready when the notification asks a moment later;
 * the door's short cache lets several snapshot nodes of one ring share one grab.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
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
    // Empty means the door's own sharing time; Number('') would be 0 and defeat the cache.
    const maxAge = def.maxAge === undefined || String(def.maxAge).trim() === '' ? NaN : Number(def.maxAge);
    let closed = false;

    if (!door) this.status({ fill: 'red', shape: 'ring', text: 'no door configured' });
    else if (!door.hasCamera) this.status({ fill: 'red', shape: 'ring', text: door.cameraProblem ? door.cameraProblem.slice(0, 40) : 'door has no camera' });
    else if (door.cameraProblem) this.status({ fill: 'red', shape: 'ring', text: door.cameraProblem.slice(0, 40) });
    else this.status({ fill: 'grey', shape: 'ring', text: door.doorName });

    onInput(this, T, async (msg: NodeMessage, send) => {
      if (!door || !door.snapshot) throw new Error('no intercom-door configured for this node');
      if (prefetchTopic && msg.topic === prefetchTopic) {
        door.prefetchSnapshot?.();
        this.status({ fill: 'blue', shape: 'ring', text: 'prefetching…' });
        return;
      }
      let snap;
      try {
        snap = await door.snapshot(Number.isFinite(maxAge) && maxAge >= 0 ? { maxAgeMs: maxAge } : undefined);
      } catch (err) {
        if (!closed) this.status({ fill: 'red', shape: 'dot', text: T.describe(err).slice(0, 40) });
        throw new Error(`snapshot of ${door.doorName} failed: ${T.describe(err)}`);
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
      this.status({ fill: 'green', shape: 'dot', text: `${snap.width ?? '?'}x${snap.height ?? '?'} ${snap.shared ? 'cached' : snap.grabMs + ' ms'}` });
      send(msg);
    });

    onClose(this, T, () => {
      closed = true;
    });
  }
  RED.nodes.registerType('intercom-snapshot', IntercomSnapshotNode);
};
