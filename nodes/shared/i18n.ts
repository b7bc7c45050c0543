/**
 * Every word a node shows at run time comes from its locale files, as Node-RED core does
 * it: a node's own texts are `<type>.<key>` in locales/<lang>/<type>.json, the texts it
 * shares with the others (the core's error and log codes) are `intercom.<key>` in
 * locales/<lang>/common/<area>.json, which the build merges into every node's catalog.
 */
import { describeError } from '../lib/core/describe';
import type { MessageParams } from '../lib/core/errors';
import type { Logger } from '../lib/core/log';
import type { Node, NodeStatus, NodeStatusFill, RED } from './red';

export interface Texts {
  /** this node's own text, `<type>.<key>` */
  t(key: string, params?: MessageParams): string;
  /** a shared text, `intercom.<key>` */
  common(key: string, params?: MessageParams): string;
  /** a thrown value as the user reads it: core codes translated (lists with their problems), anything else as it came */
  describe(err: unknown): string;
  /** a translated status, `<type>.status.<key>` */
  status(fill: NodeStatusFill, shape: 'ring' | 'dot', key: string, params?: MessageParams): NodeStatus;
  /** a core Logger that writes translated lines to the node's log */
  logger(node: Node): Logger;
}

export function texts(RED: RED, type: string): Texts {
  const t = (key: string, params?: MessageParams): string => RED._(`${type}.${key}`, params);
  const common = (key: string, params?: MessageParams): string => RED._(`intercom.${key}`, params);
  // A setting is named as its dialog labels it; a refused list names each problem's place.
  const describe = (err: unknown): string => describeError(err, { common, label: (field) => t(`label.${field}`) });
  const line = (code: string, params?: MessageParams): string => common(`log.${code}`, params);
  return {
    t,
    common,
    describe,
    status: (fill, shape, key, params) => ({ fill, shape, text: t(`status.${key}`, params) }),
    logger: (node) => ({
      debug: (code, params) => node.debug(line(code, params)),
      info: (code, params) => node.log(line(code, params)),
      warn: (code, params) => node.warn(line(code, params)),
      error: (code, params) => node.error(line(code, params)),
    }),
  };
}
