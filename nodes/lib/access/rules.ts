/**
 * Whitelist rules and the decision they make about one caller. Number rules (exact,
 * X-pattern, prefix) live in one digit trie so that 10,000 of them cost a walk of at
 * most 15 levels; regular expressions are scanned. Every path that cannot prove the
 * caller is listed ends in a denial with a reason: nothing is allowed by default.
 */
import { errorText, IntercomError } from '../core/errors';
import { inAny, parseCidr, parseCidrList, sourceAddress, type Cidr, type IpAddress } from '../net/cidr';
import { cidrList } from '../net/host';
import { canonicalForm, compactNumber, normalizeNumber, userPart, type NumberPlan } from './number';
import { Problems, type Place } from './problems';
import { parseWeekSpec, scheduleOpen, type Range, type Schedule } from './schedule';

export type MatchKind = 'exact' | 'pattern' | 'prefix' | 'regex';

/** A rule as written in the editor, a rule file or a msg (JSON form). */
export interface RuleSpec {
  match: string;
  type?: MatchKind;
  action?: 'allow' | 'deny';
  /** source addresses / CIDR blocks the call must come from */
  sources?: string[] | string;
  /** door ids or names the rule applies to */
  doors?: string[] | string;
  /** weekly window, compact form "mon-fri 09:00-18:00" */
  time?: string;
  /** only when the number was asserted by a trusted PBX (P-Asserted-Identity) */
  asserted?: boolean;
  name?: string;
}

export interface Rule {
  index: number;
  name: string;
  action: 'allow' | 'deny';
  kind: MatchKind;
  text: string;
  regex?: RegExp;
  sources: Cidr[] | null;
  doors: Set<string> | null;
  time: Range[][] | null;
  asserted: boolean;
}

function list(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).filter(Boolean);
  return String(v)
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function kindOf(spec: RuleSpec): { kind: MatchKind; text: string } {
  const m = spec.match.trim();
  if (spec.type) return { kind: spec.type, text: m };
  const tagged = /^(exact|pattern|prefix|regex):(.*)$/i.exec(m);
  if (tagged) return { kind: tagged[1].toLowerCase() as MatchKind, text: tagged[2].trim() };
  if (m.length > 2 && m.startsWith('/') && m.endsWith('/')) return { kind: 'regex', text: m.slice(1, -1) };
  if (m.endsWith('*')) return { kind: 'prefix', text: m.slice(0, -1) };
  if (/[Xx]/.test(m)) return { kind: 'pattern', text: m };
  return { kind: 'exact', text: m };
}

/** The trie key of a number rule in canonical form ('X' = any one digit). */
function numberKey(kind: MatchKind, text: string, plan: NumberPlan): string {
  if (kind === 'exact') {
    const n = normalizeNumber(text, plan);
    if (!n.ok) throw new IntercomError('access.rule.notNumber', { value: text });
    return n.number;
  }
  const c = compactNumber(userPart(text), kind === 'pattern');
  if (!c) throw new IntercomError(kind === 'pattern' ? 'access.rule.notPattern' : 'access.rule.notPrefix', { value: text });
  if (kind === 'pattern') {
    const f = canonicalForm(c.digits, c.plus, plan);
    if (/X/.test(c.digits.slice(0, f.strip))) throw new IntercomError('access.rule.xInPrefix', { value: text });
    return f.prepend + c.digits.slice(f.strip);
  }
  // A prefix has no length to go by: '+' and the international prefix are dropped and
  // the trunk prefix becomes the country code; anything else is taken as canonical.
  if (c.plus) return c.digits;
  if (plan.internationalPrefix && c.digits.startsWith(plan.internationalPrefix)) return c.digits.slice(plan.internationalPrefix.length);
  if (plan.countryCode && plan.trunkPrefix && c.digits.startsWith(plan.trunkPrefix)) return plan.countryCode + c.digits.slice(plan.trunkPrefix.length);
  return c.digits;
}

interface TrieNode {
  next: Map<string, TrieNode>;
  exact: Rule[];
  prefix: Rule[];
}
const trieNode = (): TrieNode => ({ next: new Map(), exact: [], prefix: [] });

