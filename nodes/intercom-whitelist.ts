/**
 * intercom-whitelist: lets a call (or a PIN entry) through its first output only when a
 * rule or a PIN proves it may pass; everything else, including every error, leaves by the
 * second output with the reason in msg.access. Rule lists come from the editor, a file,
 * or a msg at run time (kept on disk so a restart does not forget them).
 */
import { createHash } from 'node:crypto';
import { promises as fsp, unwatchFile, watchFile, type Stats } from 'node:fs';
import * as path from 'node:path';
import { normalizeNumber, planFrom } from './lib/access/number';
import { DEFAULT_POLICY, parsePins, PinChecker, type PinPolicy } from './lib/access/pin';
import { parseRuleSource, RuleSet, trustedList, type Rule } from './lib/access/rules';
import { checkTimeZone, systemTimeZone } from './lib/access/schedule';
import { readJson, removeFile, writeJsonAtomic } from './lib/access/store';
import { doorOf } from './shared/journal-event';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface WhitelistDef extends NodeDef {
  mode?: 'caller' | 'pin';
  callerProp?: string;
  pinProp?: string;
  rules?: string;
  rulesFile?: string;
  countryCode?: string;
  trunkPrefix?: string;
  internationalPrefix?: string;
  nationalDigits?: string | number;
  timezone?: string;
  trustedSources?: string;
  pinLength?: string | number;
  maxTries?: string | number;
  maxDoorTries?: string | number;
  lockoutSec?: string | number;
  maxLockoutMin?: string | number;
}

type Creds = { pins?: string };

