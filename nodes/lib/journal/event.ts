/**
 * One journal line: an event with its time and whatever the flow added, never a secret.
 * Keys that name a secret keep their place but lose their value, however deep.
 */
export interface JournalEvent {
  time: string;
  event: string;
  door?: string;
  caller?: string;
  source?: string;
  result?: string;
  note?: string;
  [key: string]: unknown;
}

/** Keys whose values are never written, whatever the flow puts in them. */
const SECRET_KEY = /pass(word)?|pin|secret|token|auth|credential/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}