/** Why a rule whose number matched did not apply. */
export type ConditionReason = 'door-not-allowed' | 'source-not-allowed' | 'identity-not-asserted' | 'outside-time-window';

/** The stable reason codes of a caller decision (msg.access.reason). */
export type CallerReason = 'listed' | 'denied-by-rule' | 'not-listed' | 'no-rules' | 'missing-caller' | 'malformed-caller' | ConditionReason;

export interface Decision {
  allowed: boolean;
  result: 'allowed' | 'denied';
  reason: CallerReason;
  /** canonical caller number, when there was one */
  caller?: string;
  /** 'asserted' when the number came from a trusted P-Asserted-Identity */
  identity?: 'from' | 'asserted';
  rule?: string;
  /** a stable note code: 'untrusted-pai' when a P-Asserted-Identity came from an untrusted source */
  note?: string;
}

export interface DecisionInput {
  caller: unknown;
  source?: unknown;
  headers?: unknown;
  door?: string | null;
  now: number;
}

/** Why a rule whose number matched did not apply; the first one found is reported. */
const CONDITION_ORDER: ConditionReason[] = ['door-not-allowed', 'source-not-allowed', 'identity-not-asserted', 'outside-time-window'];

export class RuleSet {
  readonly rules: Rule[];
  private readonly root = trieNode();
  private readonly regexes: Rule[] = [];

  constructor(
    rules: Rule[],
    private readonly plan: NumberPlan,
    private readonly timezone: string,
    private readonly trusted: Cidr[],
  ) {
    this.rules = rules;
    for (const r of rules) {
      if (r.kind === 'regex') {
        this.regexes.push(r);
        continue;
      }
      let node = this.root;
      for (const ch of r.text) {
        let n = node.next.get(ch);
        if (!n) node.next.set(ch, (n = trieNode()));
        node = n;
      }
      (r.kind === 'prefix' ? node.prefix : node.exact).push(r);
    }
  }

  get size(): number {
    return this.rules.length;
  }

  private candidates(num: string): Rule[] {
    const out: Rule[] = [];
    const stack: Array<[TrieNode, number]> = [[this.root, 0]];
    while (stack.length) {
      const [node, i] = stack.pop() as [TrieNode, number];
      if (node.prefix.length) out.push(...node.prefix);
      if (i === num.length) {
        if (node.exact.length) out.push(...node.exact);
        continue;
      }
      const d = node.next.get(num[i]);
      if (d) stack.push([d, i + 1]);
      const x = node.next.get('X');
      if (x) stack.push([x, i + 1]);
    }
    for (const r of this.regexes) if ((r.regex as RegExp).test(num)) out.push(r);
    return out.sort((a, b) => a.index - b.index);
  }

  private failedCondition(r: Rule, input: DecisionInput, asserted: boolean, source: () => IpAddress | null, schedule: (w: Range[][]) => boolean): ConditionReason | null {
    if (r.doors) {
      const door = (input.door ?? '').toLowerCase();
      if (!door || !r.doors.has(door)) return 'door-not-allowed';
    }
    if (r.sources && !inAny(source(), r.sources)) return 'source-not-allowed';
    if (r.asserted && !asserted) return 'identity-not-asserted';
    if (r.time && !schedule(r.time)) return 'outside-time-window';
    return null;
  }

