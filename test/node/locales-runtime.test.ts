/**
 * The runtime speaks the runtime's language: nodes deployed with a broken configuration
 * (as a user would leave a dialog) in a Node-RED whose language is de or ru show their
 * status and errors in that language, field names as that language's dialog labels them,
 * plurals in that language's forms. A key the language lacks fails the test (the node
 * tier's RED._, test/helpers/i18n.ts, does not fall back to en-US).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { getNode, helper, nextMessage, type TestNode } from '../helpers/node-red';
import { useLanguage } from '../helpers/i18n';
import { delay, waitFor } from '../helpers/wait';
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import dtmfNode = require('../../nodes/intercom-dtmf');
import journalNode = require('../../nodes/intercom-journal');
import sipInNode = require('../../nodes/intercom-sip-in');
import timeWindowNode = require('../../nodes/intercom-time-window');
import whitelistNode = require('../../nodes/intercom-whitelist');

const nodes = [doorNode, doorOpenNode, dtmfNode, journalNode, sipInNode, timeWindowNode, whitelistNode];

/** Status texts and errors a node produced so far (the helper spies on every node's methods). */
function said(n: TestNode): { status: string[]; error: string[] } {
  const of = (m: 'status' | 'error'): any[] => (n[m] as { getCalls(): Array<{ thisValue: unknown; args: any[] }> }).getCalls().filter((c) => c.thisValue === n).map((c) => c.args[0]);
  return { status: of('status').map((s) => String(s.text)), error: of('error').map(String) };
}

