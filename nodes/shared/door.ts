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
}

export interface DoorConfigNode extends Node {
  /** stable slug used in topics, entity ids and the journal, e.g. "front_door" */
  doorId: string;
  /** human name, e.g. "Front door" */
  doorName: string;
}
