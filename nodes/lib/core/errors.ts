/**
 * Errors a user may see, as stable codes. The core never words a message: it throws an
 * IntercomError with a code and the values it names, and the node that surfaces it
 * translates `intercom.errors.<code>` from locales/<lang>/common/<area>.json (nodes/shared/i18n.ts).
 * The message of the error is the code and its values, for logs where nothing translates.
 */
export type MessageParams = Record<string, string | number | boolean | undefined>;

export class IntercomError extends Error {
  override readonly name = 'IntercomError';
  constructor(
    readonly code: string,
    readonly params: MessageParams = {},
    options?: { cause?: unknown },
  ) {
    super(formatCode(code, params), options);
  }
}

/** `code (key=value, …)`: an untranslated rendering of a code and its values. */
export function formatCode(code: string, params: MessageParams = {}): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  return parts.length ? `${code} (${parts.join(', ')})` : code;
}

/** The text of anything thrown: an Error's message, or the value itself. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function isIntercomError(err: unknown): err is IntercomError {
  return err instanceof IntercomError;
}
