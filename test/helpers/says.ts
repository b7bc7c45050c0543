/**
 * A core code with its values (an open result's `error`, a thrown IntercomError) as a user
 * reads it in en-US, from the real locale files: tests of the core keep checking the words.
 */
import { translate } from './i18n';

export function says(p: { code: string; params?: Record<string, unknown> } | undefined): string | undefined {
  return p === undefined ? undefined : translate(`intercom.errors.${p.code}`, p.params ?? {});
}

/** What a promise that must fail rejected with (a test fails if it resolves instead). */
export async function rejection(p: Promise<unknown>): Promise<{ code: string; params?: Record<string, unknown> }> {
  let value: unknown;
  try {
    value = await p;
  } catch (err) {
    return err as { code: string; params?: Record<string, unknown> };
  }
  throw new Error(`expected a rejection, got ${String(value)}`);
}
