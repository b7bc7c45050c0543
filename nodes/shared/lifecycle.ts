/**
 * The runtime contract in one place: every input handler calls `done` exactly once
 * (with the error when it failed), nothing a handler throws escapes into Node-RED, and
 * `close` waits for the node's resources to be released before Node-RED redeploys.
 */
import type { DoneFn, Node, NodeMessage, SendFn } from './red';

export type InputHandler = (msg: NodeMessage, send: SendFn) => Promise<void> | void;

export function onInput(node: Node, handler: InputHandler): void {
  node.on('input', (msg: NodeMessage, send?: SendFn, done?: DoneFn) => {
    // Node-RED 0.x style callers pass neither; keep the node usable from them too.
    const sendFn: SendFn = send ?? ((m) => node.send(m));
    let finished = false;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      const e = err === undefined ? undefined : err instanceof Error ? err : new Error(String(err));
      if (done) done(e);
      else if (e) node.error(e.message, msg);
    };
    try {
      const r = handler(msg, sendFn);
      if (r && typeof (r as Promise<void>).then === 'function') {
        (r as Promise<void>).then(() => finish(), finish);
      } else {
        finish();
      }
    } catch (err) {
      finish(err);
    }
  });
}

/** Release resources on close; Node-RED waits because the handler takes `done`. */
export function onClose(node: Node, release: (removed: boolean) => Promise<void> | void, timeoutMs = 5000): void {
  node.on('close', (removed: boolean, done: () => void) => {
    let called = false;
    const finish = (): void => {
      if (called) return;
      called = true;
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => {
      node.warn('close took longer than ' + timeoutMs + ' ms; continuing');
      finish();
    }, timeoutMs);
    try {
      Promise.resolve(release(removed)).then(finish, (err: unknown) => {
        node.error('close failed: ' + (err instanceof Error ? err.message : String(err)));
        finish();
      });
    } catch (err) {
      node.error('close failed: ' + (err instanceof Error ? err.message : String(err)));
      finish();
    }
  });
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