  /** Who is calling: the From user, or the P-Asserted-Identity when a trusted source sent it. */
  identify(input: DecisionInput, source: () => IpAddress | null = () => sourceAddress(input.source)): { raw: unknown; asserted: boolean; note?: string } {
    const pai = headerValue(input.headers, 'p-asserted-identity');
    if (pai === undefined) return { raw: input.caller, asserted: false };
    // RFC 3325 §5: a PAI is only meaningful inside a trust domain; from anyone else it
    // is a claim like any other and must not override what we would check anyway.
    if (!inAny(source(), this.trusted)) return { raw: input.caller, asserted: false, note: 'untrusted-pai' };
    // RFC 3325 §9.1: one or two comma-separated values (a sip: and a tel: URI).
    const first = pai.split(/,(?=\s*(?:"|<|sips?:|tel:))/)[0];
    return { raw: userPart(first), asserted: true };
  }

  decide(input: DecisionInput): Decision {
    // The source is parsed once a decision, and only when a rule or the PAI asks for it.
    let parsed: IpAddress | null | undefined;
    const source = (): IpAddress | null => (parsed === undefined ? (parsed = sourceAddress(input.source)) : parsed);
    const who = this.identify(input, source);
    const identity = who.asserted ? 'asserted' : 'from';
    const n = normalizeNumber(who.raw, this.plan);
    if (!n.ok) return { allowed: false, result: 'denied', reason: n.reason, identity, note: who.note };
    if (this.rules.length === 0) return { allowed: false, result: 'denied', reason: 'no-rules', caller: n.number, identity, note: who.note };
    let scheduleCache: Map<Range[][], boolean> | null = null;
    const inWindow = (w: Range[][]): boolean => {
      scheduleCache ??= new Map();
      let v = scheduleCache.get(w);
      if (v === undefined) {
        const s: Schedule = { timezone: this.timezone, weekly: w, exceptions: new Map() };
        v = scheduleOpen(s, input.now).open;
        scheduleCache.set(w, v);
      }
      return v;
    };
    let allow: Rule | null = null;
    let failed: ConditionReason | null = null;
    for (const r of this.candidates(n.number)) {
      const why = this.failedCondition(r, input, who.asserted, source, inWindow);
      if (why) {
        if (!failed || CONDITION_ORDER.indexOf(why) < CONDITION_ORDER.indexOf(failed)) failed = why;
        continue;
      }
      // A matching deny rule wins over any allow rule, whatever the order.
      if (r.action === 'deny') return { allowed: false, result: 'denied', reason: 'denied-by-rule', caller: n.number, identity, rule: r.name, note: who.note };
      allow ??= r;
    }
    if (allow) return { allowed: true, result: 'allowed', reason: 'listed', caller: n.number, identity, rule: allow.name, note: who.note };
    return { allowed: false, result: 'denied', reason: failed ?? 'not-listed', caller: n.number, identity, note: who.note };
  }
}

export function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (k.toLowerCase() !== name) continue;
    const first = Array.isArray(v) ? v[0] : v;
    return typeof first === 'string' && first.length <= 1024 ? first : undefined;
  }
  return undefined;
}

/** Compile specs into rules; any error rejects the whole list (the caller keeps the old one). */
export function compileRules(specs: RuleSpec[], plan: NumberPlan, lines?: number[], problems = new Problems()): Rule[] {
  const rules: Rule[] = [];
  specs.forEach((spec, i) => {
    const at: Place = lines ? { line: lines[i] } : { rule: i + 1 };
    try {
      rules.push(compileRule(spec, i, plan));
    } catch (err) {
      problems.add(at, err);
    }
  });
  problems.check('rules');
  return rules;
}

function compileRule(spec: RuleSpec, index: number, plan: NumberPlan): Rule {
  if (!spec || typeof spec !== 'object' || typeof spec.match !== 'string' || !spec.match.trim()) throw new IntercomError('access.rule.noMatch');
  const { kind, text } = kindOf(spec);
  if (!['exact', 'pattern', 'prefix', 'regex'].includes(kind)) throw new IntercomError('access.rule.unknownType', { value: String(kind) });
  const action = spec.action ?? 'allow';
  if (action !== 'allow' && action !== 'deny') throw new IntercomError('access.rule.unknownAction', { value: String(action) });
  let regex: RegExp | undefined;
  let key = text;
  if (kind === 'regex') {
    try {
      regex = new RegExp(text);
    } catch (err) {
      // V8's own words about the expression: a technical detail, shown as it is.
      throw new IntercomError('access.rule.badRegex', { detail: errorText(err).slice(0, 120) });
    }
  } else {
    key = numberKey(kind, text, plan);
    if (kind === 'prefix' && key.length === 0) throw new IntercomError('access.rule.emptyPrefix');
  }
  const sources = list(spec.sources).map(parseCidr);
  const doors = list(spec.doors).map((d) => d.toLowerCase());
  const time = spec.time !== undefined && String(spec.time).trim() ? parseWeekSpec(String(spec.time)) : null;
  return {
    index,
    name: spec.name ? String(spec.name) : spec.match.trim(),
    action,
    kind,
    text: key,
    regex,
    sources: sources.length ? sources : null,
    doors: doors.length ? new Set(doors) : null,
    time,
    asserted: spec.asserted === true,
  };
}

/** Splits a rule line into words, keeping "quoted text" together. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /(\w+=)?"([^"]*)"|\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[2] !== undefined ? (m[1] ?? '') + m[2] : m[0]);
  return out;
}

/**
 * The line form, one rule a line, '#' comments:
 *   [allow|deny] <match> [from=CIDR,...] [door=id,...] [time="mon-fri 09:00-18:00"] [asserted] [name="..."]
 * where <match> is a number, a pattern with X, a prefix ending in '*', or /regex/.
 */
export function parseRuleLines(text: string, problems = new Problems()): { specs: RuleSpec[]; lines: number[] } {
  const specs: RuleSpec[] = [];
  const lines: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const at = { line: i + 1 };
    const w = words(line);
    const spec: Partial<RuleSpec> = {};
    if (w[0] === 'allow' || w[0] === 'deny') spec.action = w.shift() as 'allow' | 'deny';
    // A number may be written with spaces ("+7 495 123-45-67"): take words up to the first option.
    const matchWords: string[] = [];
    while (w.length && !/^\w+=/.test(w[0]) && w[0] !== 'asserted') matchWords.push(w.shift() as string);
    spec.match = matchWords.join(matchWords.length > 1 && /^[+\d(]/.test(matchWords[0]) ? '' : ' ');
    for (const opt of w) {
      if (opt === 'asserted') {
        spec.asserted = true;
        continue;
      }
      const eq = opt.indexOf('=');
      const k = opt.slice(0, eq);
      const v = opt.slice(eq + 1);
      if (k === 'from' || k === 'source' || k === 'src') spec.sources = v;
      else if (k === 'door' || k === 'doors') spec.doors = v;
      else if (k === 'time' || k === 'when') spec.time = v;
      else if (k === 'name') spec.name = v;
      else problems.add(at, new IntercomError('access.rule.unknownOption', { value: k }));
    }
    if (!spec.match) {
      problems.add(at, new IntercomError('access.rule.noNumber'));
      return;
    }
    spec.name ??= matchWords.join(' ');
    specs.push(spec as RuleSpec);
    lines.push(i + 1);
  });
  return { specs, lines };
}