/** A flow a user might deploy with mistakes in its dialogs, plus one healthy journal. */
function brokenFlow(dir: string): Record<string, unknown>[] {
  return [
    { id: 'door', type: 'intercom-door', name: 'Gate', openKind: 'preset', preset: 'shelly-gen1', host: 'htp:/bad url' },
    { id: 'open', type: 'intercom-door-open', door: 'door', wires: [['out']] },
    { id: 'open0', type: 'intercom-door-open', door: '' },
    { id: 'j-bad', type: 'intercom-journal', file: path.join(dir, 'bad.jsonl'), maxSizeMB: 'ten' },
    { id: 'j', type: 'intercom-journal', file: path.join(dir, 'ok.jsonl'), wires: [['out']] },
    { id: 'tw', type: 'intercom-time-window', timezone: 'Europe/Moscow', mon: '9-18', tue: '', wed: '', thu: '', fri: '', sat: '', sun: '' },
    { id: 'wl', type: 'intercom-whitelist', mode: 'caller', rules: '+7495*\nbanana' },
    { id: 'wl-ok', type: 'intercom-whitelist', mode: 'caller', rules: '+7495*\n+7812*\n84951234567\n+7 903 111-22-33\n101' },
    { id: 'sip', type: 'intercom-sip-in', account: '' },
    { id: 'dtmf-bad', type: 'intercom-dtmf', mode: 'sequence', terminator: '**' },
    { id: 'pin', type: 'intercom-dtmf', mode: 'sequence', length: '5', terminator: '#', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];
}

const cases = [
  {
    lang: 'de',
    doorOpen: [/^Tür nicht nutzbar: Geräte-URL muss eine URL sein \(http:\/\/, https:\/\/\.\.\.\), nicht "htp:\/bad url"$/],
    noDoor: 'keine Tür eingerichtet',
    journalError: 'Protokoll nicht gestartet: Rotieren ab Größe (MB) muss eine Zahl von 0 bis 1000000 sein, nicht "ten"',
    journalStatus: 'Rotieren ab Größe (MB) muss eine Zahl von 0 bis 1000000 sein, nicht "ten"',
    events: ['1 Ereignis', '2 Ereignisse', '3 Ereignisse', '4 Ereignisse', '5 Ereignisse'],
    scheduleStatus: 'Montag: ungültiger Zeitbereich "9-18" (erwartet HH:MM-HH:MM)',
    scheduleError: /^Zeitplan ungültig, jede Nachricht geht an den Ausgang außerhalb des Zeitfensters: Montag: ungültiger Zeitbereich "9-18" \(erwartet HH:MM-HH:MM\)$/,
    rulesStatus: /^Regeln abgewiesen$/,
    rulesError: /^Regeln abgewiesen: Zeile 2: "banana" ist keine Rufnummer; jeder Anruf wird abgewiesen$/,
    rulesOk: '5 Regeln (Editor)',
    sipIn: { status: ['kein SIP-Konto'], error: ['intercom-sip-in braucht ein SIP-Konto (intercom-sip-account)'] },
    dtmfBad: { status: ['Endetaste muss eine einzelne DTMF-Taste sein (0-9 * # A-D), nicht "**"'], error: ['Endetaste muss eine einzelne DTMF-Taste sein (0-9 * # A-D), nicht "**"'] },
    digits: ['wartet', '1 Ziffer (Endetaste)', '2 Ziffern (Endetaste)', '5 Ziffern (Länge)'],
    notKey: 'keine DTMF-Taste: "x" (0-9, *, #, A-D)',
  },
  {
    lang: 'ru',
    doorOpen: [/^дверь недоступна: URL устройства: нужен URL \(http:\/\/, https:\/\/\.\.\.\), получено «htp:\/bad url»$/],
    noDoor: 'дверь не настроена',
    journalError: 'журнал не запущен: Ротация по размеру (МБ): нужно число от 0 до 1000000, получено «ten»',
    journalStatus: 'Ротация по размеру (МБ): нужно число от 0 до 1000000, получено «ten»',
    events: ['1 событие', '2 события', '3 события', '4 события', '5 событий'],
    scheduleStatus: 'Понедельник: неверный интервал «9-18» (нужно ЧЧ:ММ-ЧЧ:ММ)',
    scheduleError: /^расписание некорректно, все сообщения уходят на выход «вне расписания»: Понедельник: неверный интервал «9-18» \(нужно ЧЧ:ММ-ЧЧ:ММ\)$/,
    rulesStatus: /^правила отклонены$/,
    rulesError: /^правила отклонены: строка 2: «banana» — не номер; все вызовы отклоняются$/,
    rulesOk: '5 правил (из редактора)',
    sipIn: { status: ['нет учётной записи SIP'], error: ['для intercom-sip-in нужна учётная запись SIP (intercom-sip-account)'] },
    dtmfBad: { status: ['Клавиша конца: нужна одна клавиша DTMF (0-9 * # A-D), получено «**»'], error: ['Клавиша конца: нужна одна клавиша DTMF (0-9 * # A-D), получено «**»'] },
    digits: ['ожидание', '1 цифра (клавиша конца)', '2 цифры (клавиша конца)', '5 цифр (длина)'],
    notKey: 'не клавиша DTMF: "x" (0-9, *, #, A-D)',
  },
];

describe.each(cases)('a Node-RED running in $lang', (c) => {
  let dir: string;
  let before: string;
  beforeEach((done) => {
    before = useLanguage(c.lang);
    dir = mkdtempSync(path.join(tmpdir(), `locales-${c.lang}-`));
    helper.startServer(done);
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    rmSync(dir, { recursive: true, force: true });
    useLanguage(before);
  });

  test('a broken config shows red, in full and in the language, naming the field as the dialog does', async () => {
    await helper.load(nodes, brokenFlow(dir));
    // Statuses and errors set while the flow starts arrive later (the whitelist reads its saved
    // list, the journal its file first): wait for every one, then a moment for any second one.
    const shown = { status: ['open', 'open0', 'j-bad', 'tw', 'wl', 'wl-ok', 'sip', 'dtmf-bad'], error: ['j-bad', 'tw', 'wl', 'sip', 'dtmf-bad'] } as const;
    await waitFor(() => shown.status.every((id) => said(getNode(id)).status.length > 0) && shown.error.every((id) => said(getNode(id)).error.length > 0), "every node's status and error", 5000);
    await delay(50);

    expect(said(getNode('open')).status).toEqual([expect.stringMatching(c.doorOpen[0])]);
    expect(said(getNode('open0')).status).toEqual([c.noDoor]);
    expect(said(getNode('j-bad'))).toEqual({ status: [c.journalStatus], error: [c.journalError] });
    const tw = said(getNode('tw'));
    expect(tw.status).toEqual([c.scheduleStatus]);
    expect(tw.error).toEqual([expect.stringMatching(c.scheduleError)]);
    const wl = said(getNode('wl'));
    expect(wl.status).toEqual([expect.stringMatching(c.rulesStatus)]);
    expect(wl.error).toEqual([expect.stringMatching(c.rulesError)]);
    expect(said(getNode('wl-ok')).status).toEqual([c.rulesOk]);
    expect(said(getNode('sip'))).toEqual(c.sipIn);
    expect(said(getNode('dtmf-bad'))).toEqual(c.dtmfBad);
  });

  test("collected DTMF digits show their count in the language's plural forms and why the sequence ended", async () => {
    await helper.load(nodes, brokenFlow(dir));
    const pin = getNode('pin');
    const press = async (keys: string): Promise<void> => {
      const got = nextMessage(getNode('out'));
      for (const k of keys) pin.receive({ topic: 'dtmf', payload: k, call: { id: 'c1' } });
      await got;
    };
    await press('1#');
    await press('12#');
    await press('12345');
    // waiting, then per result its count and reason; between them dots for the keys so far, never the keys
    expect(said(pin).status.filter((t) => !/^•+$/.test(t))).toEqual(c.digits);
    pin.receive({ topic: 'dtmf', payload: 'x', call: { id: 'c1' } });
    await waitFor(() => said(pin).error.length > 0, 'the error for a non-key', 5000);
    expect(said(pin).error).toEqual([`Error: ${c.notKey}`]); // done(err): Node-RED shows the Error
  });

  test("an open of the broken door fails with the language's outcome and reason; counts take its plural forms", async () => {
    await helper.load(nodes, brokenFlow(dir));
    const out = getNode('out');
    const got = nextMessage(out);
    getNode('open').receive({ payload: 'go' });
    const msg = await got;
    expect(msg.payload).toBe('failed');
    expect(msg.door.error).toMatch(c.doorOpen[0]);

    const j = getNode('j');
    for (let i = 0; i < 5; i++) {
      const next = nextMessage(out);
      j.receive({ topic: 'ring', payload: i });
      await next;
    }
    expect(said(j).status.slice(-5)).toEqual(c.events);
  });
});
