/**
 * One door page: the browser phone a resident opens to answer the door. It is a phone of
 * the SIP account like any other (it registers over SIP over WebSocket as one of the
 * page's users, the flow rings it by that name), and the page node adds what a phone
 * lacks: who rings and that ring's picture, the camera live (Look), and Open, which is a
 * request to the flow (opens.ts). This joins the parts for one account and one door and
 * keeps count of the page users online.
 */
import type { Logger } from '../core/log';
import type { SipAccount } from '../sip/account';
import { type BrowserSip, PageApi, type PageApiOptions, type PageDoor } from './api';
import type { PageConfig } from './config';
import { type OpenOutcome, OpenRequests } from './opens';
import { RingBook } from './rings';
import { PageSessions } from './sessions';
import type { PageCatalog } from './texts';
import type * as http from 'node:http';

export interface DoorPageOptions {
  config: PageConfig;
  /** the account, started (its registrar is up) */
  account: SipAccount;
  door?: PageDoor & { panel?: string };
  catalog: PageCatalog;
  assetsDir: string;
  sipjs: PageApiOptions['sipjs'];
  open: PageApiOptions['open'];
  look: PageApiOptions['look'];
  /** the users online changed */
  presence(online: string[]): void;
  log: Logger;
}

/** Where a page reaches the account's WebSocket, from the account's settings and transport. */
export function browserSip(account: SipAccount): BrowserSip | undefined {
  const w = account.config.websocket;
  if (!w) return undefined;
  return { on: w.on, path: w.path, port: w.on === 'port' ? (account.ws?.port ?? w.port) : undefined, domain: account.config.domain, origins: w.origins };
}

export class DoorPage {
  readonly api: PageApi;
  readonly opens: OpenRequests;
  readonly sessions: PageSessions;
  readonly rings: RingBook;
  private readonly onBinding = (): void => this.opts.presence(this.online());

  constructor(private readonly opts: DoorPageOptions) {
    const { config, account } = opts;
    const registrar = account.registrar;
    this.sessions = new PageSessions({
      realm: registrar?.realm ?? account.config.domain ?? account.config.bindAddress,
      users: config.users,
      password: (u) => account.config.registrarAccounts?.find((a) => a.user === u)?.password,
    });
    this.opens = new OpenRequests({ waitMs: config.openWaitMs });
    this.rings = new RingBook({ account, snapshot: opts.door?.snapshot ? () => (opts.door as PageDoor).snapshot!() : undefined, panel: opts.door?.panel });
    this.api = new PageApi({
      config,
      sessions: this.sessions,
      opens: this.opens,
      rings: this.rings,
      catalog: opts.catalog,
      door: opts.door,
      sip: browserSip(account) ?? { on: 'node-red', path: '/sip', origins: [] },
      assetsDir: opts.assetsDir,
      sipjs: opts.sipjs,
      open: opts.open,
      look: opts.look,
      log: opts.log,
    });
    registrar?.on('binding', this.onBinding);
  }

  /** The page's users registered now from a browser. */
  online(): string[] {
    const r = this.opts.account.registrar;
    return this.opts.config.users.filter((u) => (r?.lookup(u) ?? []).some((b) => b.source.protocol === 'ws' || b.source.protocol === 'wss'));
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, sub: string): Promise<void> {
    return this.api.handle(req, res, sub);
  }

  /** The flow's answer to an Open; false when no press waits for it. */
  answer(id: unknown, outcome: OpenOutcome): boolean {
    return this.opens.answer(id, outcome);
  }

  close(): void {
    this.opts.account.registrar?.off('binding', this.onBinding);
    this.api.close();
    this.opens.close();
    this.sessions.clear();
    this.rings.close();
  }
}
