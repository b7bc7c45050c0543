/**
 * The one logger type of the core. Like errors, log lines are codes with values
 * (`intercom.log.<code>` in locales/<lang>/common/<area>.json); the node that owns the core
 * object turns them into translated lines on its own log (nodes/shared/i18n.ts).
 */
import type { MessageParams } from './errors';

export interface Logger {
  debug(code: string, params?: MessageParams): void;
  info(code: string, params?: MessageParams): void;
  warn(code: string, params?: MessageParams): void;
  error(code: string, params?: MessageParams): void;
}

const nothing = (): void => undefined;
export const silentLogger: Logger = { debug: nothing, info: nothing, warn: nothing, error: nothing };
