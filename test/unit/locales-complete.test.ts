/**
 * Every language is complete: what Node-RED would otherwise fill in from en-US ("dialogs
 * mix languages") fails here, naming the file and the key. scripts/locale-check.js does the
 * checking (`node scripts/locale-check.js` prints the same list); this proves it on the real
 * locales, proves it bites on broken copies, and checks that the catalogs resolve in the
 * i18next Node-RED itself runs (plurals by Intl.PluralRules, __placeholders__).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
const { check, stamp, pluralForms, STAMPS } = require('../../scripts/locale-check');
const { catalog, languages, localesDir, types } = require('../../scripts/locales');

interface Problem {
  lang: string;
  file: string;
  key: string;
  problem: string;
}
const line = (p: Problem): string => `${p.file}${p.key ? ` ${p.key}` : ''}: ${p.problem}`;
const root = path.resolve(__dirname, '../..');

describe('translations', () => {
  test('the languages are en-US, de and ru', () => {
    expect(languages()).toEqual(['de', 'en-US', 'ru']);
  });

  test('every file, key, plural form and help page of en-US is translated in every language', () => {
    expect((check() as Problem[]).map(line)).toEqual([]);
  });

  test('every key a dialog or editor label uses (nodes/*.html) is in every language', () => {
    const missing: string[] = [];
    for (const f of readdirSync(path.join(root, 'nodes')).filter((x) => x.endsWith('.html'))) {
      const html = readFileSync(path.join(root, 'nodes', f), 'utf8');
      const keys = new Set<string>();
      for (const m of html.matchAll(/data-i18n="([^"]+)"/g)) for (const part of m[1].split(';')) keys.add(part.replace(/^\[[^\]]+\]/, '').trim());
      for (const m of html.matchAll(/\b_\(\s*'([^']+)'/g)) keys.add(m[1]);
      for (const m of html.matchAll(/\b_\(\s*[^)]*\?\s*'([^']+)'\s*:\s*'([^']+)'/g)) keys.add(m[1]).add(m[2]);
      const type = f.slice(0, -5);
      for (const lang of languages() as string[]) {
        const c = catalog(lang, type);
        for (const key of [...keys].filter((k) => k.startsWith('intercom'))) {
          let v: any = c;
          // 'intercom-sip-call.action.' + this.action: a key built in code needs its group of texts
          const built = key.endsWith('.');
          for (const p of (built ? key.slice(0, -1) : key).split('.')) v = v?.[p] ?? v?.[`${p}_other`];
          const ok = built ? v !== null && typeof v === 'object' && Object.values(v).length > 0 && Object.values(v).every((t) => typeof t === 'string') : typeof v === 'string';
          if (!ok) missing.push(`${lang}: nodes/${f} uses ${key}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  test("a schedule error names a weekday as the time window's dialog labels its field, in every language", () => {
    const differ: string[] = [];
    for (const lang of languages() as string[]) {
      const c = catalog(lang, 'intercom-time-window');
      const labels = c['intercom-time-window'].label as Record<string, string>;
      for (const d of ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) {
        const label = labels[d];
        const shared = c.intercom.access.weekday[d];
        if (shared !== label) differ.push(`${lang}: intercom.access.weekday.${d} is ${JSON.stringify(shared)}, the dialog's label ${JSON.stringify(label)}`);
      }
    }
    expect(differ).toEqual([]);
  });

  test("the plural forms are the ones Intl.PluralRules has for the language", () => {
    expect(pluralForms('de')).toEqual(['one', 'other']);
    expect([...pluralForms('ru')].sort()).toEqual(['few', 'many', 'one', 'other']);
  });

  describe("in the i18next Node-RED's runtime loads", () => {
    // The same library and options as @node-red/util/lib/i18n.js.
    const i18next = require(require.resolve('i18next', { paths: [path.dirname(require.resolve('@node-red/util/package.json', { paths: [root] }))] }));
    const make = async (lang: string) => {
      const inst = i18next.createInstance();
      const resources: Record<string, Record<string, unknown>> = {};
      for (const l of [lang, 'en-US']) {
        resources[l] = {};
        for (const type of types(l) as string[]) resources[l][type] = catalog(l, type);
      }
      await inst.init({ showSupportNotice: false, lng: lang, fallbackLng: 'en-US', resources, keySeparator: '.', nsSeparator: ':', interpolation: { escapeValue: false, prefix: '__', suffix: '__' } });
      return inst;
    };

    test.each([
      [1, '1 событие'],
      [2, '2 события'],
      [5, '5 событий'],
      [11, '11 событий'],
      [21, '21 событие'],
      [22, '22 события'],
    ])('ru: %i events reads "%s"', async (count, text) => {
      const t = await make('ru');
      expect(t.t('intercom-journal:intercom-journal.status.events', { count })).toBe(text);
    });

    test('de: plurals, placeholders and a shared text through a node catalog', async () => {
      const t = await make('de');
      expect(t.t('intercom-journal:intercom-journal.status.events', { count: 1 })).toBe('1 Ereignis');
      expect(t.t('intercom-journal:intercom-journal.status.events', { count: 3 })).toBe('3 Ereignisse');
      expect(t.t('intercom-door:intercom.errors.setting.number', { field: 'Zeitlimit', min: 1, max: 60, value: 'x' })).toBe('Zeitlimit muss eine Zahl von 1 bis 60 sein, nicht "x"');
    });
  });

  describe('the check bites', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'locales-probe-'));
      cpSync(localesDir, dir, { recursive: true });
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const edit = (file: string, change: (j: any) => void): void => {
      const f = path.join(dir, file);
      const j = JSON.parse(readFileSync(f, 'utf8'));
      change(j);
      writeFileSync(f, JSON.stringify(j, null, 2));
    };
    const editText = (file: string, change: (s: string) => string): void => {
      const f = path.join(dir, file);
      writeFileSync(f, change(readFileSync(f, 'utf8')));
    };
    const problems = (): string[] => (check({ dir }) as Problem[]).map(line).sort();

    test('a key added to en-US and not translated is named in each language', () => {
      edit('en-US/intercom-door.json', (j) => (j['intercom-door'].label.newField = 'New field'));
      edit('en-US/common/door.json', (j) => (j.intercom.errors.door.newCode = 'door says __what__'));
      expect(problems()).toEqual([
        'de/intercom-door.json intercom-door.label.newField: missing',
        'de/common/door.json intercom.errors.door.newCode: missing',
        'ru/intercom-door.json intercom-door.label.newField: missing',
        'ru/common/door.json intercom.errors.door.newCode: missing',
      ].sort());
    });

    test('a new area of the core (common/<area>.json) and a new node need their files', () => {
      // an area no language has yet (sip, media, calls were such areas once)
      writeFileSync(path.join(dir, 'en-US/common/probe.json'), JSON.stringify({ intercom: { errors: { probe: { busy: 'busy' } } } }));
      writeFileSync(path.join(dir, 'en-US/intercom-new.json'), JSON.stringify({ 'intercom-new': { label: { name: 'Name' } } }));
      writeFileSync(path.join(dir, 'en-US/intercom-new.html'), '<script type="text/html" data-help-name="intercom-new"><p>New.</p></script>');
      expect(problems()).toEqual([
        'de/common/probe.json: missing (en-US has en-US/common/probe.json)',
        'de/intercom-new.json: missing (en-US has en-US/intercom-new.json)',
        'de/intercom-new.html: help page missing (en-US has en-US/intercom-new.html)',
        'ru/common/probe.json: missing (en-US has en-US/common/probe.json)',
        'ru/intercom-new.json: missing (en-US has en-US/intercom-new.json)',
        'ru/intercom-new.html: help page missing (en-US has en-US/intercom-new.html)',
      ].sort());
    });

    test('a key only in a translation, a changed placeholder and an empty text', () => {
      edit('de/intercom-snapshot.json', (j) => {
        j['intercom-snapshot'].label.stray = 'Streuner';
        j['intercom-snapshot'].status.failed = 'fehlgeschlagen: __warum__';
        j['intercom-snapshot'].label.door = ' ';
      });
      edit('ru/intercom-notify.json', (j) => (j['intercom-notify'].text.message = '{звонящий} звонит'));
      expect(problems()).toEqual([
        'de/intercom-snapshot.json intercom-snapshot.label.door: empty (Node-RED would show the en-US text)',
        'de/intercom-snapshot.json intercom-snapshot.status.failed: placeholders __warum__, en-US has __why__',
        'de/intercom-snapshot.json intercom-snapshot.label.stray: not in en-US',
        'ru/intercom-notify.json intercom-notify.text.message: placeholders (none), en-US has {caller}',
      ].sort());
    });

    test('a Russian plural without the form Intl.PluralRules needs, a German one with a form German has not', () => {
      edit('ru/intercom-journal.json', (j) => delete j['intercom-journal'].status.events_few);
      edit('ru/intercom-whitelist.json', (j) => (j['intercom-whitelist'].status.rules_many = '__count__ правил'));
      edit('de/intercom-journal.json', (j) => (j['intercom-journal'].status.events_few = '__count__ Ereignisse'));
      edit('en-US/intercom-notify.json', (j) => {
        j['intercom-notify'].last.tries_one = '__count__ try';
        j['intercom-notify'].last.tries_other = '__count__ tries';
      });
      edit('de/intercom-notify.json', (j) => (j['intercom-notify'].last.tries = '__count__ Versuche'));
      expect(problems()).toEqual([
        'de/intercom-journal.json intercom-journal.status.events_few: "few" is not a plural form of de (one, other)',
        'de/intercom-notify.json intercom-notify.last.tries: is a plural in en-US (intercom-notify.last.tries_one, intercom-notify.last.tries_other)',
        'ru/intercom-journal.json intercom-journal.status.events_few: missing: Intl.PluralRules(\'ru\') needs the "few" form',
        'ru/intercom-notify.json intercom-notify.last.tries: missing (plural: intercom-notify.last.tries_few, intercom-notify.last.tries_many, intercom-notify.last.tries_one, intercom-notify.last.tries_other)',
        'ru/intercom-whitelist.json intercom-whitelist.status.rules_many: placeholders __count__, en-US has __count__ __origin__',
      ].sort());
    });

    test('an English text copied into a translation is not a translation', () => {
      edit('en-US/intercom-door.json', (j) => (j['intercom-door'].label.newField = 'New field'));
      edit('de/intercom-door.json', (j) => (j['intercom-door'].label.newField = 'New field'));
      edit('ru/intercom-door.json', (j) => (j['intercom-door'].label.newField = 'Новое поле'));
      expect(problems()).toEqual(['de/intercom-door.json intercom-door.label.newField: same as en-US ("New field"): not translated?']);
    });

    test('a help page with other markup, changed code or English text', () => {
      editText('de/intercom-dtmf.html', (s) => s.replace('data-help-name="intercom-dtmf"', 'data-help-name="intercom-dtmf2"'));
      editText('ru/intercom-snapshot.html', (s) => s.replace('<code>catch</code>', '<code>ловушка</code>').replace('<dt class="optional">filename', '<dt>filename'));
      cpSync(path.join(dir, 'en-US/intercom-sip-in.html'), path.join(dir, 'de/intercom-sip-in.html'));
      unlinkSync(path.join(dir, 'ru/intercom-journal.html'));
      expect(problems()).toEqual([
        'de/intercom-dtmf.html: markup differs from en-US at block 1: en-US <script data-help-name="intercom-dtmf" type="text/html">, here <script data-help-name="intercom-dtmf2" type="text/html">',
        'de/intercom-sip-in.html: same text as en-US: not translated?',
        'ru/intercom-journal.html: help page missing (en-US has en-US/intercom-journal.html)',
        'ru/intercom-snapshot.html: markup differs from en-US at block 23: en-US <dt class="optional">, here <dt>',
        'ru/intercom-snapshot.html: code/literal text: missing <code>catch',
        'ru/intercom-snapshot.html: code/literal text: extra <code>ловушка',
      ].sort());
    });

    test('a translation whose en-US text changed since it was made is stale until retranslated or restamped', () => {
      for (const lang of ['de', 'ru']) stamp(lang, [], dir);
      expect(problems()).toEqual([]);
      edit('en-US/intercom-door.json', (j) => (j['intercom-door'].label.panel = 'Panel extension'));
      editText('en-US/intercom-dtmf.html', (s) => s.replace('Turns key presses', 'Turns every key press'));
      const stale = problems();
      expect(stale).toEqual([
        'de/intercom-door.json intercom-door.label.panel: en-US text changed since it was translated: now "Panel extension"',
        'de/intercom-dtmf.html: en-US help page changed since it was translated',
        'ru/intercom-door.json intercom-door.label.panel: en-US text changed since it was translated: now "Panel extension"',
        'ru/intercom-dtmf.html: en-US help page changed since it was translated',
      ].sort());
      // a plain --stamp does not hide what is stale; retranslating or naming it does
      stamp('de', [], dir);
      expect(problems()).toEqual(stale);
      edit('de/intercom-door.json', (j) => (j['intercom-door'].label.panel = 'Nebenstelle'));
      stamp('de', ['intercom-dtmf.html'], dir);
      stamp('ru', ['intercom-door.json:intercom-door.label.panel'], dir);
      expect(problems()).toEqual(['ru/intercom-dtmf.html: en-US help page changed since it was translated']);
      expect(JSON.parse(readFileSync(path.join(dir, 'ru', STAMPS), 'utf8'))['intercom-door.json']['intercom-door.label.panel']).toMatch(/^[0-9a-f]{8} [0-9a-f]{8}$/);
    });
  });
});
