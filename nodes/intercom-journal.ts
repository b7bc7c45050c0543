/**
 * intercom-journal: appends every message it receives as one event line of an
 * append-only JSON Lines journal, and passes the message on only once the line is on disk.
 * A message with topic "query" is not journaled: it is answered with the matching events
 * (or CSV) on the same output.
 */
import * as path from 'node:path';
import { Journal, toCsv, type JournalQuery } from './lib/journal/journal';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';
import { eventFromMessage } from './shared/journal-event';

interface JournalDef extends NodeDef {
  file?: string;
  note?: string;
  /** rotate above this size in MB (0 or empty = never) */
  maxSizeMB?: string | number;
  /** rotate when the file's first event is this many days old (0 or empty = never) */
  maxAgeDays?: string | number;
  /** rotated files to keep (0 or empty = all) */
  keep?: string | number;
}

function nonNegative(v: unknown, what: string): number {
  if (v === undefined || v === null || v === '') return 0;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${what} must be a number ≥ 0, not "${String(v)}"`);
  return n;
}

/** A query from msg.payload (object) with an optional msg.format / payload.format "csv". */
function readQuery(msg: NodeMessage): { q: JournalQuery; csv: boolean } {
  const p = msg.payload && typeof msg.payload === 'object' && !Array.isArray(msg.payload) ? (msg.payload as Record<string, unknown>) : {};
  const pick = (k: string): string | undefined => (typeof p[k] === 'string' || typeof p[k] === 'number' ? String(p[k]) : undefined);
  const num = (k: string): number | undefined => (typeof p[k] === 'number' ? (p[k] as number) : undefined);
  const format = String(msg.format ?? p.format ?? 'json').toLowerCase();
  if (format !== 'json' && format !== 'csv') throw new Error(`query: format must be "json" or "csv", not "${format}"`);
  return {
    q: {
      from: num('from') ?? pick('from'),
      to: num('to') ?? pick('to'),
      door: pick('door'),
      caller: pick('caller'),
      result: pick('result'),
      event: pick('event'),
      limit: num('limit'),
    },
    csv: format === 'csv',
  };
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-journal');
  function IntercomJournalNode(this: Node, def: JournalDef): void {
    RED.nodes.createNode(this, def);
    const userDir = RED.settings.userDir ?? process.cwd();
    const configured = (def.file ?? '').trim() || 'intercom-journal.jsonl';
    const file = path.isAbsolute(configured) ? configured : path.join(userDir, configured);
    let journal: Journal | null = null;
    try {
      journal = new Journal({
        file,
        maxBytes: Math.round(nonNegative(def.maxSizeMB, 'Rotate at size') * 1024 * 1024),
        maxAgeMs: Math.round(nonNegative(def.maxAgeDays, 'Rotate at age') * 86_400_000),
        keep: Math.floor(nonNegative(def.keep, 'Keep files')),
      });
      this.status({ fill: 'grey', shape: 'ring', text: path.basename(file) });
    } catch (err) {
      this.error(`journal not started: ${(err as Error).message}`);
      this.status({ fill: 'red', shape: 'dot', text: 'bad configuration' });
    }
    let count = 0;

    onInput(this, T, async (msg: NodeMessage, send) => {
      if (!journal) throw new Error('journal not started: bad configuration');
      if (msg.topic === 'query') {
        const { q, csv } = readQuery(msg);
        const events = await journal.query(q);
        msg.payload = csv ? toCsv(events) : events;
        msg.journal = { file, count: events.length };
        send(msg);
        return;
      }
      const event = eventFromMessage(msg, def.note);
      try {
        await journal.append(event);
      } catch (err) {
        this.status({ fill: 'red', shape: 'dot', text: 'write failed' });
        throw new Error(`journal write to ${file} failed: ${(err as Error).message}`);
      }
      count++;
      this.status({ fill: 'green', shape: 'dot', text: `${count} events` });
      msg.journal = { file, event };
      send(msg);
    });

    onClose(this, T, () => journal?.close());
  }
  RED.nodes.registerType('intercom-journal', IntercomJournalNode);
};
