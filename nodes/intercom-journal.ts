/**
 * intercom-journal: appends every message it receives as one event line of an
 * append-only JSON Lines journal, and passes the message on only once the line is on disk.
 */
import * as path from 'node:path';
import { Journal } from './lib/journal/journal';
import { onClose, onInput } from './shared/lifecycle';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';
import { eventFromMessage } from './shared/journal-event';

interface JournalDef extends NodeDef {
  file?: string;
  note?: string;
}

export = function (RED: RED): void {
  function IntercomJournalNode(this: Node, def: JournalDef): void {
    RED.nodes.createNode(this, def);
    const userDir = RED.settings.userDir ?? process.cwd();
    const configured = (def.file ?? '').trim() || 'intercom-journal.jsonl';
    const file = path.isAbsolute(configured) ? configured : path.join(userDir, configured);
    const journal = new Journal({ file });
    let count = 0;
    this.status({ fill: 'grey', shape: 'ring', text: path.basename(file) });

    onInput(this, async (msg: NodeMessage, send) => {
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

    onClose(this, () => journal.close());
  }
  RED.nodes.registerType('intercom-journal', IntercomJournalNode);
};
