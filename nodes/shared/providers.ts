/**
 * Run-time meeting point between nodes that are built by different areas: the SIP side
 * registers a DTMF sender, the Home Assistant side a service caller, and a door looks
 * them up at the moment it opens (so deploy order does not matter). One registry per
 * process, like Node-RED's own node registry; each registration is undone on close.
 *
 *   const off = registerProvider('dtmf-sender', { sendDtmf: (callId, digits) => ... });
 *   onClose(node, () => off());
 */
import type { DtmfSender } from '../lib/door/action-dtmf';
import type { HaServiceCaller } from '../lib/door/action-ha';

export interface ProviderKinds {
  'dtmf-sender': DtmfSender;
  'ha-service-caller': HaServiceCaller;
}

const registry: { [K in keyof ProviderKinds]: Set<ProviderKinds[K]> } = {
  'dtmf-sender': new Set(),
  'ha-service-caller': new Set(),
};

export function registerProvider<K extends keyof ProviderKinds>(kind: K, provider: ProviderKinds[K]): () => void {
  const set = registry[kind] as Set<ProviderKinds[K]>;
  set.add(provider);
  return () => {
    set.delete(provider);
  };
}

export function providers<K extends keyof ProviderKinds>(kind: K): Array<ProviderKinds[K]> {
  return [...(registry[kind] as Set<ProviderKinds[K]>)];
}

export type { DtmfSender, HaServiceCaller };
