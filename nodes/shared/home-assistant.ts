/**
 * What flow nodes rely on from an `intercom-home-assistant` config node, and the one
 * status rendering they share: a dot per connection part the node uses.
 */
import type { CommandAttribution } from '../lib/homeassistant/attribution';
import type { LinkState } from '../lib/homeassistant/link';
import type { MqttLink } from '../lib/homeassistant/mqtt-link';
import type { HaWsLink } from '../lib/homeassistant/ws-link';
import type { Texts } from './i18n';
import type { Node, NodeStatus } from './red';

export interface HaConfigNode extends Node {
  /** the broker part, null when no broker URL is configured */
  mqtt: MqttLink | null;
  /** the websocket part, null when no HA URL or token is configured */
  ws: HaWsLink | null;
  /** call_service watcher for "who asked", present with the websocket part */
  attribution: CommandAttribution | null;
  /** a flow node starts using the connection; its status follows both parts from now on */
  register(user: Node, parts: Array<'mqtt' | 'ws'>): void;
  deregister(user: Node): void;
}

export interface PartState {
  part: 'mqtt' | 'ws';
  state: LinkState | 'missing';
}

/** One status for the parts a node uses: red if any is refused, green when all are up. */
export function partsStatus(T: Texts, parts: PartState[], last = ''): NodeStatus {
  const bad = parts.find((p) => p.state === 'auth-rejected' || p.state === 'missing');
  const allUp = parts.every((p) => p.state === 'connected');
  const each = parts.map((p) => T.common('ha.partState', { part: T.common(`ha.part.${p.part}`), state: T.common(`ha.state.${p.state}`) })).join(', ');
  const text = last ? T.common('ha.withLast', { parts: each, last }) : each;
  if (bad) return { fill: 'red', shape: 'ring', text };
  return allUp ? { fill: 'green', shape: 'dot', text } : { fill: 'yellow', shape: 'ring', text };
}
