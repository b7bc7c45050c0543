/**
 * The shipped examples as a user gets them: the file itself (never a copy in a test), and
 * only what its comment says to set after import changed. Every example has a comment
 * node whose info holds "After import, set:" and one line per node,
 * `- 'node name': Label, Label (what to put there)`; setAfterImport refuses to change a
 * field that line does not name by its dialog label, so a test cannot quietly make an
 * example work that a user could not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
const { catalog } = require('../../scripts/locales');

export const examplesDir = path.resolve(__dirname, '..', '..', 'examples');

export type FlowNode = Record<string, any>;

export interface Example {
  file: string;
  flow: FlowNode[];
  /** node name → what the comment says to set on it */
  todo: Map<string, string>;
}

/** Every example file, as `Group/Title.json`. */
export function exampleFiles(): string[] {
  return readdirSync(examplesDir)
    .flatMap((d) => readdirSync(path.join(examplesDir, d)).filter((f) => f.endsWith('.json')).map((f) => `${d}/${f}`))
    .sort();
}

/** The "After import, set:" list of an example's comment nodes. */
export function afterImport(flow: FlowNode[]): Map<string, string> | undefined {
  const comment = flow.find((n) => n.type === 'comment' && /After import/i.test(String(n.info ?? '')));
  if (!comment) return undefined;
  const todo = new Map<string, string>();
  let current: string | undefined;
  for (const line of String(comment.info).split('\n')) {
    const m = /^\s*-\s*'([^']+)'\s*(?:[a-z ]*?)?:\s*(.*)$/.exec(line);
    if (m) {
      current = m[1];
      todo.set(current, (todo.get(current) ?? '') + ' ' + m[2]);
    } else if (current && /^\s+\S/.test(line)) todo.set(current, todo.get(current) + ' ' + line.trim());
    else current = undefined;
  }
  return todo;
}

export function loadExample(file: string): Example {
  const flow = JSON.parse(readFileSync(path.join(examplesDir, file), 'utf8')) as FlowNode[];
  const todo = afterImport(flow);
  if (!todo) throw new Error(`${file}: no comment node says what to set after import`);
  return { file, flow, todo };
}

/** Credentials of the node types examples use (they never sit in the flow). */
const CREDENTIALS: Record<string, string[]> = {
  'intercom-sip-account': ['password', 'registrarPasswords'],
  'intercom-door': ['user', 'password', 'pin', 'mqttUser', 'mqttPassword'],
  'intercom-whitelist': ['pins'],
  'mqtt-broker': ['user', 'password'],
};

/** How core nodes' dialogs label the fields examples ask to set. */
const CORE_LABELS: Record<string, Record<string, string>> = {
  'mqtt-broker': { broker: 'Server', port: 'Port' },
  change: { rules: 'rule' },
  switch: { rules: 'rule' },
  inject: { payload: 'payload', props: 'payload' },
  'http request': { url: 'URL' },
};

export function labelOf(type: string, field: string): string {
  if (type.startsWith('intercom-')) {
    const label = (catalog('en-US', type)[type]?.label ?? {})[field];
    if (typeof label !== 'string') throw new Error(`${type}.label.${field} missing in en-US`);
    return label;
  }
  const label = CORE_LABELS[type]?.[field];
  if (!label) throw new Error(`no label known for ${type}.${field}`);
  return label;
}

/**
 * Sets fields of named nodes as the example's comment tells the user to; throws for a node
 * or a field the comment does not name. Returns the credentials to load the flow with.
 */
export function setAfterImport(ex: Example, edits: Record<string, Record<string, unknown>>): Record<string, Record<string, string>> {
  const credentials: Record<string, Record<string, string>> = {};
  for (const [name, fields] of Object.entries(edits)) {
    const nodes = ex.flow.filter((n) => n.name === name);
    if (nodes.length !== 1) throw new Error(`${ex.file}: ${nodes.length} nodes named '${name}'`);
    const node = nodes[0];
    const said = ex.todo.get(name);
    if (said === undefined) throw new Error(`${ex.file}: the comment does not tell the user to set anything on '${name}'`);
    for (const [field, value] of Object.entries(fields)) {
      // a long label is named by its words before the parenthesis ("Rules (one a line)" → Rules)
      const label = labelOf(node.type, field).replace(/\s*\(.*$/, '');
      if (!said.toLowerCase().includes(label.toLowerCase())) throw new Error(`${ex.file}: the comment does not name '${name}' → ${label} (${field}): "${said.trim()}"`);
      if (CREDENTIALS[node.type]?.includes(field)) (credentials[node.id] ??= {})[field] = String(value);
      else node[field] = value;
    }
  }
  return credentials;
}

/** The one node of a type (or of a type and name). */
export function nodeOf(ex: Example, type: string, name?: string): FlowNode {
  const found = ex.flow.filter((n) => n.type === type && (name === undefined || n.name === name));
  if (found.length !== 1) throw new Error(`${ex.file}: ${found.length} ${type} nodes${name ? ` named '${name}'` : ''}`);
  return found[0];
}
