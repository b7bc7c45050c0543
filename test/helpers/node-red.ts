/** node-red-node-test-helper, set up once for the node tier. */
import { missingKeys, translate } from './i18n';
const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

// Every node of ours gets a RED._ that reads the real locale files (./i18n.ts), and a test
// that made a node show a text no catalog has fails.
type NodeModule = (RED: Record<string, unknown>) => unknown;
const load = helper.load.bind(helper);
helper.load = (testNode: NodeModule | NodeModule[], ...rest: unknown[]) => {
  // Core node modules stay as they are: the helper recognises them by identity.
  const core = new Set(Object.values((helper as { _nodeModules?: Record<string, NodeModule> })._nodeModules ?? {}));
  const wrap = (fn: NodeModule): NodeModule => {
    if (core.has(fn)) return fn;
    const wrapped = (RED: Record<string, unknown>) => {
      // Core nodes loaded beside ours keep the helper's identity RED._.
      RED._ = (key: string, params?: Record<string, unknown>) => (key.startsWith('intercom') ? translate(key, params) : key);
      return fn(RED);
    };
    return wrapped;
  };
  return load(Array.isArray(testNode) ? testNode.map(wrap) : wrap(testNode), ...rest);
};
afterEach(() => {
  const keys = [...missingKeys];
  missingKeys.clear();
  if (keys.length) throw new Error(`texts with no locale key (in en-US unless named <lang>:): ${keys.join(', ')}`);
});
export { helper };

export interface TestNode {
  id: string;
  on(event: string, cb: (...args: any[]) => void): void;
  receive(msg: Record<string, unknown>): void;
  [key: string]: any;
}
export function getNode(id: string): TestNode {
  const n = helper.getNode(id) as TestNode | null;
  if (!n) throw new Error(`node ${id} did not start`);
  return n;
}

/** Next message that arrives at a helper node, or fail after timeoutMs. */
export function nextMessage(node: TestNode, timeoutMs = 3000): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message at ${node.id} within ${timeoutMs} ms`)), timeoutMs);
    node.on('input', (msg: Record<string, any>) => {
      clearTimeout(t);
      resolve(msg);
    });
  });
}
