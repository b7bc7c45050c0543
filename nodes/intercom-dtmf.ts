/**
 * intercom-dtmf: turns DTMF key presses on calls into digits a flow acts on: each digit,
 * or a collected sequence (a 4-digit PIN, digits up to #, with inter-digit and total
 * timeouts). Input is the event message intercom-sip-in emits for a key press
 * (topic 'dtmf', payload the key, msg.call, msg.dtmf.method), so it also works behind any
 * node that produces that shape. Collected digits are treated as secrets in status/logs.
 */
import { DtmfCollector, type CollectorConfig, type CollectorResult } from './lib/media/dtmf-collector';
import type { DtmfMethod } from './lib/sip/media-port';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface DtmfDef extends NodeDef {
  mode?: string;
  length?: string | number;
  terminator?: string;
  interDigitTimeout?: string | number;
  totalTimeout?: string | number;
  scope?: string;
}

const MAX_ARMED = 256;
const METHODS: ReadonlySet<string> = new Set(['rfc4733', 'info', 'inband']);

function seconds(v: unknown, fallback: number): number {
  const n = Number(v === '' || v === undefined ? fallback : v);
  return Number.isFinite(n) && n >= 0 ? Math.round(n * 1000) : Math.round(fallback * 1000);
}

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
    const mode = def.mode === 'sequence' ? 'sequence' : 'digit';
    const scope = def.scope === 'armed' ? 'armed' : 'all';
    const config: CollectorConfig = {
      mode,
      length: Math.max(0, Math.min(32, Math.floor(Number(def.length) || 0))),
      terminator: (def.terminator ?? '').trim().toUpperCase() || undefined,
      interDigitTimeoutMs: seconds(def.interDigitTimeout, 5),
      totalTimeoutMs: seconds(def.totalTimeout, 0),
    };
    const armed = new Set<string>();
    let collector: DtmfCollector<Record<string, unknown> | undefined> | undefined;
    try {
      collector = new DtmfCollector(config, (r) => emit(r));
    } catch (err) {
      this.status({ fill: 'red', shape: 'ring', text: 'bad configuration' });
      this.error(`intercom-dtmf: ${(err as Error).message}`);
    }
    const idle = (): void => this.status({ fill: 'grey', shape: 'ring', text: mode === 'digit' ? 'each digit' : scope === 'armed' ? `${armed.size} armed` : 'waiting' });
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
      this.status({ fill: r.reason.endsWith('timeout') ? 'yellow' : 'green', shape: 'dot', text: mode === 'digit' ? 'digit' : `${r.digits.length} digits (${r.reason})` });
      this.send(out);
    };

    onInput(this, T, (msg: NodeMessage) => {
      if (!collector) throw new Error('intercom-dtmf is not configured correctly');
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
        if (!c) throw new Error('msg.call.id is needed to listen on a call');
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
        throw new Error(`not a DTMF key: ${JSON.stringify(msg.payload)?.slice(0, 20)} (0-9, *, #, A-D)`);
      }
      if (mode === 'sequence') {
        const n = collector.count(key);
        if (n > 0) this.status({ fill: 'blue', shape: 'dot', text: '•'.repeat(Math.min(n, 12)) });
      }
    });

    onClose(this, T, () => {
      collector?.close();
      armed.clear();
    });
  }
  RED.nodes.registerType('intercom-dtmf', IntercomDtmfNode);
};
