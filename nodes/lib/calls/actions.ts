/**
 * What intercom-sip-call does, without Node-RED: which action a message asks for, where
 * each action takes its value from (the message or the node's setting, in a fixed order),
 * and the action itself on a live call. The node turns a message into a CallRequest and
 * the outcome back into a message.
 */
import { IntercomError } from '../core/errors';
import { numberSetting, secondsSetting } from '../core/settings';
import type { SipAccount } from '../sip/account';
import type { Call } from '../sip/call';
import { bridgeCalls, mediaOf } from './bridge-calls';
import type { ForwardCallOptions } from './forward-call';
import type { ForwardMode } from './forward-queue';
import { CALL_ACTIONS, DIGITS, FORWARD_MODES, REDIRECT_TARGET, REJECT_CODE, RING_TIME, type CallAction } from './call-form';
import { lookupApartment, normalizeTarget, parseTargets } from './forward-targets';
import { ParallelCall } from './parallel';

export { CALL_ACTIONS, type CallAction } from './call-form';

/** The node's settings that actions read (the editor's fields). */
export interface CallSettings {
  action?: string; // one of CALL_ACTIONS or 'msg'
  code?: string | number;
  target?: string;
  prompt?: string;
  digits?: string;
  targets?: string;
  forwardMode?: string;
  ringTime?: string | number;
  monitor?: string;
  monitorTime?: string | number;
}

/** The parts of a message actions read. */
export type CallRequest = Record<string, unknown>;


/** msg.action, else the node's action unless it says "from msg.action". */
export function chooseAction(msg: CallRequest, node: CallSettings): CallAction {
  const raw = typeof msg.action === 'string' && msg.action ? msg.action : node.action && node.action !== 'msg' ? node.action : undefined;
  const actions = CALL_ACTIONS.join(', ');
  if (!raw) throw new IntercomError('calls.noAction', { actions });
  const action = raw.toLowerCase() as CallAction;
  if (!CALL_ACTIONS.includes(action)) throw new IntercomError('calls.unknownAction', { action: raw.slice(0, 40), actions });
  return action;
}

/** The reject status: msg.code, the node's code, else 486 Busy Here; 300-699 only. */
export function rejectCode(msg: CallRequest, node: CallSettings): number {
  const raw = msg.code ?? node.code ?? REJECT_CODE.default;
  try {
    return numberSetting(raw, { field: 'code', ...REJECT_CODE });
  } catch {
    throw new IntercomError('calls.rejectCode', { code: String(JSON.stringify(raw)).slice(0, 20) });
  }
}

/**
 * The redirect target: msg.target, the node's Target, then msg.payload (a ring straight
 * from sip-in carries payload "ring", which must not become a target: it comes last).
 */
export function redirectTarget(msg: CallRequest, node: CallSettings): string {
  const target = (typeof msg.target === 'string' && msg.target) || (node.target ?? '').trim() || (typeof msg.payload === 'string' ? msg.payload : '');
  if (!target) throw new IntercomError('calls.noRedirectTarget');
  if (!REDIRECT_TARGET.test(target)) throw new IntercomError('calls.badTarget', { target: target.slice(0, 80) });
  return target;
}

/** The prompt: msg.prompt, the node's setting, then msg.payload (after another sip-call node the payload is its action's name). */
export function playSource(msg: CallRequest, node: CallSettings): string {
  const source = typeof msg.prompt === 'string' && msg.prompt ? msg.prompt : node.prompt || (typeof msg.payload === 'string' && msg.payload ? msg.payload : undefined);
  if (!source) throw new IntercomError('calls.noPrompt');
  return source;
}

/** The digits: msg.digits, the node's setting, then msg.payload; 1-32 of 0-9 * # A-D. */
export function dtmfDigits(msg: CallRequest, node: CallSettings): string {
  const raw = msg.digits ?? (node.digits || (typeof msg.payload === 'string' || typeof msg.payload === 'number' ? msg.payload : undefined));
  const digits = String(raw ?? '').trim();
  if (!DIGITS.test(digits)) throw new IntercomError('calls.badDigits', { digits: String(JSON.stringify(raw)).slice(0, 40) });
  return digits;
}

/** The id of a live call a message names (msg.call.id, or msg.bridge.id / msg.bridgeTo for the second call of a bridge). */
export function callIdOf(msg: CallRequest, which: 'call' | 'bridge' = 'call'): string {
  const id = which === 'call' ? (msg.call as { id?: unknown } | undefined)?.id : ((msg.bridge as { id?: unknown } | undefined)?.id ?? msg.bridgeTo);
  if (typeof id !== 'string' || !id) throw new IntercomError(which === 'call' ? 'calls.noCallId' : 'calls.noBridgePeer');
  return id;
}

