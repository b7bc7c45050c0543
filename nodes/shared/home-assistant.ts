/**
 * What flow nodes rely on from an `intercom-home-assistant` config node, how that node
 * finds Home Assistant (its own URL and token, the Supervisor of the add-on, or the server
 * node of node-red-contrib-home-assistant-websocket), and the one status rendering the
 * flow nodes share: a dot per connection part the node uses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import * as path from 'node:path';
import type { CommandAttribution } from '../lib/homeassistant/attribution';
import type { LinkState } from '../lib/homeassistant/link';
import type { MqttLink } from '../lib/homeassistant/mqtt-link';
import { supervisorAccess, supervisorEndpoint } from '../lib/homeassistant/supervisor';
import { haEndpoint, type HaEndpoint, type HaWsLink } from '../lib/homeassistant/ws-link';
import { IntercomError } from '../lib/core/errors';
import type { Texts } from './i18n';
import type { Node, NodeStatus, RED } from './red';

export interface HaConfigNode extends Node {
  /** the broker part, null when no broker URL is configured (and not an add-on) */
  mqtt: MqttLink | null;
  /** the websocket part, null when no HA URL or token is configured */
  ws: HaWsLink | null;
  /** call_service watcher for "who asked", present with the websocket part */
  attribution: CommandAttribution | null;
  /** device page details of the doors exposed through this connection */
  deviceInfo: { swVersion?: string; configurationUrl?: string };
  /** why a part could not be set up, in the user's language (shown red by its users) */
  problem?: string;
  /** how it reaches Home Assistant, as deployed (the editor's pickers compare against it) */
  source: HaSourceDef;
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
  const bad = parts.find((p) => p.state === 'auth-rejected' || p.state === 'missing' || p.state === 'misconfigured');
  const allUp = parts.every((p) => p.state === 'connected');
  const each = parts.map((p) => T.common('ha.partState', { part: T.common(`ha.part.${p.part}`), state: T.common(`ha.state.${p.state}`) })).join(', ');
  const text = last ? T.common('ha.withLast', { parts: each, last }) : each;
  if (bad) return { fill: 'red', shape: 'ring', text };
  return allUp ? { fill: 'green', shape: 'dot', text } : { fill: 'yellow', shape: 'ring', text };
}

/** How the config node reaches Home Assistant, as stored. */
export interface HaSourceDef {
  /** running as the Home Assistant add-on: the Supervisor's token and proxy */
  addon?: boolean;
  /** the id of a node-red-contrib-home-assistant-websocket `server` node to borrow URL and token from */
  haFrom?: string;
  haUrl?: string;
  insecureTls?: boolean;
}

export interface HaAccess {
  endpoint: HaEndpoint;
  token: string;
  insecureTls: boolean;
}

/** The `server` node of node-red-contrib-home-assistant-websocket, as its runtime keeps it. */
interface ServerNode extends Node {
  config?: { addon?: boolean; rejectUnauthorizedCerts?: boolean };
}

/**
 * Where Home Assistant is and the token to use, or null when the part is not configured.
 * Throws an IntercomError when it is configured but cannot work (no Supervisor token, a
 * server node that is gone). A stored token only ever goes to the URL stored with it.
 */
export function haAccess(RED: RED, def: HaSourceDef, creds: { token?: string }, env: Record<string, string | undefined> = process.env): HaAccess | null {
  if (def.addon) {
    const s = supervisorAccess(env);
    return { endpoint: supervisorEndpoint(s), token: s.token, insecureTls: false };
  }
  if (def.haFrom) {
    const server = RED.nodes.getNode(def.haFrom) as ServerNode | null;
    const c = (RED.nodes.getCredentials?.(def.haFrom) ?? {}) as { host?: string; access_token?: string };
    if (!server && !c.host) throw new IntercomError('ha.serverNodeMissing', { id: def.haFrom });
    if (server?.config?.addon) {
      const s = supervisorAccess(env);
      return { endpoint: supervisorEndpoint(s), token: s.token, insecureTls: false };
    }
    if (!c.host || !c.access_token) throw new IntercomError('ha.serverNodeIncomplete', { id: def.haFrom });
    return { endpoint: haEndpoint(c.host), token: c.access_token, insecureTls: server?.config?.rejectUnauthorizedCerts === false };
  }
  const url = (def.haUrl ?? '').trim();
  if (!url) return null;
  if (!creds.token) throw new IntercomError('ha.noToken');
  return { endpoint: haEndpoint(url), token: creds.token, insecureTls: def.insecureTls === true };
}

let version: string | undefined;
/** This package's version, from its package.json (dist/nodes/… or nodes/… in a checkout). */
export function packageVersion(): string | undefined {
  if (version !== undefined) return version || undefined;
  version = '';
  for (let dir = __dirname, i = 0; i < 5; i++, dir = path.dirname(dir)) {
    const p = path.join(dir, 'package.json');
    if (!existsSync(p)) continue;
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'node-red-contrib-sip-intercom') {
        version = pkg.version ?? '';
        break;
      }
    } catch {
      /* keep looking */
    }
  }
  return version || undefined;
}

/** Interfaces that are not the LAN: container bridges, VPNs, virtual switches. */
const NOT_LAN = /^(docker|br-|veth|virbr|vmnet|vboxnet|tun|tap|wg|zt|lxc|cni|flannel|cali|tailscale)/;

/**
 * The Node-RED editor's address as someone on the LAN opens it: Node-RED's own uiHost when
 * it names one, else this host's first LAN address; http(s) from its https setting. Undefined
 * when there is no such address (then the device page shows no link rather than a wrong one).
 */
export function editorUrl(settings: Record<string, unknown>): string | undefined {
  const host = typeof settings.uiHost === 'string' && !['', '0.0.0.0', '::'].includes(settings.uiHost) ? settings.uiHost : lanAddress();
  if (!host) return undefined;
  const port = typeof settings.uiPort === 'number' ? settings.uiPort : Number(process.env.PORT) || 1880;
  const root = typeof settings.httpAdminRoot === 'string' ? settings.httpAdminRoot : '/';
  const scheme = settings.https ? 'https' : 'http';
  const h = host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${h}:${port}${root.startsWith('/') ? root : '/' + root}`;
}

function lanAddress(): string | undefined {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (NOT_LAN.test(name)) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}
