/** Turns a flow message into a journal event, following the message conventions. */
import type { NodeMessage } from './red';

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function eventFromMessage(msg: NodeMessage, note?: string) {
  const call = (msg.call && typeof msg.call === 'object' ? msg.call : {}) as Record<string, unknown>;
  const from = call.from as Record<string, unknown> | string | undefined;
  const caller = typeof from === 'string' ? from : str(from?.user);
  const door = msg.door && typeof msg.door === 'object' ? str((msg.door as Record<string, unknown>).name) : str(msg.door);
  const payload = msg.payload;
  return {
    event: str(msg.topic) ?? 'event',
    door,
    caller,
    source: str(call.source),
    callId: str(call.id),
    result: typeof payload === 'string' || typeof payload === 'number' || typeof payload === 'boolean' ? String(payload) : undefined,
    note: str(msg.note) ?? (note || undefined),
  };
}
