/**
 * intercom-door-page: a web page, served by Node-RED under httpNodeRoot (so httpNodeAuth
 * and httpNodeMiddleware apply), that answers the door from any browser or a Home
 * Assistant dashboard: it registers as one of its users on a SIP account that serves
 * browsers, rings when the flow rings that user, shows who rings with the ring's picture,
 * then the camera live; Answer, Mute, keypad, Hang up, Look, and Open. Open comes out of
 * the first output as a message for the flow to decide (the second says who looked); the
 * flow's answer, sent back into the node, goes back to the page. What the page does is
 * nodes/lib/page.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IntercomError } from './lib/core/errors';
import { checkAccount, pageConfig, type PageDef } from './lib/page/config';
import { DoorPage } from './lib/page/door-page';
import { outcomeOf } from './lib/page/opens';
import { PageCatalog } from './lib/page/texts';
import type { SipAccountNode } from './intercom-sip-account.types';
import { callMessage } from './intercom-sip-in.helpers';
import { isDoor } from './shared/door';
import { onClose, onInput } from './shared/lifecycle';
import { texts } from './shared/i18n';
import type { Node, NodeDef, NodeMessage, RED } from './shared/red';

interface PageNodeDef extends PageDef, NodeDef {
  account?: string;
  door?: string;
}

type Handler = (req: any, res: any, next: () => void) => void;
const sipjsDir = path.dirname(require.resolve('sip.js/package.json'));
const sipjs = { dir: path.join(sipjsDir, 'lib'), version: (JSON.parse(fs.readFileSync(path.join(sipjsDir, 'package.json'), 'utf8')) as { version: string }).version };
const localesDir = [path.join(__dirname, 'locales'), path.join(__dirname, '..', 'locales')].find((d) => fs.existsSync(d)) ?? __dirname;
const assetsDir = path.join(__dirname, 'assets', 'door-page');

export = function (RED: RED): void {
  const T = texts(RED, 'intercom-door-page');
  const catalog = new PageCatalog(localesDir);
  /** the pages of this runtime by path below httpNodeRoot */
  const pages = new Map<string, DoorPage | null>();
  // One handler for every page, after Node-RED's httpNodeAuth/httpNodeMiddleware like any httpNode route.
  const httpNode = RED.httpNode as unknown as { use?(h: Handler): void } | undefined;
  httpNode?.use?.((req, res, next) => {
    let p: string;
    try {
      p = decodeURIComponent(String(req.path ?? new URL(req.url ?? '/', 'http://x').pathname)).replace(/\/+/g, '/');
    } catch {
      return next(); // not a path any page has
    }
    for (const [base, page] of pages) {
      if (p !== base && !p.startsWith(base + '/')) continue;
      if (!page) return void res.status(503).json({ error: 'starting' });
      return void page.handle(req, res, p.slice(base.length));
    }
    next();
  });

  function IntercomDoorPageNode(this: Node, def: PageNodeDef): void {
    RED.nodes.createNode(this, def);
    const acc = def.account ? (RED.nodes.getNode(def.account) as SipAccountNode | null) : null;
    const found = def.door ? RED.nodes.getNode(def.door) : null;
    const door = isDoor(found) ? found : undefined;
    let page: DoorPage | undefined;
    let closed = false;
    let last = '';
    let claimed: string | undefined;
    const problem = (err: unknown): void => {
      const text = T.describe(err);
      this.status(T.status('red', 'ring', 'problem', { problem: text }));
      this.error(T.t('errors.notStarted', { error: text }));
    };
    const showOnline = (online: string[]): void => {
      const who = { count: online.length, users: online.join(', '), last };
      if (!online.length) this.status(last ? T.status('grey', 'ring', 'noneOnlineLast', who) : T.status('grey', 'ring', 'noneOnline'));
      else this.status(last ? T.status('green', 'dot', 'onlineLast', who) : T.status('green', 'dot', 'online', who));
    };
    const start = async (): Promise<void> => {
      const cfg = pageConfig(def);
      if (!acc?.account) throw new IntercomError('page.noAccount');
      if (pages.has(cfg.path)) throw new IntercomError('page.pathInUse', { path: cfg.path });
      pages.set(cfg.path, null);
      claimed = cfg.path;
      this.status(T.status('grey', 'ring', 'starting'));
      await acc.ready;
      const account = acc.account;
      checkAccount(cfg, { name: account.config.name, mode: account.config.mode, websocket: account.config.websocket, registrarUsers: (account.config.registrarAccounts ?? []).map((a) => a.user) });
      if (closed) return;
      const info = door ? { id: door.doorId, name: door.doorName } : undefined;
      page = new DoorPage({
        config: cfg,
        account,
        door: door ? { ...info!, panel: door.panel, snapshot: door.hasCamera ? () => door.snapshot!() : undefined, watch: door.watch } : undefined,
        catalog,
        assetsDir,
        sipjs,
        log: T.logger(this),
        presence: showOnline,
        open: ({ user, address, leg, request }) => {
          last = T.t('last.open', { user });
          showOnline(page?.online() ?? []);
          const call = leg ? (leg.origin ?? leg) : undefined;
          const msg: NodeMessage = { topic: 'open', payload: 'open', page: { user, address, request: request.id, name: cfg.name, path: cfg.path } };
          if (info) msg.door = { ...info };
          if (call) msg.call = callMessage(call.info);
          if (leg) msg.leg = callMessage(leg.info);
          this.send([msg, null]);
        },
        look: ({ user, address }) => {
          last = T.t('last.look', { user });
          showOnline(page?.online() ?? []);
          // The second output: a Look is never an Open, whatever is wired to the first.
          this.send([null, { topic: 'look', payload: 'look', page: { user, address, name: cfg.name, path: cfg.path }, ...(info ? { door: { ...info } } : {}) }]);
        },
      });
      pages.set(cfg.path, page);
      showOnline(page.online());
    };
    start().catch((err: unknown) => {
      if (claimed) pages.delete(claimed);
      claimed = undefined;
      if (!closed) problem(err);
    });

    onInput(this, T, (msg: NodeMessage) => {
      // The flow's answer to an Open: it names the request the page node sent.
      const id = (msg.page as { request?: unknown } | undefined)?.request;
      if (id === undefined || !page) return;
      const outcome = outcomeOf(msg);
      if (!page.answer(id, outcome)) return;
      last = T.t(outcome.result === 'ok' ? 'last.opened' : 'last.notOpened', { user: String((msg.page as { user?: unknown }).user ?? '') });
      showOnline(page.online());
    });

    onClose(this, T, () => {
      closed = true;
      page?.close();
      if (claimed) pages.delete(claimed);
      page = undefined;
    });
  }
  RED.nodes.registerType('intercom-door-page', IntercomDoorPageNode);
};
