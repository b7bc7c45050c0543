/**
 * intercom-sip-call: acts on the call named by msg.call.id (answer, ring, reject, hangup,
 * redirect, cancel, play a prompt, send DTMF, bridge to another call, forward to a queue of
 * people) or places a new call (dial msg.payload from its account, with the account's
 * failover). The action comes from msg.action or the node's setting.
 */
import { accountRegistry, callRegistry } from './lib/sip/registry';
import { ParallelCall } from './lib/sip/parallel';
import { bridgeCalls, ForwardCall } from './lib/sip/forward-call';
import { type ForwardMode, lookupApartment, normalizeTarget, parseApartmentTable, parseTargets } from './lib/sip/forward';
import type { SipAccount } from './lib/sip/account';
import type { Call } from './lib/sip/call';
import type { SipAccountNode } from './intercom-sip-account.types';
import { callMessage } from './intercom-sip-in.helpers';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

const ACTIONS = ['answer', 'ring', 'reject', 'hangup', 'redirect', 'dial', 'cancel', 'play', 'dtmf', 'bridge', 'forward'] as const;
type Action = (typeof ACTIONS)[number];

interface SipCallDef extends NodeDef {
  account?: string;
  action?: string; // one of ACTIONS or 'msg'
  code?: string | number;
  target?: string;
  /** play: built-in prompt name or WAV path */
  prompt?: string;
  /** dtmf: digits to send */
  digits?: string;
  /** forward: targets (comma/newline), mode, ring time per target (s), monitor first, apartments */
  targets?: string;
  forwardMode?: string;
  ringTime?: string | number;
  monitor?: string;
  monitorTime?: string | number;
  apartments?: string;
}

function seconds(v: unknown, fallback: number, what: string): number {
  if (v === undefined || v === null || v === '') return fallback * 1000;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 600) throw new Error(`${what} must be 0-600 seconds, got ${JSON.stringify(v)}`);
  return n * 1000;
}