/**
 * A rule list as text (JSON array / {rules:[...]} or the line form) or as parsed JSON.
 * Every problem of the list is reported at once, as a ListError of kind 'rules'.
 */
export function parseRuleSource(source: unknown, plan: NumberPlan): Rule[] {
  if (typeof source === 'string') {
    const t = source.trim();
    if (t.startsWith('[') || t.startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(t);
      } catch (err) {
        throw new IntercomError('access.rules.notJson', { detail: errorText(err).slice(0, 120) });
      }
      return parseRuleSource(parsed, plan);
    }
    // Problems of the line form and of the rules it makes are reported together, by line.
    const problems = new Problems();
    const { specs, lines } = parseRuleLines(source, problems);
    return compileRules(specs, plan, lines, problems);
  }
  if (Array.isArray(source)) return compileRules(source as RuleSpec[], plan);
  if (source && typeof source === 'object' && Array.isArray((source as { rules?: unknown }).rules)) {
    return compileRules((source as { rules: RuleSpec[] }).rules, plan);
  }
  throw new IntercomError('access.rules.badShape');
}

/** The trusted PBX's addresses (the dialog's "Trusted PBX"): every entry an address or block. */
export function trustedList(text: unknown): Cidr[] {
  const t = Array.isArray(text) ? text.join(',') : typeof text === 'string' ? text : '';
  cidrList(t, 'trustedSources', {});
  return parseCidrList(t).rules;
}
