/**
 * "This ring's picture, every time": a push names the door's image entity, and the phone
 * app fetches it through Home Assistant the moment the push arrives. The snapshot travels
 * to HA over MQTT while the push goes over the websocket, so without a check the phone
 * could load the previous visitor. Before a push goes out we make sure Home Assistant
 * serves exactly this ring's bytes: we ask for the picture once, then again each time HA
 * reports the image entity changed (and every pollMs, in case a change was not reported),
 * until the bytes match or the wait is over. Whatever the broker's settings or HA's load,
 * a push either carries this ring's picture or none.
 */

export interface ImageSource {
  /** the bytes HA serves for the entity now, null when it has none */
  fetch(entityId: string): Promise<Buffer | null>;
  /** calls back on each change of the entity; returns the unsubscribe */
  watch(entityId: string, onChange: () => void): () => void;
}

export interface ImageCheckResult {
  /** HA serves these bytes */
  confirmed: boolean;
  waitedMs: number;
  /** image fetches it took */
  fetches: number;
  /** the last failure to fetch, if any */
  error?: unknown;
}

export interface ImageCheckOptions {
  timeoutMs: number;
  pollMs?: number;
  now?: () => number;
}

export function waitForImage(source: ImageSource, entityId: string, jpeg: Buffer, o: ImageCheckOptions): Promise<ImageCheckResult> {
  const now = o.now ?? Date.now;
  const t0 = now();
  let fetches = 0;
  let error: unknown;
  let busy = false;
  let again = false;
  let done = false;
  return new Promise((resolve) => {
    const finish = (confirmed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearInterval(poll);
      unwatch();
      resolve({ confirmed, waitedMs: now() - t0, fetches, ...(error !== undefined && !confirmed ? { error } : {}) });
    };
    // One fetch at a time; a change reported meanwhile earns one more right after.
    const look = (): void => {
      if (done) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      fetches++;
      source.fetch(entityId).then(
        (got) => {
          busy = false;
          if (got && got.equals(jpeg)) return finish(true);
          if (again) {
            again = false;
            look();
          }
        },
        (err: unknown) => {
          busy = false;
          error = err;
          if (again) {
            again = false;
            look();
          }
        },
      );
    };
    const unwatch = source.watch(entityId, look);
    const deadline = setTimeout(() => finish(false), o.timeoutMs);
    const poll = setInterval(look, o.pollMs ?? 500);
    look();
  });
}
