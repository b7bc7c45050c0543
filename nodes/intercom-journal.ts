/**
 * intercom-journal: appends every message it receives as one event line of an
 * append-only JSON Lines journal, and passes the message on only once the line is on disk.
 * A message with topic "query" is not journaled: it is answered with the matching events
 * (or CSV) on the same output.
 */
import * as path from 'node:path';
import { numberSetting } from './lib/core/settings';
import { JOURNAL_NUMBERS } from './lib/journal/journal-form';
import { toCsv } from './lib/journal/csv';
import { queryRequest } from './lib/journal/query';
import { Journal } from './lib/journal/writer';
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
        maxBytes: Math.round(numberSetting(def.maxSizeMB, { field: 'maxSizeMB', ...JOURNAL_NUMBERS.maxSizeMB }) * 1024 * 1024),
        maxAgeMs: Math.round(numberSetting(def.maxAgeDays, { field: 'maxAgeDays', ...JOURNAL_NUMBERS.maxAgeDays }) * 86_400_000),
        keep: numberSetting(def.keep, { field: 'keep', ...JOURNAL_NUMBERS.keep }),
      });
      this.status({ fill: 'grey', shape: 'ring', text: path.basename(file) });
    } catch (err) {
      const problem = T.describe(err);
      this.error(T.t('errors.notStarted', { error: problem }));
      this.status(T.status('red', 'dot', 'badConfig', { problem }));
    }
    let count = 0;
    // Events refused since the last good write; with a full disk a probe watches the free
    // space, so the status clears as soon as there is room, not only at the next event.
    let failures = 0;
    let probe: NodeJS.Timeout | undefined;
    const stopProbe = (): void => {
      if (probe) clearInterval(probe);
      probe = undefined;
    };
    const failed = (err: unknown): void => {
      failures++;
      const full = (err as { code?: string }).code === 'journal.diskFull';
      this.status(full ? T.status('red', 'dot', 'diskFull', { count: failures }) : T.status('red', 'dot', 'failed', { count: failures }));
      if (!full || probe || !journal) return;
      const j = journal;
      probe = setInterval(() => {
        void j.hasRoom().then((room) => {
          if (!room || !probe) return;
          stopProbe();
          this.status(T.status('yellow', 'ring', 'roomAgain'));
        });
      }, 500);
      probe.unref();
    };

    onInput(this, T, async (msg: NodeMessage, send) => {
      if (!journal) throw new Error(T.t('errors.badConfig'));
      if (msg.topic === 'query') {
        const { query, csv } = queryRequest(msg.payload, msg.format);
        const events = await journal.query(query);
        msg.payload = csv ? toCsv(events) : events;
        msg.journal = { file, count: events.length };
        send(msg);
        return;
      }
      const event = eventFromMessage(msg, def.note);
      try {
        await journal.append(event);
      } catch (err) {
        failed(err);
        throw new Error(T.t('errors.writeFailed', { file, error: T.describe(err) }), { cause: err });
      }
      failures = 0;
      stopProbe();
      count++;
      this.status(T.status('green', 'dot', 'events', { count }));
      msg.journal = { file, event };
      send(msg);
    });

    onClose(this, T, () => {
      stopProbe();
      return journal?.close();
    });
  }
  RED.nodes.registerType('intercom-journal', IntercomJournalNode);
};
