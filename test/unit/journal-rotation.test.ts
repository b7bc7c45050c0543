import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { toCsv } from '../../nodes/lib/journal/csv';
import { queryJournal, queryRequest, readJournal } from '../../nodes/lib/journal/query';
import { repairTail } from '../../nodes/lib/journal/repair';
import { Journal } from '../../nodes/lib/journal/writer';

describe('journal rotation, repair, query and CSV', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'journal-rot-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('rotates by size, keeps N old files, and a query reads across them in order', async () => {
    let t = Date.parse('2026-06-01T00:00:00Z');
    const file = path.join(dir, 'events.jsonl');
    const j = new Journal({ file, maxBytes: 400, keep: 2, now: () => new Date((t += 1000)) });
    for (let i = 0; i < 30; i++) await j.append({ event: 'ring', caller: String(200 + i), door: i % 2 ? 'front' : 'gate' });
    await j.close();
    const names = readdirSync(dir).sort();
    expect(names).toHaveLength(3); // current + 2 kept
    for (const n of names) expect(readFileSync(path.join(dir, n)).length).toBeLessThanOrEqual(400);
    const all = await queryJournal(file, { limit: 1000 });
    const callers = all.map((e) => Number(e.caller));
    expect(callers).toEqual([...callers].sort((a, b) => a - b)); // oldest first, no gaps inside the kept span
    expect(callers[callers.length - 1]).toBe(229);
    expect(callers[callers.length - 1] - callers[0] + 1).toBe(callers.length);
  });

  test('rotates by age of the first event', async () => {
    let t = Date.parse('2026-06-01T00:00:00Z');
    const file = path.join(dir, 'events.jsonl');
    const j = new Journal({ file, maxAgeMs: 86_400_000, now: () => new Date(t) });
    await j.append({ event: 'a' });
    t += 86_399_000;
    await j.append({ event: 'b' });
    t += 2000;
    await j.append({ event: 'c' });
    await j.close();
    expect(readdirSync(dir)).toHaveLength(2);
    expect((await readJournal(file)).map((e) => e.event)).toEqual(['c']);
  });

  test('a torn tail from a crash is cut before the next append', async () => {
    const file = path.join(dir, 'events.jsonl');
    writeFileSync(file, '{"time":"2026-06-01T00:00:00.000Z","event":"ok"}\n{"time":"2026-06-01T00:0');
    const j = new Journal({ file });
    await j.append({ event: 'after' });
    await j.close();
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(lines.map((l) => JSON.parse(l).event)).toEqual(['ok', 'after']);
    appendFileSync(file, 'garbage without newline');
    expect(await repairTail(file)).toBe('garbage without newline'.length);
    expect(await repairTail(file)).toBe(0);
  });

  test('query by time range, door, caller (any spelling) and result; limit keeps the newest', async () => {
    const file = path.join(dir, 'events.jsonl');
    const j = new Journal({ file });
    await j.append({ time: '2026-06-01T08:00:00.000Z', event: 'ring', door: 'gate', caller: '84951234567', result: 'allowed' });
    await j.append({ time: '2026-06-01T09:00:00.000Z', event: 'ring', door: 'front', caller: '+7 495 123-45-67', result: 'denied' });
    await j.append({ time: '2026-06-01T10:00:00.000Z', event: 'open', door: 'gate', caller: '200', result: 'ok' });
    await j.close();
    const q = (x: object) => queryJournal(file, x).then((es) => es.map((e) => e.time.slice(11, 13)));
    expect(await q({ from: '2026-06-01T08:30:00Z', to: '2026-06-01T10:00:00Z' })).toEqual(['09']);
    expect(await q({ door: 'gate' })).toEqual(['08', '10']);
    expect(await q({ caller: '+74951234567' })).toEqual(['08', '09']);
    expect(await q({ caller: '200' })).toEqual(['10']);
    expect(await q({ result: 'denied' })).toEqual(['09']);
    expect(await q({ limit: 1 })).toEqual(['10']);
    await expect(queryJournal(file, { from: 'yesterday-ish' })).rejects.toMatchObject({ code: 'journal.notATime', params: { what: 'from' } });
  });

  test('CSV: RFC 4180 quoting, formula cells defused, numbers kept', () => {
    const csv = toCsv([
      { time: 't', event: 'ring', caller: '+74951234567', note: 'said "hi", left' },
      { time: 't', event: 'ring', caller: '=HYPERLINK("x")', note: '+cmd|calc' },
    ]);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('time,event,door,caller,source,result,reason,user,callId,note');
    expect(lines[1]).toBe('t,ring,,+74951234567,,,,,,"said ""hi"", left"');
    expect(lines[2]).toBe(`t,ring,,"'=HYPERLINK(""x"")",,,,,,'+cmd|calc`);
  });

  test('a burst of concurrent appends is written in order, each acknowledged, with rotation inside the burst', async () => {
    const file = path.join(dir, 'burst.jsonl');
    const j = new Journal({ file, maxBytes: 2000 });
    const acks = await Promise.all(Array.from({ length: 300 }, (_, i) => j.append({ event: 'ring', callId: `c${i}` })));
    expect(acks.map((e) => e.callId)).toEqual(Array.from({ length: 300 }, (_, i) => `c${i}`));
    // Appends after the burst (writer idle again) still go through.
    await j.append({ event: 'late' });
    await j.close();
    const all = await queryJournal(file, { limit: 1000 });
    expect(all.map((e) => e.callId ?? e.event)).toEqual([...acks.map((e) => e.callId), 'late']);
    expect(readdirSync(dir).length).toBeGreaterThan(5);
  });

  test('a query as a flow sends it: filters from msg.payload, the format from msg.format or payload.format', () => {
    expect(queryRequest({ door: 'gate', caller: 200, from: 5, limit: 3, junk: {} }, undefined)).toEqual({
      query: { from: 5, to: undefined, door: 'gate', caller: '200', result: undefined, event: undefined, limit: 3 },
      csv: false,
    });
    expect(queryRequest({ format: 'CSV' }, undefined).csv).toBe(true);
    expect(queryRequest('not an object', 'csv')).toMatchObject({ csv: true, query: { door: undefined } });
    expect(() => queryRequest({}, 'xml')).toThrow(expect.objectContaining({ code: 'journal.format', params: { format: 'xml' } }));
  });
});
