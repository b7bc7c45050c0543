/**
 * The kinds of door action as configuration, and what every kind implements for the
 * opener (opener.ts): one try at a time, telling whether a repeat is harmless. Each kind
 * lives in action-<kind>.ts; the opener keeps what they share (retries, in-flight join,
 * minimum interval, confirmation).
 */
import type { AuthMode } from '../http/client';

export interface PresetAction {
  kind: 'preset';
  preset: string;
  /** http(s)://host[:port] of the device */
  baseUrl: string;
  relay?: number;
  pulseSeconds?: number;
  userId?: string;
}
export interface HttpAction {
  kind: 'http';
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  auth?: AuthMode;
  idempotent?: boolean;
  /** regular expression the answer body must match */
  successMatch?: string;
}
export interface MqttAction {
  kind: 'mqtt';
  topic: string;
  payload: string;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}
export interface DtmfAction {
  kind: 'dtmf';
  digits: string;
}
export interface HaAction {
  kind: 'ha';
  /** "lock.open", "switch.turn_on", "button.press" */
  service: string;
  entityId: string;
  /** id of the Home Assistant config node, when there are several */
  server?: string;
}
export type DoorAction = PresetAction | HttpAction | MqttAction | DtmfAction | HaAction;

export interface OpenContext {
  /** the message that asked, for templates */
  msg?: Record<string, unknown>;
  callId?: string;
}

/** What one open counts across its tries: HTTP requests made (auth round trips included). */
export interface Tally {
  requests: number;
}

export interface ActionRunner {
  /** repeating it leaves the door as one try would (sets "on" for N s, not "toggle") */
  readonly idempotent: boolean;
  /** One try; resolves with the HTTP status when there is one, throws an OpenError. */
  attempt(ctx: OpenContext, tally: Tally): Promise<number | undefined>;
  close?(): void;
}

/** What templates of an action may read: the message and the door. */
export function templateScope(ctx: OpenContext, door: { id: string; name: string }): Record<string, unknown> {
  return { msg: ctx.msg ?? {}, door };
}
