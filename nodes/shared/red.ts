/**
 * The slice of the Node-RED runtime API our nodes use, typed once here so every node
 * speaks to Node-RED the same way. Nothing under nodes/lib/ may import this file.
 */
import type { EventEmitter } from 'node:events';
import type * as http from 'node:http';

export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export type NodeStatusFill = 'red' | 'green' | 'yellow' | 'blue' | 'grey';
export interface NodeStatus {
  fill?: NodeStatusFill;
  shape?: 'ring' | 'dot';
  text?: string;
}

export type SendFn = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null> | null) => void;
export type DoneFn = (err?: Error) => void;

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export interface Node<Creds = Record<string, string | undefined>> extends EventEmitter {
  id: string;
  type: string;
  name?: string;
  z?: string;
  credentials: Creds;
  send(msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null> | null): void;
  status(status: NodeStatus | Record<string, never>): void;
  log(msg: unknown): void;
  warn(msg: unknown): void;
  error(msg: unknown, sourceMsg?: NodeMessage): void;
  debug(msg: unknown): void;
  trace(msg: unknown): void;
  context(): {
    get(key: string, store?: string): unknown;
    set(key: string, value: unknown, store?: string): void;
    flow: { get(key: string): unknown; set(key: string, value: unknown): void };
    global: { get(key: string): unknown; set(key: string, value: unknown): void };
  };
}

export interface CredentialDef {
  type: 'text' | 'password';
}

export interface RED {
  nodes: {
    createNode(node: Node, def: NodeDef): void;
    registerType(
      type: string,
      ctor: (this: Node, def: NodeDef) => void,
      opts?: { credentials?: Record<string, CredentialDef>; settings?: Record<string, unknown> },
    ): void;
    getNode(id: string): Node | null;
    /** a node's decrypted credentials (another package's config node too) */
    getCredentials?(id: string): Record<string, string | undefined> | undefined;
  };
  settings: Record<string, unknown> & { userDir?: string };
  httpAdmin: {
    get(path: string, ...handlers: Array<(req: HttpRequest, res: HttpResponse, next?: () => void) => void>): void;
    post(path: string, ...handlers: Array<(req: HttpRequest, res: HttpResponse, next?: () => void) => void>): void;
  };
  httpNode?: RED['httpAdmin'];
  /** the HTTP(S) server Node-RED serves the editor and httpNode routes on */
  server?: http.Server;
  auth?: { needsPermission(perm: string): (req: HttpRequest, res: HttpResponse, next: () => void) => void };
  util: {
    getMessageProperty(msg: NodeMessage, prop: string): unknown;
    setMessageProperty(msg: NodeMessage, prop: string, value: unknown, createMissing?: boolean): boolean;
    evaluateNodeProperty(value: string, type: string, node: Node, msg: NodeMessage): unknown;
    cloneMessage<T extends NodeMessage>(msg: T): T;
  };
  log: { info(m: unknown): void; warn(m: unknown): void; error(m: unknown): void; debug(m: unknown): void };
  _(id: string, subs?: Record<string, unknown>): string;
}

export interface HttpRequest {
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  body?: unknown;
}
export interface HttpResponse {
  status(code: number): HttpResponse;
  json(body: unknown): void;
  send(body: unknown): void;
  set(name: string, value: string): HttpResponse;
  sendStatus?(code: number): void;
}
