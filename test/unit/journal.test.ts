import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { redact } from '../../nodes/lib/journal/event';
import { readJournal } from '../../nodes/lib/journal/query';
import { Journal } from '../../nodes/lib/journal/writer';

describe('journal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'journal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('appends one JSON line per event in order, with the time', async () => {
    const file = path.join(dir, 'j.jsonl');
    const j = new Journal({ file, now: () => new Date('2026-01-02T03:04:05Z') });
    await Promise.all([j.append({ event: 'ring', caller: '200' }), j.append({ event: 'open', door: 'front' })]);
    await j.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0])).toEqual({ time: '2026-01-02T03:04:05.000Z', event: 'ring', caller: '200' });
    expect(JSON.parse(lines[1]).door).toBe('front');
  });

  test('never writes secrets', async () => {
    const file = path.join(dir, 'j.jsonl');
    const j = new Journal({ file });
    await j.append({ event: 'pin', pin: '1234', extra: { password: 'hunter2', ok: 1 } });
    await j.close();
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('1234');
    expect(text).not.toContain('hunter2');
    expect(redact({ token: 'x', nested: [{ authToken: 'y' }] })).toEqual({ token: '[redacted]', nested: [{ authToken: '[redacted]' }] });
  });

  test('a torn last line is skipped when reading back', async () => {
    const file = path.join(dir, 'j.jsonl');
    const j = new Journal({ file });
    await j.append({ event: 'ring' });
    await j.close();
    require('node:fs').appendFileSync(file, '{"time":"2026');
    const events = await readJournal(file);
    expect(events.map((e) => e.event)).toEqual(['ring']);
  });

  test('rejects appends after close', async () => {
    const j = new Journal({ file: path.join(dir, 'j.jsonl') });
    await j.close();
    await expect(j.append({ event: 'late' })).rejects.toMatchObject({ code: 'journal.closed' });
  });
});
