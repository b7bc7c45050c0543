/**
 * intercom-whitelist: lets a call (or a PIN entry) through its first output only when a
 * rule or a PIN proves it may pass; everything else, including every error, leaves by the
 * second output with the reason in msg.access. The rule list and its sources live in
 * lib/access/rule-source.ts, the settings in lib/access/whitelist-config.ts.
 */
import { accessMessage, callerAccess, denied, pinAccess, type AccessRecord } from './lib/access/access-record';
import { normalizeNumber } from './lib/access/number';
import * as path from 'node:path';
import { rm } from 'node:fs/promises';
import { PinChecker, type PinState } from './lib/access/pin';
import { StateFile } from './lib/auth/state-file';
import { RuleSource, type RuleOrigin, type RuleReport } from './lib/access/rule-source';
import { RuleSet } from './lib/access/rules';
import { messageFields, whitelistConfig, type WhitelistConfig, type WhitelistSettings } from './lib/access/whitelist-config';
import { doorOf } from './shared/journal-event';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import { describeProblems } from './shared/problems';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface WhitelistDef extends NodeDef, WhitelistSettings {
  rules?: string;
  rulesFile?: string;
}

type Creds = { pins?: string };

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-whitelist');
  const originText = (o: RuleOrigin): string => (o.kind === 'file' ? o.name : T.t(`origin.${o.kind}`));

  function IntercomWhitelistNode(this: Node<Creds>, def: WhitelistDef): void {
    RED.nodes.createNode(this as Node, def);
    const node = this as Node;
    const { mode, callerProp, pinProp } = messageFields(def);
    let config: WhitelistConfig | null = null;
    try {
      config = whitelistConfig(def, this.credentials?.pins ?? '');
    } catch (err) {
      const problem = describeProblems(T, err);
      node.error(T.t('errors.config', { error: problem }));
      node.status(T.status('red', 'dot', 'badConfig', { problem }));
    }

    // What a rule list did, for the status and the log; `msg` when a msg asked for it.
    const show = (r: RuleReport, msg?: NodeMessage): void => {
      if (r.kind === 'installed') node.status(T.status(r.count ? 'green' : 'yellow', 'ring', 'rules', { count: r.count, origin: originText(r.origin) }));
      else if (r.kind === 'savedStale') node.log(T.t('log.savedStale'));
      else if (r.kind === 'savedUnreadable') node.warn(T.t('log.savedUnreadable', { error: describeProblems(T, r.error) }));
      else if (r.kind === 'msgListActive') node.warn(T.t('log.msgListActive'));
      else {
        const what = T.t(`refused.${r.what}`);
        const error = describeProblems(T, r.error);
        node.error(r.kept === null ? T.t('errors.refusedNone', { what, error }) : T.t('errors.refusedKept', { what, error, count: r.kept }), msg);
        node.status(r.kept === null ? T.status('red', 'dot', 'refused', { what }) : T.status('red', 'dot', 'refusedKept', { what, count: r.kept }));
      }
    };

    let pins: PinChecker | null = null;
    // In the user dir; a runtime without one (a test harness) keeps the counters in memory.
    const userDir = RED.settings.userDir;
    const pinStateFile = userDir ? path.join(userDir, 'intercom-access', `pins-${def.id.replace(/[^\w.-]/g, '_')}.json`) : undefined;
    let rules: RuleSource | null = null;
    if (config?.pin) {
      // Wrong tries and lockouts outlive a redeploy and a restart (a file in the user dir, no PIN in it).
      const file = pinStateFile ? new StateFile<PinState>(pinStateFile, { onError: (err) => node.warn(T.describe(err)) }) : undefined;
      pins = new PinChecker(config.pin.users, config.pin.policy, Date.now, file);
      node.status(T.status(pins.userCount ? 'green' : 'yellow', 'ring', 'pinUsers', { count: pins.userCount }));
    } else if (config) {
      const { plan, timezone, trusted } = config;
      rules = new RuleSource({
        editorText: def.rules ?? '',
        rulesFile: def.rulesFile ?? '',
        userDir: RED.settings.userDir ?? process.cwd(),
        nodeId: def.id,
        plan,
        build: (list) => new RuleSet(list, plan, timezone, trusted),
        report: (r) => show(r),
      });
    }

    const readProp = (msg: NodeMessage, prop: string): unknown => {
      try {
        return RED.util.getMessageProperty(msg, prop);
      } catch {
        return undefined;
      }
    };
    // The entry never travels further than this node (journal, debug, dashboards).
    const hidePin = (msg: NodeMessage, prop: string): void => {
      try {
        RED.util.setMessageProperty(msg, prop, '[entered]', false);
      } catch {
        msg.payload = '[entered]';
      }
    };

    function checkPin(c: WhitelistConfig, checker: PinChecker, msg: NodeMessage, caller: unknown, door: string): AccessRecord {
      const entry = readProp(msg, pinProp);
      hidePin(msg, pinProp);
      const n = normalizeNumber(caller, c.plan);
      const d = checker.check(entry, n.ok ? n.number : '', door);
      const access = pinAccess(d);
      if (d.reason === 'lockout') {
        const who = d.scope === 'door' ? door || T.t('log.noDoor') : n.ok ? n.number : T.t('log.unknownCaller');
        node.warn(T.t(d.scope === 'door' ? 'log.lockoutDoor' : 'log.lockoutCaller', { who, until: access.lockedUntil }));
        node.status(d.scope === 'door' ? T.status('red', 'ring', 'lockoutDoor') : T.status('red', 'ring', 'lockoutCaller'));
      } else if (d.allowed) node.status(T.status('green', 'dot', 'pinOk', { user: d.user }));
      else node.status(T.status('yellow', 'dot', 'pinRefused', { reason: T.t(`reason.${d.reason}`) }));
      return access;
    }

    function checkCaller(set: RuleSet, call: Record<string, unknown>, caller: unknown, door: string): AccessRecord {
      const d = set.decide({ caller, source: call.source, headers: call.headers, door, now: Date.now() });
      const access = callerAccess(d);
      if (access.note) access.note = T.t(`note.${access.note}`);
      const params = { caller: d.caller ?? '', reason: T.t(`reason.${d.reason}`) };
      node.status(T.status(d.allowed ? 'green' : 'yellow', 'dot', d.allowed ? 'allowed' : d.caller ? 'deniedCaller' : 'denied', params));
      return access;
    }

    onInput(node, T, async (msg: NodeMessage, send) => {
      await rules?.ready;
      // Rule lists by msg (caller mode): never a decision, whatever becomes of them.
      if (mode === 'caller' && (msg.topic === 'rules' || msg.topic === 'reload' || msg.topic === 'reset')) {
        if (!rules) return;
        return show(await (msg.topic === 'rules' ? rules.set(msg.payload) : msg.topic === 'reload' ? rules.reload() : rules.reset()), msg);
      }
      const door = doorOf(msg) ?? '';
      const call = msg.call && typeof msg.call === 'object' ? (msg.call as Record<string, unknown>) : {};
      let caller = readProp(msg, callerProp);
      // A SIP layer may give `from` as a URI string rather than {user}: take the user part then.
      if (caller === undefined && callerProp === 'call.from.user' && typeof call.from === 'string') caller = call.from;
      let access: AccessRecord;
      // Whatever goes wrong below, the msg leaves by the denied output: never allowed by accident.
      try {
        if (mode === 'pin' && !pins) hidePin(msg, pinProp);
        if (!config) access = denied('bad-configuration');
        else if (pins) access = checkPin(config, pins, msg, caller, door);
        else if (!rules?.rules) access = denied('rules-invalid');
        else access = checkCaller(rules.rules, call, caller, door);
      } catch (err) {
        node.error(T.t('errors.decision', { error: T.describe(err) }), msg);
        access = denied('internal-error');
        if (mode === 'pin') hidePin(msg, pinProp);
      }
      msg.access = accessMessage(access, mode, door, msg.topic);
      send(access.result === 'allowed' ? [msg, null] : [null, msg]);
    });

    onClose(node, T, async (removed) => {
      await rules?.close();
      await pins?.close();
      // A deleted whitelist leaves no counters behind; a redeployed one keeps them.
      if (removed && pinStateFile) await rm(pinStateFile, { force: true });
    });
  }
  RED.nodes.registerType('intercom-whitelist', IntercomWhitelistNode as (this: Node, def: NodeDef) => void, {
    credentials: { pins: { type: 'password' } },
  });
};