function intIn(v: unknown, lo: number, hi: number, dflt: number, what: string): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${what} must be a whole number from ${lo} to ${hi}`);
  return n;
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-whitelist');
  function IntercomWhitelistNode(this: Node<Creds>, def: WhitelistDef): void {
    RED.nodes.createNode(this as Node, def);
    setup(this, def);
  }

  function setup(node: Node<Creds>, def: WhitelistDef): void {
    const mode = def.mode === 'pin' ? 'pin' : 'caller';
    const callerProp = (def.callerProp ?? '').trim() || 'call.from.user';
    const pinProp = (def.pinProp ?? '').trim() || 'payload';
    const userDir = RED.settings.userDir ?? process.cwd();
    const plan = planFrom(def);
    const resolve = (f: string): string => (path.isAbsolute(f) ? f : path.join(userDir, f));
    const rulesFile = (def.rulesFile ?? '').trim() ? resolve((def.rulesFile as string).trim()) : null;
    const storeFile = path.join(userDir, 'intercom-access', `whitelist-${def.id.replace(/[^\w.-]/g, '_')}.json`);
    // What the deployed configuration says; a run-time list made for another one is stale.
    const baseHash = createHash('sha256')
      .update(JSON.stringify([def.rules ?? '', rulesFile ?? '', plan]))
      .digest('hex');

    let configError: string | null = null;
    let timezone = systemTimeZone();
    let trusted: ReturnType<typeof trustedList> = [];
    let pins: PinChecker | null = null;
    try {
      if ((def.timezone ?? '').trim()) timezone = checkTimeZone((def.timezone as string).trim());
      trusted = trustedList(def.trustedSources ?? '');
      if (mode === 'pin') {
        const policy: PinPolicy = {
          length: intIn(def.pinLength, 3, 12, DEFAULT_POLICY.length, 'PIN length'),
          maxTries: intIn(def.maxTries, 1, 100, DEFAULT_POLICY.maxTries, 'Tries'),
          maxDoorTries: intIn(def.maxDoorTries, 0, 10_000, DEFAULT_POLICY.maxDoorTries, 'Door tries'),
          lockoutMs: intIn(def.lockoutSec, 1, 86_400, DEFAULT_POLICY.lockoutMs / 1000, 'Lockout') * 1000,
          maxLockoutMs: intIn(def.maxLockoutMin, 1, 10_080, DEFAULT_POLICY.maxLockoutMs / 60_000, 'Longest lockout') * 60_000,
          forgetMs: DEFAULT_POLICY.forgetMs,
        };
        // The PIN list lives in credentials only; errors name lines, never PINs.
        pins = new PinChecker(parsePins(node.credentials?.pins ?? '', policy.length), policy, Date.now);
      }
    } catch (err) {
      configError = T.describe(err);
    }

    let ruleSet: RuleSet | null = null;
    let origin = '';
    const install = (rules: Rule[], from: string): void => {
      ruleSet = new RuleSet(rules, plan, timezone, trusted);
      origin = from;
      node.status({ fill: rules.length ? 'green' : 'yellow', shape: 'ring', text: `${rules.length} rules (${from})` });
    };
    const reject = (what: string, err: unknown, msg?: NodeMessage): void => {
      const text = `${what}: ${T.describe(err)}`;
      node.error(ruleSet ? `${text}; the previous list (${ruleSet.size} rules) stays active` : `${text}; every call is denied`, msg);
      node.status({ fill: 'red', shape: 'dot', text: ruleSet ? `${what}, kept ${ruleSet.size} rules` : what });
    };

    async function loadBase(): Promise<void> {
      if (rulesFile) {
        let text: string;
        try {
          text = await fsp.readFile(rulesFile, 'utf8');
        } catch (err) {
          reject('rule file unreadable', err);
          return;
        }
        try {
          install(parseRuleSource(text, plan), path.basename(rulesFile));
        } catch (err) {
          reject('rule file rejected', err);
        }
        return;
      }
      try {
        install(parseRuleSource(def.rules ?? '', plan), 'editor');
      } catch (err) {
        reject('rules rejected', err);
      }
    }

    async function start(): Promise<void> {
      if (configError) {
        node.error(`configuration: ${configError}; every entry is denied`);
        node.status({ fill: 'red', shape: 'dot', text: 'bad configuration' });
        return;
      }
      if (mode === 'pin') {
        const n = (pins as PinChecker).userCount;
        node.status({ fill: n ? 'green' : 'yellow', shape: 'ring', text: `${n} PIN users` });
        return;
      }
      try {
        const saved = (await readJson(storeFile)) as { baseHash?: string; rules?: unknown } | undefined;
        if (saved && saved.baseHash === baseHash) {
          install(parseRuleSource(saved.rules, plan), 'run time');
          return;
        }
        if (saved) {
          node.log('the deployed rules changed since a list was set at run time; using the deployed rules');
          await removeFile(storeFile);
        }
      } catch (err) {
        node.warn(`saved run-time rule list ignored: ${T.describe(err)}`);
      }
      await loadBase();
    }

    const ready = start();

    // A changed rule file is picked up without a redeploy (polling: editors often replace the
    // file, which a plain fs.watch loses track of). A list set by msg stays until a reset.
    const onFileChange = (cur: Stats, prev: Stats): void => {
      if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size) return;
      if (origin === 'run time') return;
      void ready.then(loadBase).catch((err: unknown) => node.error(`rule file reload failed: ${T.describe(err)}`));
    };
    if (rulesFile && mode === 'caller' && !configError) watchFile(rulesFile, { interval: 1000, persistent: false }, onFileChange);
    let saving: Promise<void> = Promise.resolve();

    async function control(msg: NodeMessage): Promise<boolean> {
      if (mode !== 'caller') return false;
      if (msg.topic === 'rules') {
        let rules: Rule[];
        try {
          rules = parseRuleSource(msg.payload, plan);
        } catch (err) {
          reject('rules from msg rejected', err, msg);
          return true;
        }
        // Persist first: a list that was acknowledged must survive a restart.
        const write = saving.then(() => writeJsonAtomic(storeFile, { baseHash, savedAt: new Date().toISOString(), rules: msg.payload }));
        saving = write.catch(() => undefined);
        try {
          await write;
        } catch (err) {
          reject('rules from msg not saved', err, msg);
          return true;
        }
        install(rules, 'run time');
        return true;
      }
      if (msg.topic === 'reload' || msg.topic === 'reset') {
        if (msg.topic === 'reset') await removeFile(storeFile);
        else if (origin === 'run time') {
          node.warn('a rule list set by msg is active; send topic "reset" to go back to the deployed rules');
          return true;
        }
        await loadBase();
        return true;
      }
      return false;
    }

    function readProp(msg: NodeMessage, prop: string): unknown {
      try {
        return RED.util.getMessageProperty(msg, prop);
      } catch {
        return undefined;
      }
    }

    onInput(node as Node, T, async (msg: NodeMessage, send) => {
      await ready;
      if (await control(msg)) return;
      const door = doorOf(msg) ?? '';
      const call = msg.call && typeof msg.call === 'object' ? (msg.call as Record<string, unknown>) : {};
      let callerRaw = readProp(msg, callerProp);
      // A SIP layer may give `from` as a URI string rather than {user}: take the user part then.
      if (callerRaw === undefined && callerProp === 'call.from.user' && typeof call.from === 'string') callerRaw = call.from;
      let access: Record<string, unknown>;
      // Whatever goes wrong below, the msg leaves by the denied output: never allowed by accident.
      try {
        if (configError) {
          access = { result: 'denied', reason: 'bad-configuration' };
        } else if (mode === 'pin') {
          const entry = readProp(msg, pinProp);
          // The entry never travels further than this node (journal, debug, dashboards).
          RED.util.setMessageProperty(msg, pinProp, '[entered]', false);
          const n = normalizeNumber(callerRaw, plan);
          const d = (pins as PinChecker).check(entry, n.ok ? n.number : '', door);
          access = {
            result: d.allowed ? 'allowed' : 'denied',
            reason: d.reason,
            user: d.user,
            triesLeft: d.triesLeft,
            lockedUntil: d.lockedUntil ? new Date(d.lockedUntil).toISOString() : undefined,
            scope: d.scope,
          };
          if (d.reason === 'lockout') {
            node.warn(`PIN lockout of ${d.scope === 'door' ? 'door ' + (door || '(none)') : 'caller ' + (n.ok ? n.number : '(unknown)')} until ${access.lockedUntil}`);
            node.status({ fill: 'red', shape: 'ring', text: `lockout ${d.scope}` });
          } else {
            node.status({ fill: d.allowed ? 'green' : 'yellow', shape: 'dot', text: d.allowed ? `PIN ok (${d.user})` : d.reason });
          }
        } else if (!ruleSet) {
          access = { result: 'denied', reason: 'rules-invalid' };
        } else {
          const d = (ruleSet as RuleSet).decide({ caller: callerRaw, source: call.source, headers: call.headers, door, now: Date.now() });
          access = { result: d.result, reason: d.reason, caller: d.caller, identity: d.identity, rule: d.rule, note: d.note };
          node.status({ fill: d.allowed ? 'green' : 'yellow', shape: 'dot', text: `${d.result} ${d.caller ?? ''} ${d.allowed ? '' : d.reason}`.trim() });
        }
      } catch (err) {
        node.error(`decision failed: ${T.describe(err)}`, msg);
        access = { result: 'denied', reason: 'internal-error' };
        if (mode === 'pin') {
          try {
            RED.util.setMessageProperty(msg, pinProp, '[entered]', false);
          } catch {
            msg.payload = '[entered]';
          }
        }
      }
      for (const k of Object.keys(access)) if (access[k] === undefined) delete access[k];
      // `event` ties the decision to this event for the journal (see journal-event.ts).
      msg.access = { ...access, mode, door: door || undefined, event: msg.topic };
      send(access.result === 'allowed' ? [msg, null] : [null, msg]);
    });

    onClose(node as Node, T, async () => {
      if (rulesFile) unwatchFile(rulesFile, onFileChange);
      await ready;
      await saving;
    });
  }
  RED.nodes.registerType('intercom-whitelist', IntercomWhitelistNode as (this: Node, def: NodeDef) => void, {
    credentials: { pins: { type: 'password' } },
  });
};
