/**
 * intercom-sip-in: call events of its account on the first output — ring, progress,
 * answered, cancelled, ended, dtmf, reinvite, redirected — plus registered / unregistered,
 * with msg.call describing the call (the message conventions in README.md); what the
 * account refused (refused, flood, lockout: lib/sip/security.ts) on the second, for a journal.
 */
import type { AccountStatus, StatusDetail } from './lib/sip/account';
import type { SecurityEvent } from './lib/sip/security';
import { type Call, onCallTopics } from './lib/sip/call';
import type { DtmfEvent } from './lib/media/port';
import { eventFilter } from './lib/calls/call-form';
import { callMessage, statusDetailText } from './intercom-sip-in.helpers';
import type { SipAccountNode } from './intercom-sip-account.types';
import { onClose } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface SipInDef extends NodeDef {
  account?: string;
  /** comma separated topics to emit; empty = all */
  events?: string;
}

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-sip-in');
  function IntercomSipInNode(this: Node, def: SipInDef): void {
    RED.nodes.createNode(this, def);
    const acc = def.account ? (RED.nodes.getNode(def.account) as SipAccountNode | null) : null;
    if (!acc || !acc.account) {
      this.status(T.status('red', 'ring', 'noAccount'));
      this.error(T.t('errors.noAccount'));
      return;
    }
    let wanted: Set<string>;
    try {
      wanted = eventFilter(def.events);
    } catch (err) {
      // A misspelt event would let nothing through: say so at deploy.
      const problem = T.describe(err);
      this.status(T.status('red', 'ring', 'problem', { problem }));
      this.error(problem);
      return;
    }
    let closed = false;
    const emit = (msg: NodeMessage, output = 0): void => {
      if (closed) return;
      // "Only events" picks call events; what was refused always goes out on the second output.
      if (output === 0 && wanted.size && !wanted.has(String(msg.topic))) return;
      this.send(output === 0 ? msg : [null, msg]);
    };
    const onSecurity = (ev: SecurityEvent): void => {
      const r = ev.repeated;
      emit(
        {
          topic: ev.kind,
          payload: ev.reason,
          // What the journal and a dashboard read of a call, without an id: there is no call.
          call: { direction: 'inbound', account: ev.account, source: ev.source, from: ev.from ?? { user: ev.user ?? '', display: '', uri: '' }, to: ev.to, status: ev.status },
          security: ev,
          ...(r ? { note: T.t(r.sources > 1 ? 'note.repeatedSources' : 'note.repeated', { count: r.count, seconds: r.seconds, sources: r.sources }) } : {}),
          ...(ev.until ? { note: T.t('note.lockedUntil', { until: new Date(ev.until).toISOString() }) } : {}),
        },
        1,
      );
    };
    const onCall = (call: Call): void => {
      onCallTopics(call, (topic, payload) => {
        const msg: NodeMessage = { topic, call: callMessage(call.info) };
        if (topic === 'dtmf') {
          const ev = payload as DtmfEvent;
          msg.payload = ev.digit;
          msg.dtmf = ev;
        } else if (topic === 'ended') {
          msg.payload = payload;
        } else {
          msg.payload = payload ?? topic;
        }
        emit(msg);
      });
    };
    const name = acc.account.config.name;
    let registered = acc.account.status === 'registered';
    const onStatus = (s: AccountStatus, d: StatusDetail): void => {
      const detail = statusDetailText(T, d);
      if (s === 'registered' && !registered) emit({ topic: 'registered', payload: { account: name, detail } });
      else if (s !== 'registered' && registered) emit({ topic: 'unregistered', payload: { account: name, status: s, detail } });
      registered = s === 'registered';
    };
    acc.account.on('call', onCall);
    acc.account.on('status', onStatus);
    acc.account.on('security', onSecurity);
    acc.registerUser(this);
    onClose(this, T, () => {
      closed = true;
      acc.account.off('call', onCall);
      acc.account.off('status', onStatus);
      acc.account.off('security', onSecurity);
      acc.deregisterUser(this);
    });
  }
  RED.nodes.registerType('intercom-sip-in', IntercomSipInNode);
};
