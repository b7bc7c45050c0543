import { DEFAULT_PLAN } from '../../nodes/lib/access/number';
import { parseRuleSource, RuleSet, trustedList, type DecisionInput } from '../../nodes/lib/access/rules';
import { ListError } from '../../nodes/lib/access/problems';
import { texts } from '../../nodes/shared/i18n';
import { describeProblems } from '../../nodes/shared/problems';
import type { RED } from '../../nodes/shared/red';
import { translate } from '../helpers/i18n';

// Wednesday 2026-06-10 12:00 in Moscow (UTC+3, no DST) and 20:00 the same day.
const NOON = Date.UTC(2026, 5, 10, 9, 0);
const EVENING = Date.UTC(2026, 5, 10, 17, 0);

function rules(text: unknown, trusted = '') {
  return new RuleSet(parseRuleSource(text, DEFAULT_PLAN), DEFAULT_PLAN, 'Europe/Moscow', trustedList(trusted));
}
// What the user reads: the error through the real en-US catalog, as the node shows it.
const T = texts({ _: (k: string, p?: Record<string, unknown>) => translate(k, p) } as unknown as RED, 'intercom-whitelist');
function shown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return describeProblems(T, err);
  }
  return '(nothing thrown)';
}
const ask = (set: RuleSet, caller: unknown, extra: Partial<DecisionInput> = {}) => set.decide({ caller, now: NOON, ...extra });

