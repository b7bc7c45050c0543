/**
 * intercom-sip-call: acts on the call named by msg.call.id (answer, ring, reject, hangup,
 * redirect, cancel) or places a new call (dial msg.payload from its account, with the
 * account's failover). The action comes from msg.action or the node's setting.
 */
import { accountRegistry, callRegistry } from './lib/sip/registry';
import { ParallelCall } from './lib/sip/parallel';
import type { SipAccount } from './lib/sip/account';
import type { Call } from './lib/sip/call';
import type { SipAccountNode } from './intercom-sip-account.types';
import { callMessage } from './intercom-sip-in.helpers';
import { onClose, onInput } from './shared/lifecycle';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

const ACTIONS = ['answer', 'ring', 'reject', 'hangup', 'redirect', 'dial', 'cancel'] as const;
type Action = (typeof ACTIONS)[number];

interface SipCallDef extends NodeDef {
  account?: string;
  action?: string; // one of ACTIONS or 'msg'
  code?: string | number;
  target?: string;
}

function named(name: string): SipAccount {
  const a = accountRegistry.get(name);
  if (!a) throw new Error(`no started SIP account named "${name}"`);
  return a;
}

export = function (RED: RED): void {
  function IntercomSipCallNode(this: Node, def: SipCallDef): void {
    RED.nodes.createNode(this, def);
    const acc = def.account ? (RED.nodes.getNode(def.account) as SipAccountNode | null) : null;
    if (acc?.account) acc.registerUser(this);
    else this.status({});

    onInput(this, async (msg: NodeMessage, send) => {
      const raw = typeof msg.action === 'string' && msg.action ? msg.action : def.action && def.action !== 'msg' ? def.action : undefined;
      if (!raw) throw new Error('no action: set msg.action (answer, ring, reject, hangup, redirect, dial, cancel) or choose one in the node');
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
          const target = typeof msg.target === 'string' ? msg.target : typeof msg.payload === 'string' && msg.payload ? msg.payload : def.target;
          if (!target) throw new Error('redirect needs msg.target (or msg.payload / the node setting): a user, number or sip: URI');
          call.redirect(target);
          break;
        }
        case 'cancel':
          call.cancel();
          break;
        case 'hangup':
          call.hangup();
          break;
      }
      msg.call = callMessage(call.info);
      msg.payload = action;
      send(msg);
    });
    onClose(this, () => {
      acc?.deregisterUser(this);
    });
  }
  RED.nodes.registerType('intercom-sip-call', IntercomSipCallNode);
};
