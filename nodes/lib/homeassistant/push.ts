/**
 * One ring's push: its texts from the node's templates, its picture (this ring's, or none),
 * and whether it is still worth sending once the picture is confirmed (a newer ring of the
 * door, or the end of the call, makes it stale: the phone would only show an old visitor).
 */
import { callerOf, callerText } from './caller';
import { fillTemplate } from './notify';
import { waitForImage, type ImageSource } from './image-check';

export interface RingTexts {
  title: string;
  message: string;
}

/**
 * msg.title / msg.message as given, else the templates with {caller} ("Guest 101 (100)"),
 * {name} ("Guest 101"), {number} ("100") and {door} ("Front door").
 */
export function ringTexts(msg: Record<string, unknown>, templates: RingTexts, words: { visitor: string; door: string }): RingTexts {
  const who = callerOf(msg);
  const vars = { caller: callerText(who) ?? words.visitor, name: who?.name ?? who?.number ?? words.visitor, number: who?.number ?? '', door: words.door };
  return {
    title: typeof msg.title === 'string' ? msg.title : fillTemplate(templates.title, vars),
    message: typeof msg.message === 'string' ? msg.message : fillTemplate(templates.message, vars),
  };
}

export interface RingPicture {
  /** what the push names as its picture, if anything */
  image?: string;
  /** given (msg.image), this-ring (HA serves these bytes), not-ready (HA did not in time), none */
  picture: 'given' | 'this-ring' | 'not-ready' | 'none';
  waitedMs: number;
  error?: unknown;
}

/**
 * The picture of this ring's push: msg.image when the flow gives one (an HA path or an
 * https URL); else, when msg.payload is this ring's JPEG, the door's image entity once HA
 * serves exactly these bytes (bounded by waitMs); else none. Never the previous visitor.
 */
export async function ringPicture(msg: Record<string, unknown>, imageEntity: string | undefined, source: ImageSource, waitMs: number): Promise<RingPicture> {
  if (typeof msg.image === 'string' && /^(\/api\/|https:\/\/)/.test(msg.image)) return { image: msg.image, picture: 'given', waitedMs: 0 };
  if (!imageEntity || !Buffer.isBuffer(msg.payload) || msg.payload.length === 0) return { picture: 'none', waitedMs: 0 };
  const r = await waitForImage(source, imageEntity, msg.payload, { timeoutMs: waitMs, pollMs: 250 });
  if (r.confirmed) return { image: `/api/image_proxy/${imageEntity}`, picture: 'this-ring', waitedMs: r.waitedMs };
  return { picture: 'not-ready', waitedMs: r.waitedMs, error: r.error };
}

/** Which pushes are still worth sending: the newest ring's, while its call goes on. */
export class RingOrder {
  private newest = '';
  private readonly ended = new Set<string>();

  /** a ring starts its push */
  begin(ringId: string): void {
    this.newest = ringId;
    this.ended.delete(ringId);
  }

  /** its call ended (answered, missed, opened, ...) */
  end(callId: string | undefined): void {
    if (callId === undefined) return;
    this.ended.add(callId);
    if (this.ended.size > 64) this.ended.delete(this.ended.values().next().value as string);
  }

  /** a newer ring came, or the call ended, while this push waited */
  stale(ringId: string): boolean {
    return this.newest !== ringId || this.ended.has(ringId);
  }
}
