/** A query's events as a spreadsheet reads them. */
import type { JournalEvent } from './event';

const CSV_COLUMNS = ['time', 'event', 'door', 'caller', 'source', 'result', 'reason', 'user', 'callId', 'note'];

/**
 * RFC 4180 CSV. A cell a spreadsheet would run as a formula (=, @, or +/- followed by
 * something that is not a number) gets a leading apostrophe (OWASP "CSV injection");
 * "+74951234567" stays as it is.
 */
export function toCsv(events: JournalEvent[], columns: string[] = CSV_COLUMNS): string {
  const cell = (v: unknown): string => {
    let s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (/^[=@\t\r]/.test(s) || /^[+-](?![\d\s().-]*$)/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [columns.join(',')];
  for (const e of events) lines.push(columns.map((c) => cell(e[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}
