/**
 * intercom-sip-call: acts on the call named by msg.call.id (answer, ring, reject, hangup,
 * redirect, cancel, play a prompt, send DTMF, bridge to another call, forward to a queue of
 * people) or places a new call (dial msg.payload from its account, with the account's
 * failover). The action comes from msg.action or the node's setting; what each does is
 * nodes/lib/calls/actions.ts.
 */
import { actOnCall, callIdOf, type CallSettings, chooseAction, dial, forwardSetup, liveCall } from './lib/calls/actions';
import { ForwardCall } from './lib/calls/forward-call';
import { SIP_CALL_FORM } from './lib/calls/call-form';
import { parseApartmentTable } from './lib/calls/forward-targets';
import { checkForm } from './lib/core/fields';
import { accountRegistry } from './lib/sip/account';
import type { Call } from './lib/sip/call';
import { callRegistry } from './lib/sip/registry';
import type { SipAccountNode } from './intercom-sip-account.types';
import { callMessage } from './intercom-sip-in.helpers';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface SipCallDef extends NodeDef, CallSettings {
  account?: string;
  /** forward: the apartment table, `223: sip:5588@server, 5589` per line */
  apartments?: string;
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-sip-call');
  function IntercomSipCallNode(this: Node, def: SipCallDef): void {
    RED.nodes.createNode(this, def);
    const acc = def.account ? (RED.nodes.getNode(def.account) as SipAccountNode | null) : null;
    // A wrong setting (an apartment table, a target) is a deploy-time error, in red, not a surprise on the first call.
    let apartments: Map<string, string[]> | undefined;
    let problem: string | undefined;
    try {
      checkForm(SIP_CALL_FORM, def as unknown as Record<string, unknown>);
      apartments = def.apartments?.trim() ? parseApartmentTable(def.apartments) : undefined;
    } catch (err) {
      problem = T.describe(err);
      this.error(problem);
    }
    if (problem) this.status(T.status('red', 'ring', 'problem', { problem }));
    else if (acc?.account) acc.registerUser(this);
    else this.status({});
    const forwards = new Set<ForwardCall>();
    const find = (id: string): Call | undefined => callRegistry.getCall(id);

    onInput(this, T, async (msg: NodeMessage, send) => {
      if (problem) throw new Error(problem);
      const action = chooseAction(msg, def);
      if (action === 'dial') {
        const calls = await dial(msg, async () => (acc?.account ? (await acc.ready, acc.account) : undefined), (name) => accountRegistry.get(name));
        msg.call = callMessage(calls[0].info);
        if (Array.isArray(msg.accounts)) msg.calls = calls.map((c) => callMessage(c.info));
        msg.payload = 'dial';
        send(msg);
        return;
      }
      const call = liveCall(find, callIdOf(msg));
      if (action === 'forward') await startForward(call, msg);
      else await actOnCall(action, call, msg, def, find);
      msg.call = callMessage(call.info);
      msg.payload = action;
      send(msg);
    });

    const startForward = async (panel: Call, msg: NodeMessage): Promise<void> => {
      const account = acc?.account;
      if (!account) throw new Error(T.t('errors.forwardNeedsAccount'));
      const setup = forwardSetup(panel, msg, def, apartments);
      const fwd = new ForwardCall(account, panel, setup.targets, setup.options);
      forwards.add(fwd);
      const report = (payload: string, forward: Record<string, unknown>, leg?: Call): void => {
        forwards.delete(fwd);
        this.send({ topic: msg.topic, payload, call: callMessage(panel.info), forward, ...(leg ? { leg: callMessage(leg.info) } : {}) });
      };
      fwd.on('answered', (leg, target) => report('forwarded', { target }, leg));
      fwd.on('failed', (reason) => report('forward-failed', { reason }));
      fwd.on('dial-error', (target, err) => this.warn(T.t('warn.cannotDial', { target, error: T.describe(err) })));
      await fwd.start();
      msg.forward = { targets: setup.targets, mode: setup.mode, monitor: setup.monitor };
    };

    onClose(this, T, () => {
      for (const f of forwards) f.stop();
      forwards.clear();
      acc?.deregisterUser(this);
    });
  }
  RED.nodes.registerType('intercom-sip-call', IntercomSipCallNode);
};