function named(name: string): SipAccount {
  const a = accountRegistry.get(name);
  if (!a) throw new Error(`no started SIP account named "${name}"`);
  return a;
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-sip-call');
  function IntercomSipCallNode(this: Node, def: SipCallDef): void {
    RED.nodes.createNode(this, def);
    const acc = def.account ? (RED.nodes.getNode(def.account) as SipAccountNode | null) : null;
    if (acc?.account) acc.registerUser(this);
    else this.status({});
    // A wrong apartment table is a deploy-time error, not a surprise on the first call.
    let apartments: Map<string, string[]> | undefined;
    try {
      apartments = def.apartments?.trim() ? parseApartmentTable(def.apartments) : undefined;
    } catch (err) {
      this.error(`apartment table: ${err instanceof Error ? err.message : String(err)}`);
    }
    const forwards = new Set<ForwardCall>();

    onInput(this, T, async (msg: NodeMessage, send) => {
      const raw = typeof msg.action === 'string' && msg.action ? msg.action : def.action && def.action !== 'msg' ? def.action : undefined;
      if (!raw) throw new Error(`no action: set msg.action (${ACTIONS.join(', ')}) or choose one in the node`);
      const action = raw.toLowerCase() as Action;
      if (!ACTIONS.includes(action)) throw new Error(`unknown action "${raw}"; use ${ACTIONS.join(', ')}`);

      if (action === 'dial') {
        const target = typeof msg.payload === 'number' ? String(msg.payload) : msg.payload;
        if (typeof target !== 'string' || !target.trim()) throw new Error('dial needs msg.payload: a number, user, IP or sip: URI');
        if (Array.isArray(msg.accounts)) {
          // parallel ring: the first account whose call is answered wins
          const list = msg.accounts.map((n) => named(String(n)));
          const p = new ParallelCall(list, target);
          msg.call = callMessage(p.branches[0].info);
          msg.calls = p.branches.map((b) => callMessage(b.info));
          msg.payload = 'dial';
          send(msg);
          return;
        }
        let account: SipAccount | undefined;
        if (typeof msg.account === 'string' && msg.account) account = named(msg.account);
        else if (acc?.account) {
          await acc.ready;
          account = acc.account;
        }
        if (!account) throw new Error('dial needs a SIP account: set one on the node or give msg.account (account name)');
        const call = account.dial(target);
        msg.call = callMessage(call.info);
        msg.payload = 'dial';
        send(msg);
        return;
      }

      const id = (msg.call as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string' || !id) throw new Error('msg.call.id is missing: wire this node after intercom-sip-in');
      const call: Call | undefined = callRegistry.getCall(id);
      if (!call) throw new Error(`no live call with id ${id} (it has ended or belongs to a stopped account)`);
      switch (action) {
        case 'answer':
          await call.answer();
          break;
        case 'ring':
          // msg.early: 183 Session Progress with SDP, so the caller hears our media before answer
          await call.ring(msg.early === true);
          break;
        case 'reject': {
          const code = Number(msg.code ?? def.code ?? 486);
          if (!Number.isInteger(code) || code < 300 || code > 699) throw new Error(`reject code must be 300-699, got ${JSON.stringify(msg.code ?? def.code)}`);
          call.reject(code);
          break;
        }
        case 'redirect': {
          // The same order as play and dtmf: msg.target, the node's Target, then msg.payload
          // (a ring straight from sip-in carries payload "ring", which must not become a target).
          const target =
            (typeof msg.target === 'string' && msg.target) || (def.target ?? '').trim() || (typeof msg.payload === 'string' ? msg.payload : '');
          if (!target) throw new Error('redirect needs msg.target (or the node setting / msg.payload): a user, number or sip: URI');
          call.redirect(target);
          break;
        }
        case 'cancel':
          call.cancel();
          break;
        case 'hangup':
          call.hangup();
          break;
        case 'play': {
          // The node's own setting before msg.payload: after another sip-call node the payload is that node's action name.
          const source = typeof msg.prompt === 'string' && msg.prompt ? msg.prompt : def.prompt || (typeof msg.payload === 'string' && msg.payload ? msg.payload : undefined);
          if (!source) throw new Error('play needs msg.prompt (or msg.payload / the node setting): a built-in prompt name or a WAV file path');
          if (!call.media?.play || call.state !== 'answered') throw new Error(`cannot play into a call that is ${call.state}`);
          await call.media.play(source);
          break;
        }
        case 'dtmf': {
          const raw = msg.digits ?? (def.digits || (typeof msg.payload === 'string' || typeof msg.payload === 'number' ? msg.payload : undefined));
          const digits = String(raw ?? '').trim();
          if (!/^[0-9*#A-Da-d]{1,32}$/.test(digits)) throw new Error(`dtmf needs msg.digits (or msg.payload / the node setting): 1-32 of 0-9 * # A-D, got ${JSON.stringify(raw)}`);
          if (call.state !== 'answered') throw new Error(`cannot send DTMF into a call that is ${call.state}`);
          await call.sendDtmf(digits);
          break;
        }
        case 'bridge': {
          const other = (msg.bridge as { id?: unknown } | undefined)?.id ?? msg.bridgeTo;
          if (typeof other !== 'string' || !other) throw new Error('bridge needs the second call: msg.bridge.id (a msg.call of the other call) or msg.bridgeTo');
          const b = callRegistry.getCall(other);
          if (!b) throw new Error(`no live call with id ${other} to bridge to`);
          bridgeCalls(call, b);
          break;
        }
        case 'forward':
          await startForward(call, msg);
          break;
      }
      msg.call = callMessage(call.info);
      msg.payload = action;
      send(msg);
    });
    const startForward = async (panel: Call, msg: NodeMessage): Promise<void> => {
      const account = acc?.account;
      if (!account) throw new Error('forward needs the SIP account set on the node: the legs are dialled from it');
      let targets = parseTargets(msg.targets ?? def.targets ?? '');
      if (!targets.length && apartments) targets = lookupApartment(apartments, panel.info.to.user) ?? [];
      const monitorRaw = typeof msg.monitor === 'string' ? msg.monitor : def.monitor?.trim();
      const monitor = monitorRaw ? normalizeTarget(monitorRaw) : undefined;
      if (!targets.length && !monitor) throw new Error(`forward needs targets: msg.targets, the node's list, or an apartment table entry for "${panel.info.to.user}"`);
      const modeRaw = typeof msg.mode === 'string' ? msg.mode : def.forwardMode || 'sequential';
      if (modeRaw !== 'all' && modeRaw !== 'sequential') throw new Error(`forward mode must be "all" or "sequential", got ${JSON.stringify(modeRaw)}`);
      const fwd = new ForwardCall(account, panel, targets, {
        mode: modeRaw as ForwardMode,
        perTargetMs: seconds(msg.ringTime ?? def.ringTime, 20, 'ring time'),
        monitor,
        monitorMs: seconds(msg.monitorTime ?? def.monitorTime, 20, 'monitor time'),
      });
      forwards.add(fwd);
      const report = (payload: string, forward: Record<string, unknown>, leg?: Call): void => {
        forwards.delete(fwd);
        this.send({ topic: msg.topic, payload, call: callMessage(panel.info), forward, ...(leg ? { leg: callMessage(leg.info) } : {}) });
      };
      fwd.on('answered', (leg: Call, target: string) => report('forwarded', { target }, leg));
      fwd.on('failed', (reason: string) => report('forward-failed', { reason }));
      fwd.on('dial-error', (target: string, err: unknown) => this.warn(`forward: cannot dial ${target}: ${err instanceof Error ? err.message : String(err)}`));
      await fwd.start();
      msg.forward = { targets, mode: modeRaw, monitor };
    };
    onClose(this, T, () => {
      for (const f of forwards) f.stop();
      forwards.clear();
      acc?.deregisterUser(this);
    });
  }
  RED.nodes.registerType('intercom-sip-call', IntercomSipCallNode);
};
