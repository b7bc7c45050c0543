/**
 * What every node may rely on from an `intercom-door` config node, whoever implements
 * the opening and the camera. Flow nodes look a door up with RED.nodes.getNode(def.door).
 */
import type { Node } from './red';

export interface DoorOpenResult {
  ok: boolean;
  latencyMs: number;
  attempts: number;
  status?: number;
  error?: string;
  /** "ok", "failed", "throttled", "unconfirmed", "unavailable" */
  outcome?: string;
}

export interface DoorOpenRequest {
  /** the message that asked (templates of generic HTTP / MQTT actions read it) */
  msg?: Record<string, unknown>;
  /** the live call, for a DTMF open */
  callId?: string;
}

export interface DoorSnapshot {
  jpeg: Buffer;
  width?: number;
  height?: number;
  takenAt: number;
  grabMs: number;
  /** served from the short cache or from a grab already running */
  shared: boolean;
}

export interface DoorConfigNode extends Node {
  /** stable slug used in topics, entity ids and the journal, e.g. "front_door" */
  doorId: string;
  /** human name, e.g. "Front door" */
  doorName: string;
  /** the panel / SIP account this door belongs to (free text: extension, account name) */
  panel?: string;
  /** open the door once; never rejects, a failure is a result with ok=false */
  open?(req?: DoorOpenRequest): Promise<DoorOpenResult>;
  /** an event (contact, HA state) confirms the open in flight, for confirm="event" */
  confirmOpen?(): void;
  /** true when a camera source is configured */
  hasCamera?: boolean;
  /** why the camera cannot work (ffmpeg missing, bad URL), for the snapshot node's status */
  cameraProblem?: string;
  /** a JPEG of the door camera (cached a few seconds); rejects with a clear error */
  snapshot?(opts?: { maxAgeMs?: number }): Promise<DoorSnapshot>;
  /** start a grab now (the call rings) so the picture is ready when asked */
  prefetchSnapshot?(): void;
}

/** The door config node behind an id, or undefined when it is missing or not a door. */
export function isDoor(node: Node | null | undefined): node is DoorConfigNode {
  return !!node && typeof (node as Partial<DoorConfigNode>).doorId === 'string';
}
