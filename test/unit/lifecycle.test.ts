import { EventEmitter } from 'node:events';
import { onClose, onInput } from '../../nodes/shared/lifecycle';
import { texts } from '../../nodes/shared/i18n';
import type { Node, RED } from '../../nodes/shared/red';
import { IntercomError } from '../../nodes/lib/core/errors';
import { translate } from '../helpers/i18n';

const T = texts({ _: (k: string, p?: Record<string, unknown>) => translate(k, p) } as unknown as RED, 'intercom-door-open');

// A bare EventEmitter stands in for the Node-RED node: lifecycle.ts only uses its events
// and error/warn, and these tests check the contract Node-RED relies on.
function bareNode(): Node & { errors: unknown[]; warns: unknown[] } {
  const n = new EventEmitter() as unknown as Node & { errors: unknown[]; warns: unknown[] };
  n.errors = [];
  n.warns = [];
  n.error = (m: unknown) => void n.errors.push(m);
  n.warn = (m: unknown) => void n.warns.push(m);
  n.send = () => undefined;
  return n;
}

describe('onInput', () => {
  test('calls done exactly once, with the error a handler throws', () => {
    const n = bareNode();
    onInput(n, T, () => {
      throw new Error('bad input');
    });
    const done = jest.fn();
    n.emit('input', { payload: 1 }, () => undefined, done);
    expect(done).toHaveBeenCalledTimes(1);
    expect((done.mock.calls[0][0] as Error).message).toBe('bad input');
  });

  test('waits for an async handler and reports its rejection', async () => {
    const n = bareNode();
    onInput(n, T, async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw 'plain string';
    });
    const done = jest.fn();
    n.emit('input', {}, () => undefined, done);
    expect(done).not.toHaveBeenCalled();
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toHaveBeenCalledTimes(1);
    expect((done.mock.calls[0][0] as Error).message).toBe('plain string');
  });

  test('without done (old runtimes) errors go to node.error', () => {
    const n = bareNode();
    onInput(n, T, () => {
      throw new Error('x');
    });
    n.emit('input', {});
    expect(n.errors).toEqual(['x']);
  });

  test("a core error reaches done in the user's words, naming the field by its label", () => {
    const n = bareNode();
    onInput(n, T, () => {
      throw new IntercomError('setting.number', { field: 'confirmTopic', min: 1, max: 5, value: '9' });
    });
    const done = jest.fn();
    n.emit('input', {}, () => undefined, done);
    expect((done.mock.calls[0][0] as Error).message).toBe('Confirm topic must be a number from 1 to 5, got "9"');
  });
});

describe('onClose', () => {
  test('calls done after the release finished', async () => {
    const n = bareNode();
    const order: string[] = [];
    onClose(n, T, async () => {
      await new Promise((r) => setTimeout(r, 10));
      order.push('released');
    });
    await new Promise<void>((resolve) => n.emit('close', false, () => (order.push('done'), resolve())));
    expect(order).toEqual(['released', 'done']);
  });

  test('a release that hangs does not block the redeploy forever', async () => {
    const n = bareNode();
    onClose(n, T, () => new Promise(() => undefined), 50);
    const t0 = Date.now();
    await new Promise<void>((resolve) => n.emit('close', true, resolve));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect(String(n.warns[0])).toBe('closing took longer than 50 ms; continuing');
  });
});
