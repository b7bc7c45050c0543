/** node-red-node-test-helper, set up once for the node tier. */
const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));
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
