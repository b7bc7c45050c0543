/**
 * intercom-dtmf: turns DTMF key presses on calls into digits a flow acts on: each digit,
 * or a collected sequence (a 4-digit PIN, digits up to #, with inter-digit and total
 * timeouts). Input is the event message intercom-sip-in emits for a key press
 * (topic 'dtmf', payload the key, msg.call, msg.dtmf.method), so it also works behind any
 * node that produces that shape. Collected digits are treated as secrets in status/logs.
 */
import { checkForm } from './lib/core/fields';
import { collectorSettings, DtmfCollector, type CollectorResult, type CollectorSettings } from './lib/media/dtmf-collector';
import { DTMF_FORM } from './lib/media/dtmf-form';
import type { DtmfMethod } from './lib/media/port';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

type DtmfDef = NodeDef & CollectorSettings;

const MAX_ARMED = 256;
const METHODS: ReadonlySet<string> = new Set(['rfc4733', 'info', 'inband']);

/** The call a message is about, or undefined if it has no usable msg.call.id. */
function callOf(msg: NodeMessage): { id: string; call: Record<string, unknown> } | undefined {
  const call = msg.call;
  if (!call || typeof call !== 'object') return undefined;
  const id = (call as Record<string, unknown>).id;
  if (typeof id !== 'string' || id === '' || id.length > 256) return undefined;
  return { id, call: call as Record<string, unknown> };
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-dtmf');
  function IntercomDtmfNode(this: Node, def: DtmfDef): void {
    RED.nodes.createNode(this, def);
    const armed = new Set<string>();
    let collector: DtmfCollector<Record<string, unknown> | undefined> | undefined;
    let mode: 'digit' | 'sequence' = 'digit';
    let scope: 'all' | 'armed' = 'all';
    try {
      checkForm(DTMF_FORM, def as unknown as Record<string, unknown>);
      const s = collectorSettings(def);
      ({ scope } = s);
      mode = s.config.mode;
      collector = new DtmfCollector(s.config, (r) => emit(r));
    } catch (err) {
      const problem = T.describe(err);
      this.status(T.status('red', 'ring', 'badConfig', { problem }));
      this.error(problem);
    }
    const idle = (): void => {
      if (!collector) return;
      if (mode === 'digit') this.status(T.status('grey', 'ring', 'eachDigit'));
      else if (scope === 'armed') this.status(T.status('grey', 'ring', 'armed', { count: armed.size }));
      else this.status(T.status('grey', 'ring', 'waiting'));
    };
    idle();

    const emit = (r: CollectorResult<Record<string, unknown> | undefined>): void => {
      const methods = [...new Set(r.methods)];
      const out: NodeMessage = {
        topic: mode === 'digit' ? 'dtmf' : 'digits',
        payload: r.digits,
        dtmf: { method: methods.length === 1 ? methods[0] : methods.join('+'), methods: r.methods, reason: r.reason, count: r.digits.length },
      };
      if (r.context) out.call = r.context;
      // Never the digits themselves: a PIN must not show in the editor.
      const fill = r.reason.endsWith('timeout') ? 'yellow' : 'green';
      this.status(mode === 'digit' ? T.status(fill, 'dot', 'digit') : T.status(fill, 'dot', 'digits', { count: r.digits.length, reason: T.t(`reason.${r.reason}`) }));
      this.send(out);
    };

    onInput(this, T, (msg: NodeMessage) => {
      if (!collector) throw new Error(T.t('errors.notConfigured'));
      const c = callOf(msg);
      const key = c?.id ?? '';
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      if (topic === 'ended' || topic === 'reset') {
        collector.discard(key);
        armed.delete(key);
        idle();
        return;
      }
      if (topic !== 'dtmf') {
        if (scope === 'all') return; // ring, answered, ... pass by unused
        // Any other message about a call (answered, a prompt played, ...) arms it.
        if (!c) throw new Error(T.t('errors.noCallId'));
        armed.add(key);
        // A call whose 'ended' never reached us must not pin memory forever.
        if (armed.size > MAX_ARMED) armed.delete(armed.values().next().value as string);
        idle();
        return;
      }
      if (scope === 'armed' && !armed.has(key)) return; // not listening on this call
      const digit = typeof msg.payload === 'number' && Number.isInteger(msg.payload) && msg.payload >= 0 && msg.payload <= 9 ? String(msg.payload) : msg.payload;
      const dtmf = msg.dtmf as { method?: unknown } | undefined;
      const method = typeof dtmf?.method === 'string' && METHODS.has(dtmf.method) ? (dtmf.method as DtmfMethod) : 'rfc4733';
      if (typeof digit !== 'string' || !collector.push(key, digit, method, c?.call)) {
        throw new Error(T.t('errors.notKey', { key: String(JSON.stringify(msg.payload)).slice(0, 20) }));
      }
      if (mode === 'sequence') {
        const n = collector.count(key);
        if (n > 0) this.status(T.status('blue', 'dot', 'keys', { dots: '•'.repeat(Math.min(n, 12)) }));
      }
    });

    onClose(this, T, () => {
      collector?.close();
      armed.clear();
    });
  }
  RED.nodes.registerType('intercom-dtmf', IntercomDtmfNode);
};
