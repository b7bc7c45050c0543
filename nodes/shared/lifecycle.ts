/**
 * The runtime contract in one place: every input handler calls `done` exactly once
 * (with the error when it failed, in the user's language), nothing a handler throws
 * escapes into Node-RED, and `close` waits for the node's resources to be released
 * before Node-RED redeploys.
 */
import type { Texts } from './i18n';
import type { DoneFn, Node, NodeMessage, SendFn } from './red';

export type InputHandler = (msg: NodeMessage, send: SendFn) => Promise<void> | void;

export function onInput(node: Node, texts: Texts, handler: InputHandler): void {
  node.on('input', (msg: NodeMessage, send?: SendFn, done?: DoneFn) => {
    // Node-RED 0.x style callers pass neither; keep the node usable from them too.
    const sendFn: SendFn = send ?? ((m) => node.send(m));
    let finished = false;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      const e = err === undefined ? undefined : new Error(texts.describe(err), { cause: err });
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
export function onClose(node: Node, texts: Texts, release: (removed: boolean) => Promise<void> | void, timeoutMs = 5000): void {
  node.on('close', (removed: boolean, done: () => void) => {
    let called = false;
    const finish = (): void => {
      if (called) return;
      called = true;
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(() => {
      node.warn(texts.common('lifecycle.closeSlow', { ms: timeoutMs }));
      finish();
    }, timeoutMs);
    const failed = (err: unknown): void => {
      node.error(texts.common('lifecycle.closeFailed', { error: texts.describe(err) }));
      finish();
    };
    try {
      Promise.resolve(release(removed)).then(finish, failed);
    } catch (err) {
      failed(err);
    }
  });
}
