/**
 * The package contract, checked through a running Node-RED's admin API. Each check returns
 * the problems it found (empty = holds), so a test asserts `toEqual([])` and prints every
 * problem at once, and the self-test can prove that a broken install is caught.
 * Expectations come from the checkout (package.json, icons/, locales/, examples/), never
 * from a list written here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NodeRedInstance, Packed, declaredTypes, get, getJson, listFiles, pkg, repoRoot } from './package';

const mod = pkg.name;

interface NodeSet {
  id: string;
  name: string;
  types: string[];
  enabled: boolean;
  module: string;
  version?: string;
  err?: unknown;
}

/** The compiled file name (without .js) Node-RED derives locale/help file names from. */
function baseOf(type: string): string {
  return path.basename(pkg['node-red'].nodes[type], '.js');
}

/** What npm would publish: every node's code and editor files, the examples, and no Node-RED. */
export function checkTarball(packed: Packed): string[] {
  const problems: string[] = [];
  const has = new Set(packed.files);
  if (!has.has('package.json')) problems.push('tarball: no package.json');
  for (const type of declaredTypes()) {
    const js = pkg['node-red'].nodes[type].replace(/^\.\//, '');
    const dir = path.posix.dirname(js);
    for (const f of [js, `${dir}/${baseOf(type)}.html`, `${dir}/locales/en-US/${baseOf(type)}.json`, `${dir}/locales/en-US/${baseOf(type)}.html`]) {
      if (!has.has(f)) problems.push(`tarball: ${type} lacks ${f}`);
    }
  }
  for (const f of listFiles(path.join(repoRoot, 'examples'))) {
    if (!has.has(`examples/${f}`)) problems.push(`tarball: examples/${f} not packed`);
  }
  if (!has.has('resources/intercom-editor.js')) problems.push("tarball: resources/intercom-editor.js (the dialogs' field rules) not packed");
  for (const f of packed.files) {
    if (/^(test|bench|scripts|\.cache|\.node-red)\//.test(f) || (/\.ts$/.test(f) && !/\.d\.ts$/.test(f))) problems.push(`tarball: ships ${f}`);
  }
  // a dangling "main" makes require('<package>') fail for anyone who tries it
  const main = (pkg as { main?: string }).main;
  if (main && !has.has(path.posix.normalize(main.replace(/^\.\//, '')))) problems.push(`package.json: main ${main} is not in the tarball`);
  const deps = pkg.dependencies ?? {};
  for (const d of Object.keys(deps)) {
    if (d === 'node-red' || d.startsWith('@node-red/')) problems.push(`package.json: ${d} is a dependency (the user's Node-RED provides it)`);
  }
  return problems;
}

export async function nodeSets(nr: NodeRedInstance): Promise<NodeSet[]> {
  return getJson<NodeSet[]>(`${nr.url}/nodes`);
}

/** Every declared type is its own node set, enabled, loaded without `err`, and nothing else is. */
export async function checkRegistration(nr: NodeRedInstance): Promise<string[]> {
  const problems: string[] = [];
  const sets = (await nodeSets(nr)).filter((s) => s.module === mod);
  if (sets.length === 0) return [`/nodes: module ${mod} is not listed`];
  for (const type of declaredTypes()) {
    const set = sets.find((s) => s.name === type);
    if (!set) {
      problems.push(`/nodes: no node set ${mod}/${type}`);
      continue;
    }
    if (set.err) problems.push(`/nodes: ${type} failed to load: ${typeof set.err === 'string' ? set.err : JSON.stringify(set.err)}`);
    if (set.enabled !== true) problems.push(`/nodes: ${type} is not enabled`);
    if (!set.types.includes(type)) problems.push(`/nodes: set ${type} registers [${set.types.join(', ')}], not ${type}`);
  }
  for (const s of sets) {
    if (!declaredTypes().includes(s.name)) problems.push(`/nodes: undeclared node set ${s.id}`);
    for (const t of s.types) if (!t.startsWith('intercom-')) problems.push(`/nodes: ${s.id} registers ${t} without the intercom- prefix`);
  }
  const info = await getJson<{ version: string; nodes: NodeSet[] }>(`${nr.url}/nodes/${mod}`);
  if (info.version !== pkg.version) problems.push(`/nodes/${mod}: version ${info.version}, package.json says ${pkg.version}`);
  // Installing from the palette must not pull a second Node-RED into the user dir.
  for (const dup of ['node-red', '@node-red/runtime']) {
    if (fs.existsSync(path.join(nr.userDir, 'node_modules', dup, 'package.json'))) problems.push(`install pulled ${dup} into the user dir`);
  }
  return problems;
}

async function setHtml(nr: NodeRedInstance, type: string): Promise<string> {
  const r = await get(`${nr.url}/nodes/${mod}/${type}`, 'text/html');
  if (r.status !== 200) throw new Error(`GET /nodes/${mod}/${type} (html) -> ${r.status}`);
  return r.body;
}

/** Each icons/*.svg of the checkout is listed and served byte for byte; every icon a node names exists. */
export async function checkIcons(nr: NodeRedInstance): Promise<string[]> {
  const problems: string[] = [];
  const listing = await getJson<Record<string, string[]>>(`${nr.url}/icons`);
  const ours = listing[mod] ?? [];
  const known = new Set(Object.values(listing).flat());
  for (const file of listFiles(path.join(repoRoot, 'icons')).filter((f) => f.endsWith('.svg'))) {
    if (!ours.includes(file)) problems.push(`/icons: ${file} not listed for ${mod}`);
    const r = await get(`${nr.url}/icons/${mod}/${encodeURIComponent(file)}`, 'image/svg+xml');
    if (r.status !== 200 || !r.type.startsWith('image/svg+xml')) problems.push(`/icons/${mod}/${file}: ${r.status} ${r.type}`);
    else if (r.body !== fs.readFileSync(path.join(repoRoot, 'icons', file), 'utf8')) problems.push(`/icons/${mod}/${file}: differs from icons/${file}`);
  }
  for (const type of declaredTypes()) {
    const html = (await setHtml(nr, type)).replace(/<script[^>]*data-help-name[\s\S]*?<\/script>/gi, '');
    for (const m of html.matchAll(/\bicon\s*:\s*["']([^"']+)["']/g)) {
      const icon = m[1];
      if (icon.startsWith('font-awesome/') || icon.includes('/')) continue;
      if (!known.has(icon)) problems.push(`${type}: icon ${icon} is not served by Node-RED`);
    }
  }
  return problems;
}

function lookup(catalog: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), catalog);
}

/**
 * en-US labels are served for each type (the catalog the editor loads from
 * /nodes/messages), and every key its editor HTML uses (data-i18n, this._('...')) resolves.
 */
export async function checkLocales(nr: NodeRedInstance): Promise<string[]> {
  const problems: string[] = [];
  const catalogs = await getJson<Record<string, Record<string, unknown>>>(`${nr.url}/nodes/messages?lng=en-US`);
  for (const type of declaredTypes()) {
    const ns = `${mod}/${type}`;
    const catalog = catalogs[ns];
    if (!catalog || typeof catalog[type] !== 'object') {
      problems.push(`/nodes/messages: no en-US labels for ${type} (locales/en-US/${baseOf(type)}.json)`);
      continue;
    }
    const html = (await setHtml(nr, type)).replace(/<script[^>]*data-help-name[\s\S]*?<\/script>/gi, '');
    const keys = new Set<string>();
    for (const m of html.matchAll(/data-i18n\s*=\s*["']([^"']+)["']/g)) {
      for (const part of m[1].split(';')) keys.add(part.replace(/^\[[^\]]*\]/, '').trim());
    }
    for (const m of html.matchAll(/(?<!RED\.)\b_\(\s*["']([^"']+)["']/g)) keys.add(m[1]);
    for (const raw of keys) {
      if (!raw) continue;
      const [keyNs, key] = raw.includes(':') ? raw.split(':', 2) : [ns, raw];
      if (keyNs !== ns) continue; // node-red's own catalogs (node-red:common...) are not ours to check
      // 'intercom-sip-call.action.' + this.action: a key built in code needs its group of texts
      if (key.endsWith('.')) {
        const group = lookup(catalog, key.slice(0, -1));
        const texts = group && typeof group === 'object' ? Object.values(group as Record<string, unknown>) : [];
        if (!texts.length || !texts.every((t) => typeof t === 'string')) problems.push(`${type}: label key ${key}<…> has no group of en-US texts`);
      } else if (typeof lookup(catalog, key) !== 'string') problems.push(`${type}: label key ${key} has no en-US text`);
    }
  }
  return problems;
}

/** Help text reaches the editor for each type (from locales/en-US/<type>.html or the node's HTML). */
export async function checkHelp(nr: NodeRedInstance): Promise<string[]> {
  const problems: string[] = [];
  const r = await get(`${nr.url}/nodes`, 'text/html');
  if (r.status !== 200) return [`/nodes (html) -> ${r.status}`];
  for (const type of declaredTypes()) {
    const esc = type.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&');
    const m = new RegExp(`<script[^>]*data-help-name\\s*=\\s*["']${esc}["'][^>]*>([\\s\\S]*?)</script>`).exec(r.body);
    if (!m) {
      problems.push(`/nodes: no help (data-help-name) for ${type}`);
      continue;
    }
    const text = m[1].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
    if (text.length < 40) problems.push(`${type}: help is only "${text}"`);
  }
  return problems;
}

const structural = new Set(['tab', 'group', 'subflow', 'junction', 'comment']);

/**
 * Every file under examples/ is offered by the examples library, returns the same flow, and
 * uses only node types this Node-RED has registered.
 */
export async function checkExamples(nr: NodeRedInstance): Promise<string[]> {
  const problems: string[] = [];
  const files = listFiles(path.join(repoRoot, 'examples'));
  if (files.length === 0) return problems;
  const base = `${nr.url}/library/examples/flows`;
  const modules = await getJson<string[]>(`${base}/`);
  if (!modules.includes(mod)) return [`/library/examples/flows: ${mod} not listed (has ${modules.join(', ')})`];
  const offered: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const url = `${base}/${[mod, ...rel.split('/').filter(Boolean)].map(encodeURIComponent).join('/')}`;
    const entries = await getJson<(string | { fn: string })[]>(url);
    for (const e of entries) {
      if (typeof e === 'string') await walk(rel ? `${rel}/${e}` : e);
      else offered.push(rel ? `${rel}/${e.fn}` : e.fn);
    }
  };
  await walk('');
  const types = new Set((await nodeSets(nr)).flatMap((s) => s.types));
  for (const f of files) {
    if (!f.endsWith('.json')) {
      problems.push(`examples/${f}: only .json flows are offered as examples`);
      continue;
    }
    const title = f.replace(/\.json$/, '');
    if (!offered.includes(title)) {
      problems.push(`examples/${f}: not offered (library lists ${offered.join(', ') || 'nothing'})`);
      continue;
    }
    const r = await get(`${base}/${[mod, ...title.split('/')].map(encodeURIComponent).join('/')}`);
    let flow: { type: string; id: string }[];
    try {
      flow = JSON.parse(r.body);
    } catch {
      problems.push(`examples/${f}: served as ${r.status} ${r.body.slice(0, 120)}`);
      continue;
    }
    const onDisk = JSON.parse(fs.readFileSync(path.join(repoRoot, 'examples', f), 'utf8'));
    if (JSON.stringify(flow) !== JSON.stringify(onDisk)) problems.push(`examples/${f}: served flow differs from the file`);
    if (!Array.isArray(flow)) {
      problems.push(`examples/${f}: not an array of nodes`);
      continue;
    }
    for (const n of flow) {
      if (structural.has(n.type) || n.type.startsWith('subflow:')) continue;
      if (!types.has(n.type)) problems.push(`examples/${f}: node ${n.id} has type ${n.type}, which is not registered`);
    }
  }
  for (const t of offered) if (!files.includes(`${t}.json`)) problems.push(`library offers ${t}, which is not in examples/`);
  return problems;
}

/** Node-RED said nothing bad about the package while loading it. */
export function checkLog(nr: NodeRedInstance): string[] {
  return nr
    .log()
    .split('\n')
    .filter((l) => /\[(warn|error)\]/.test(l) && (l.includes(mod) || l.includes('intercom-')))
    .map((l) => `log: ${l.trim()}`);
}