describe('whitelist rules', () => {
  test('exact numbers match every spelling of the same number', () => {
    const set = rules('+7 495 123-45-67');
    expect(ask(set, '84951234567')).toMatchObject({ allowed: true, reason: 'listed', caller: '74951234567' });
    expect(ask(set, '0074951234567').allowed).toBe(true);
    expect(ask(set, '84951234568')).toMatchObject({ allowed: false, reason: 'not-listed' });
  });

  test('X patterns ignore punctuation and match any digit per X, nothing more', () => {
    const set = rules('495-XXX-XX-XX');
    expect(ask(set, '+7 495 987-65-43').allowed).toBe(true);
    expect(ask(set, '84959876543').allowed).toBe(true);
    expect(ask(set, '84999876543').allowed).toBe(false);
    expect(ask(set, '849598765431').allowed).toBe(false); // one digit too many
    expect(ask(set, '8495987654').allowed).toBe(false); // one too few
  });

  test('prefixes and regular expressions', () => {
    const set = rules('+7495*\n/^7812\\d{7}$/');
    expect(ask(set, '84951111111').allowed).toBe(true);
    expect(ask(set, '+7 812 111 22 33').allowed).toBe(true);
    expect(ask(set, '+7 813 111 22 33').allowed).toBe(false);
  });

  test('a deny rule wins over an allow rule wherever it stands', () => {
    const set = rules('495-XXX-XX-XX\ndeny +7 495 666-66-66');
    expect(ask(set, '84956666666')).toMatchObject({ allowed: false, reason: 'denied-by-rule' });
    expect(ask(set, '84956666667').allowed).toBe(true);
  });

  test('conditions: source CIDR, door and time window, each with its own reason', () => {
    const set = rules('495-XXX-XX-XX from=10.0.0.0/8 door=parking time="mon-fri 09:00-18:00"');
    const ok = { source: '10.1.2.3:5060', door: 'parking' };
    expect(ask(set, '84951234567', ok).allowed).toBe(true);
    expect(ask(set, '84951234567', { ...ok, source: '192.168.0.1:5060' }).reason).toBe('source-not-allowed');
    expect(ask(set, '84951234567', { ...ok, source: undefined }).reason).toBe('source-not-allowed');
    expect(ask(set, '84951234567', { ...ok, door: 'front' }).reason).toBe('door-not-allowed');
    expect(ask(set, '84951234567', { ...ok, now: EVENING }).reason).toBe('outside-time-window');
  });

  test('P-Asserted-Identity counts only from a trusted source', () => {
    const set = rules('+74951234567 asserted', '10.0.0.5');
    const headers = { 'P-Asserted-Identity': '"Boss" <sip:+74951234567@pbx>, <tel:+74951234567>' };
    // From the trusted PBX: the asserted identity is used, whatever the From says.
    expect(ask(set, '999', { headers, source: '10.0.0.5:5060' })).toMatchObject({ allowed: true, identity: 'asserted' });
    // The same header from anyone else is ignored and the rule wants an asserted identity.
    const spoof = ask(set, '84951234567', { headers, source: '10.0.0.6:5060' });
    expect(spoof).toMatchObject({ allowed: false, reason: 'identity-not-asserted', identity: 'from' });
    expect(spoof.note).toBe('untrusted-pai');
    // A From that claims the number without any PAI is not asserted either.
    expect(ask(set, '84951234567', { source: '10.0.0.5:5060' }).reason).toBe('identity-not-asserted');
  });

  test('fails closed: missing, malformed caller, empty list', () => {
    const set = rules('495-XXX-XX-XX');
    expect(ask(set, undefined)).toMatchObject({ allowed: false, reason: 'missing-caller' });
    expect(ask(set, 'anonymous')).toMatchObject({ allowed: false, reason: 'malformed-caller' });
    expect(ask(set, { user: 1 })).toMatchObject({ allowed: false, reason: 'malformed-caller' });
    expect(ask(rules(''), '84951234567')).toMatchObject({ allowed: false, reason: 'no-rules' });
  });

  test('JSON rules and errors that name the line or rule', () => {
    const set = rules([{ match: '495XXXXXXX', doors: ['gate'] }, { match: '+7812*', action: 'deny' }]);
    expect(ask(set, '84951234567', { door: 'GATE' }).allowed).toBe(true);
    expect(shown(() => rules('495-XXX\nfoo bar baz\n/(/'))).toMatch(/^line 2: .*line 3: bad regular expression/);
    expect(shown(() => rules('+7495* from=10.0.0.0/99'))).toMatch(/^line 1: bad prefix length/);
    expect(shown(() => rules('+7495* color=red'))).toMatch(/unknown option "color"/);
    expect(shown(() => rules('*'))).toMatch(/^line 1: .* is not a number prefix/);
    expect(shown(() => rules('+*'))).toMatch(/^line 1/);
    expect(shown(() => rules('{"rules": 3}'))).toMatch(/rule list/);
    expect(shown(() => rules('[{"match": "1", "action": "maybe"}]'))).toMatch(/^rule 1: unknown action/);
    expect(shown(() => rules('495 time="mon-fri 9-18"'))).toMatch(/^line 1: bad time range/);
    expect(shown(() => rules('{"rules": [{"match": "1"}'))).toMatch(/^rule list is not valid JSON/);
  });

  test('a refused list names every problem by its code and place, in line order', () => {
    let err: unknown;
    try {
      rules('bad one x=1\n+7495*\n/(/\nalso bad\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ListError);
    const problems = (err as ListError).problems.map((p) => [p.at, p.error.code]);
    expect(problems).toEqual([
      [{ line: 1 }, 'access.rule.unknownOption'],
      [{ line: 1 }, 'access.rule.notNumber'],
      [{ line: 3 }, 'access.rule.badRegex'],
      [{ line: 4 }, 'access.rule.notNumber'],
    ]);
    // the message for logs where nothing translates still says what and where
    expect((err as Error).message).toMatch(/^access\.rulesInvalid \(count=4, .*line=3/);
  });

  test('more than five problems: the first five, then how many more', () => {
    const text = Array.from({ length: 8 }, (_, i) => `nonsense${i}`).join('\n');
    const t = shown(() => rules(text));
    expect(t.split('; ').length).toBe(6);
    expect(t).toMatch(/line 5: "nonsense4" is not a number; and 3 more$/);
  });

  test('10,000 rules: the trie finds the one that matches', () => {
    const lines: string[] = [];
    for (let i = 0; i < 10000; i++) lines.push(`+7 9${String(i).padStart(4, '0')} XX-XX-${i % 10}`);
    const set = rules(lines.join('\n'));
    expect(set.size).toBe(10000);
    expect(ask(set, '+7 900 42 12 34 5'.replace(/ /g, '')).allowed).toBe(false);
    const d = ask(set, '8 90042 12 34 2');
    expect(d).toMatchObject({ allowed: true, rule: '+7 90042 XX-XX-2' });
  });
});
