/**
 * intercom-sip-account (config): owns one SIP account — its transport, registration or
 * registrar — for the flow nodes that use it, the way core mqtt-broker owns a connection.
 * Flow nodes register with it to get status updates; close frees the SIP port first.
 */
import { SipAccount, type AccountConfig, type AccountStatus } from './lib/sip/account';
import { type AccountDef, accountConfig } from './lib/sip/account-config';
import { createRtpMediaFactory } from './lib/media/call-media';
import { registerProvider } from './shared/providers';
import type { SipAccountNode } from './intercom-sip-account.types';
import { onClose } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { HttpRequest, HttpResponse, Node, NodeDef, NodeStatus, RED } from './shared/red';

const STATUS: Record<AccountStatus, NodeStatus> = {
  starting: { fill: 'grey', shape: 'ring', text: 'starting' },
  bound: { fill: 'green', shape: 'ring', text: 'bound' },
  registering: { fill: 'yellow', shape: 'ring', text: 'registering' },
  registered: { fill: 'green', shape: 'dot', text: 'registered' },
  failed: { fill: 'red', shape: 'ring', text: 'failed' },
  closed: { fill: 'grey', shape: 'ring', text: 'closed' },
};

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-sip-account');
  function IntercomSipAccountNode(this: SipAccountNode, def: AccountDef & NodeDef): void {
    RED.nodes.createNode(this, def);
    const users = new Set<Node>();
    let config: AccountConfig | undefined;
    let configError: string | undefined;
    try {
      config = accountConfig(def, this.credentials ?? {});
    } catch (err) {
      configError = T.describe(err);
    }
    const account = new SipAccount(config ?? ({ name: def.id } as AccountConfig), {
      logger: { debug: (m) => this.debug(m), warn: (m) => this.warn(m) },
      // Real RTP per call, bound to the account's own address (the SDP c= line).
      mediaFactory: createRtpMediaFactory({ rtpTimeoutMs: config?.rtpTimeoutMs }),
    });
    account.trace.enabled = def.trace === true;
    this.account = account;
    let view: NodeStatus = STATUS.starting;
    this.statusView = () => view;
    const publish = (): void => {
      for (const u of users) u.status(view);
    };
    account.on('status', (s: AccountStatus, detail: string) => {
      view = { ...STATUS[s], text: detail && s !== 'bound' ? `${STATUS[s].text}: ${detail}` : STATUS[s].text };
      if (s === 'bound' && config) view = { ...STATUS.bound, text: config.mode === 'client' ? 'bound, not registered' : `${config.mode} ${detail}` };
      publish();
    });
    this.registerUser = (n) => {
      users.add(n);
      n.status(view);
    };
    this.deregisterUser = (n) => {
      users.delete(n);
    };
    this.ready = (async () => {
      if (!config) throw new Error(configError);
      // Looked up at dial time: the failover's config node may be created after this one.
      if (def.failover) account.failover = () => (RED.nodes.getNode(def.failover as string) as SipAccountNode | null)?.account;
      await account.start();
    })();
    this.ready.catch((err: unknown) => {
      view = { fill: 'red', shape: 'ring', text: T.describe(err).slice(0, 60) };
      this.error(`SIP account ${def.name || def.id}: ${T.describe(err)}`);
      publish();
    });
    // A door with a DTMF action finds its call here; false tells it to ask the next account.
    const unregisterDtmf = registerProvider('dtmf-sender', {
      sendDtmf: async (callId, digits) => {
        const call = callId ? account.getCall(callId) : undefined;
        if (!call || call.isEnded) return false;
        await call.sendDtmf(digits);
        return true;
      },
    });
    onClose(this, T, async () => {
      unregisterDtmf();
      users.clear();
      await this.ready.catch(() => undefined);
      await account.close();
    });
  }
  RED.nodes.registerType('intercom-sip-account', IntercomSipAccountNode as never, {
    credentials: { password: { type: 'password' }, registrarPasswords: { type: 'password' } },
  });

  // The SIP trace for support, passwords masked; switch it on and off without a redeploy.
  const perm = (name: string) => {
    const check = RED.auth?.needsPermission(name);
    return check ? [(req: HttpRequest, res: HttpResponse, next?: () => void) => check(req, res, next ?? (() => undefined))] : [];
  };
  const find = (req: HttpRequest, res: HttpResponse): SipAccountNode | undefined => {
    const n = RED.nodes.getNode(req.params.id) as SipAccountNode | null;
    if (!n || !n.account) {
      res.status(404).send('no such SIP account');
      return undefined;
    }
    return n;
  };
  RED.httpAdmin.get('/intercom-sip-account/:id/trace', ...perm('intercom-sip-account.read'), (req, res) => {
    const n = find(req, res);
    if (!n) return;
    res.set('Content-Type', 'text/plain; charset=utf-8');
    res.set('Content-Disposition', `attachment; filename="sip-trace-${req.params.id}.txt"`);
    res.send(n.account.trace.text());
  });
  RED.httpAdmin.post('/intercom-sip-account/:id/trace/:state', ...perm('intercom-sip-account.write'), (req, res) => {
    const n = find(req, res);
    if (!n) return;
    n.account.trace.enabled = req.params.state === 'on';
    if (req.params.state === 'clear') n.account.trace.clear();
    res.json({ enabled: n.account.trace.enabled, entries: n.account.trace.size });
  });
};
