/**
 * What every node may rely on from an `intercom-door` config node, whoever implements
 * the opening and the camera. Flow nodes look a door up with RED.nodes.getNode(def.door).
 */
import type { Snapshot } from '../lib/camera/snapshotter';
import type { IntercomError } from '../lib/core/errors';
import type { OpenOutcome } from '../lib/door/open-error';
import type { Node } from './red';

export interface DoorOpenResult {
  ok: boolean;
  latencyMs: number;
  attempts: number;
  status?: number;
  /** why not, in the user's language */
  error?: string;
  outcome?: OpenOutcome;
}

export interface DoorOpenRequest {
  /** the message that asked (templates of generic HTTP / MQTT actions read it) */
  msg?: Record<string, unknown>;
  /** the live call, for a DTMF open */
  callId?: string;
}

/** A JPEG of the door camera with its size, when it was taken and whether it was shared. */
export type DoorSnapshot = Snapshot;

export interface DoorConfigNode extends Node {
  /** stable slug used in topics, entity ids and the journal, e.g. "front_door" */
  doorId: string;
  /** human name, e.g. "Front door" */
  doorName: string;
  /** the panel / SIP account this door belongs to (free text: extension, account name) */
  panel?: string;
  /** why the door cannot open (a bad setting), in the user's language; flow nodes show it */
  problem?: string;
  /** open the door once; never rejects, a failure is a result with ok=false */
  open?(req?: DoorOpenRequest): Promise<DoorOpenResult>;
  /** an event (contact, HA state) confirms the open in flight, for confirm="event" */
  confirmOpen?(): void;
  /** true when a camera source is configured */
  hasCamera?: boolean;
  /** why the camera cannot work (ffmpeg missing, bad URL), for the snapshot node's status */
  cameraProblem?: string;
  /** a JPEG of the door camera (cached a few seconds); rejects with an IntercomError */
  snapshot?(opts?: { maxAgeMs?: number }): Promise<DoorSnapshot>;
  /** start a grab now (the call rings) so the picture is ready when asked */
  prefetchSnapshot?(): void;
  /**
   * The camera live as JPEG frames (a door page's Look), shared by every watcher; returns
   * how to stop watching. Present when the door has a camera.
   */
  watch?(onFrame: (jpeg: Buffer) => void, onError?: (err: IntercomError) => void): () => void;
}

/** The door config node behind an id, or undefined when it is missing or not a door. */
export function isDoor(node: Node | null | undefined): node is DoorConfigNode {
  return !!node && typeof (node as Partial<DoorConfigNode>).doorId === 'string';
}