/** Find a live call by id, or say it is gone. */
export function liveCall(find: (id: string) => Call | undefined, id: string): Call {
  const call = find(id);
  if (!call) throw new IntercomError('calls.noLiveCall', { id: id.slice(0, 80) });
  return call;
}

/** Every action on a live call but forward (which needs the node's account and reports later). */
export async function actOnCall(action: Exclude<CallAction, 'dial' | 'forward'>, call: Call, msg: CallRequest, node: CallSettings, find: (id: string) => Call | undefined): Promise<void> {
  switch (action) {
    case 'answer':
      return call.answer();
    case 'ring':
      // msg.early: 183 Session Progress with SDP, so the caller hears our media before answer
      return call.ring(msg.early === true);
    case 'reject':
      return call.reject(rejectCode(msg, node));
    case 'redirect':
      return call.redirect(redirectTarget(msg, node));
    case 'cancel':
      return call.cancel();
    case 'hangup':
      return call.hangup();
    case 'play': {
      const source = playSource(msg, node);
      if (call.state !== 'answered') throw new IntercomError('calls.playNotAnswered', { state: call.state });
      return mediaOf(call).play(source);
    }
    case 'dtmf': {
      const digits = dtmfDigits(msg, node);
      if (call.state !== 'answered') throw new IntercomError('calls.dtmfNotAnswered', { state: call.state });
      return call.sendDtmf(digits);
    }
    case 'bridge':
      bridgeCalls(call, liveCall(find, callIdOf(msg, 'bridge')));
      return;
  }
}

/** The number to dial: msg.payload as text (a number counts). */
export function dialTarget(msg: CallRequest): string {
  const target = typeof msg.payload === 'number' ? String(msg.payload) : msg.payload;
  if (typeof target !== 'string' || !target.trim()) throw new IntercomError('calls.noDialTarget');
  return target;
}

/**
 * Dial msg.payload: on every account msg.accounts names at once (parallel ring, the first
 * answer wins), from the account msg.account names, or from the node's own account (once
 * it has started) with its failover. Returns the calls placed, the first being msg.call.
 */
export async function dial(msg: CallRequest, own: () => Promise<SipAccount | undefined>, named: (name: string) => SipAccount | undefined): Promise<Call[]> {
  const target = dialTarget(msg);
  const byName = (n: unknown): SipAccount => {
    const a = named(String(n));
    if (!a) throw new IntercomError('calls.noSuchAccount', { name: String(n).slice(0, 64) });
    return a;
  };
  if (Array.isArray(msg.accounts)) return new ParallelCall(msg.accounts.map(byName), target).branches;
  const from = typeof msg.account === 'string' && msg.account ? byName(msg.account) : await own();
  if (!from) throw new IntercomError('calls.dialNeedsAccount');
  return [from.dial(target)];
}

export interface ForwardSetup {
  targets: string[];
  mode: ForwardMode;
  monitor?: string;
  options: ForwardCallOptions;
}

/**
 * Who a forward rings and how: msg.targets, the node's list, or the apartment table's
 * entry for the number the panel dialled; the monitor first if there is one; one by one
 * or all at once; ring times in seconds (msg or node), checked like every setting.
 */
export function forwardSetup(panel: Call, msg: CallRequest, node: CallSettings, apartments?: Map<string, string[]>): ForwardSetup {
  let targets = parseTargets(msg.targets ?? node.targets ?? '');
  if (!targets.length && apartments) targets = lookupApartment(apartments, panel.info.to.user) ?? [];
  const monitorRaw = typeof msg.monitor === 'string' ? msg.monitor : node.monitor?.trim();
  const monitor = monitorRaw ? normalizeTarget(monitorRaw) : undefined;
  if (!targets.length && !monitor) throw new IntercomError('calls.forwardNoTargets', { dialled: panel.info.to.user.slice(0, 40) });
  const raw = typeof msg.mode === 'string' ? msg.mode : node.forwardMode || 'sequential';
  if (!(FORWARD_MODES as readonly string[]).includes(raw)) throw new IntercomError('calls.forwardMode', { mode: String(JSON.stringify(raw)).slice(0, 40) });
  const mode = raw as ForwardMode;
  const ring = RING_TIME;
  return {
    targets,
    mode,
    monitor,
    options: {
      mode,
      perTargetMs: secondsSetting(msg.ringTime ?? node.ringTime, { field: 'ringTime', ...ring }),
      monitor,
      monitorMs: secondsSetting(msg.monitorTime ?? node.monitorTime, { field: 'monitorTime', ...ring }),
    },
  };
}
