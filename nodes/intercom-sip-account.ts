/**
 * intercom-sip-account (config): owns one SIP account — its transport, registration or
 * registrar — for the flow nodes that use it, the way core mqtt-broker owns a connection.
 * Flow nodes register with it to get status updates; close frees the SIP port first.
 */
import * as path from 'node:path';
import * as https from 'node:https';
import { rm } from 'node:fs/promises';
import { SipAccount, type AccountConfig, type AccountStatus, type HttpServerHost, type StatusDetail } from './lib/sip/account';
import { type AccountDef, accountConfig } from './lib/sip/account-config';
import { createCallMediaFactory } from './lib/media/media-factory';
import { registerProvider } from './shared/providers';
import type { SipAccountNode } from './intercom-sip-account.types';
import { statusDetailText } from './intercom-sip-in.helpers';
import { onClose } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { HttpRequest, HttpResponse, Node, NodeDef, NodeStatus, NodeStatusFill, RED } from './shared/red';

const LOOK: Record<AccountStatus, [NodeStatusFill, 'ring' | 'dot']> = {
  starting: ['grey', 'ring'],
  bound: ['green', 'ring'],
  registering: ['yellow', 'ring'],
  registered: ['green', 'dot'],
  failed: ['red', 'ring'],
  closed: ['grey', 'ring'],
};

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-sip-account');
  // SIP over WebSocket under httpNodeRoot on Node-RED's own server (so WSS comes with its
  // https settings), guarded like Node-RED's websocket nodes: webSocketNodeVerifyClient.
  const root = RED.settings.httpNodeRoot;
  const httpServer: HttpServerHost | undefined =
    RED.server && root !== false
      ? { server: RED.server, root: typeof root === 'string' ? root : '/', secure: RED.server instanceof https.Server, verifyClient: RED.settings.webSocketNodeVerifyClient as HttpServerHost['verifyClient'] }
      : undefined;
  function IntercomSipAccountNode(this: SipAccountNode, def: AccountDef & NodeDef): void {
    RED.nodes.createNode(this, def);
    const users = new Set<Node>();
    let config: AccountConfig | undefined;
    let configError: unknown;
    try {
      config = accountConfig(def, this.credentials ?? {});
    } catch (err) {
      configError = err;
    }
    // A password only client mode sends: kept in another mode, it is said, not kept silently.
    if (config && config.mode !== 'client' && this.credentials?.password) this.warn(T.t('warn.passwordUnused', { mode: T.t(`mode.${config.mode}`) }));
    // The registrar's lockouts outlive a redeploy and a restart: a file per account in the user
    // dir (a runtime without one, a test harness, keeps them in memory).
    const userDir = RED.settings.userDir;
    const guardFile = userDir ? path.join(userDir, 'intercom-sip', `guard-${def.id.replace(/[^\w.-]/g, '_')}.json`) : undefined;
    // Real RTP per call, bound to the account's own address (the SDP c= line), or WebRTC
    // (werift) for a browser's call: the one place the media factory is chosen.
    const account = new SipAccount(config ?? ({ name: def.id } as AccountConfig), {
      logger: T.logger(this),
      mediaFactory: createCallMediaFactory({ rtp: { rtpTimeoutMs: config?.rtpTimeoutMs, portMin: config?.rtpPortMin, portMax: config?.rtpPortMax, video: true }, webrtc: { video: true, portMin: config?.rtpPortMin, portMax: config?.rtpPortMax } }),
      guardFile,
      httpServer,
    });
    account.trace.enabled = def.trace === true;
    this.account = account;
    let view: NodeStatus = T.status(...LOOK.starting, 'starting');
    this.statusView = () => view;
    const publish = (): void => {
      for (const u of users) u.status(view);
    };
    account.on('status', (s: AccountStatus, d: StatusDetail) => {
      const detail = statusDetailText(T, d);
      if (s === 'bound') view = T.status(...LOOK.bound, config?.mode === 'client' ? 'boundNotRegistered' : 'bound', { mode: config ? T.t(`modeShort.${config.mode}`) : '', detail });
      else view = T.status(...LOOK[s], detail ? `${s}Detail` : s, { detail });
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
      if (!config) throw configError;
      // Looked up at dial time: the failover's config node may be created after this one.
      if (def.failover) account.failover = () => (RED.nodes.getNode(def.failover as string) as SipAccountNode | null)?.account;
      await account.start();
    })().catch((err: unknown) => {
      // The whole reason, at deploy, on every node that uses the account (and in the log).
      view = T.status('red', 'ring', 'startFailed', { error: T.describe(err) });
      this.error(T.t('errors.startFailed', { account: def.name || def.id, error: T.describe(err) }));
      publish();
      throw new Error(T.describe(err), { cause: err });
    });
    this.ready.catch(() => undefined); // reported above; flow nodes that await it see it again
    // A door with a DTMF action finds its call here; false tells it to ask the next account.
    const unregisterDtmf = registerProvider('dtmf-sender', {
      sendDtmf: async (callId, digits) => {
        const call = callId ? account.getCall(callId) : undefined;
        if (!call || call.isEnded) return false;
        await call.sendDtmf(digits);
        return true;
      },
    });
    onClose(this, T, async (removed) => {
      unregisterDtmf();
      users.clear();
      await this.ready.catch(() => undefined);
      await account.close();
      // A deleted account leaves no lockout file behind; a redeployed one keeps it.
      if (removed && guardFile) await rm(guardFile, { force: true });
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
      res.status(404).send(T.t('errors.noSuchAccount'));
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
    const state = req.params.state;
    if (state === 'clear') n.account.trace.clear(); // clearing leaves the trace on or off as it was
    else if (state === 'on' || state === 'off') n.account.trace.enabled = state === 'on';
    else {
      res.status(400).send(T.t('errors.traceState'));
      return;
    }
    res.json({ enabled: n.account.trace.enabled, entries: n.account.trace.size });
  });
};
