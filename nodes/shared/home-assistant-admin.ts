/**
 * The editor's pickers ask Home Assistant through the runtime, never from the browser (the
 * token stays in the runtime): POST <admin>/intercom-home-assistant/pickers with the
 * dialog's connection and what to list. A deployed config node answers over its own
 * websocket; values not deployed yet get a one-shot connection. A stored token is only
 * ever sent to the URL stored with it: a dialog that changed the URL must give the token too.
 */
import { errorText, IntercomError } from '../lib/core/errors';
import { doorServiceChoices, entityChoices, notifyChoices, PICKER_KINDS, validDomain, type Choice, type PickerKind, type ServiceTable, type StateList } from '../lib/homeassistant/pickers';
import { HaWsLink } from '../lib/homeassistant/ws-link';
import { haAccess, type HaConfigNode, type HaSourceDef } from './home-assistant';
import type { Texts } from './i18n';
import type { HttpRequest, HttpResponse, RED } from './red';

interface PickerRequest extends HaSourceDef {
  /** the config node being edited (may not be deployed yet) */
  id?: string;
  token?: string;
  kind?: string;
  domain?: string;
}

/** Node-RED's placeholder for a password credential the editor has but does not show. */
const STORED = '__PWRD__';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function same(a: unknown, b: unknown): boolean {
  return (a || '') === (b || '');
}

/** The deployed node's link, when the dialog still describes its connection. */
function deployedLink(RED: RED, body: PickerRequest): HaWsLink | null {
  const node = body.id ? (RED.nodes.getNode(body.id) as HaConfigNode | null) : null;
  if (!node?.ws) return null;
  const unchangedToken = !body.token || body.token === STORED;
  const connection = node.source;
  if (!same(body.addon === true, connection.addon === true) || !same(body.haFrom, connection.haFrom) || !same(body.haUrl?.trim(), connection.haUrl?.trim()) || !unchangedToken) return null;
  return node.ws;
}

async function list(link: HaWsLink, kind: PickerKind, domain: string | undefined): Promise<Choice[]> {
  if (kind === 'entity') {
    if (!validDomain(domain)) throw new IntercomError('ha.pickerDomain', { domain: String(domain).slice(0, 40) });
    return entityChoices(await link.command<StateList>({ type: 'get_states' }), domain);
  }
  const services = await link.command<ServiceTable>({ type: 'get_services' });
  return kind === 'notify' ? notifyChoices(services) : doorServiceChoices(services);
}

async function answer(RED: RED, body: PickerRequest): Promise<Choice[]> {
  const kind = body.kind as PickerKind;
  if (!PICKER_KINDS.includes(kind)) throw new IntercomError('ha.pickerKind', { kind: String(body.kind).slice(0, 40) });
  const deployed = deployedLink(RED, body);
  if (deployed) {
    deployed.start();
    if (!deployed.connected) await deployed.whenConnected(5000);
    return list(deployed, kind, body.domain);
  }
  // Not deployed as the dialog now says: connect once with what the dialog holds.
  let token = body.token && body.token !== STORED ? body.token : undefined;
  if (!token && body.id && !body.addon && !body.haFrom) {
    const stored = RED.nodes.getCredentials?.(body.id) ?? {};
    const node = RED.nodes.getNode(body.id) as HaConfigNode | null;
    // Stored token, stored URL: never this token to another address.
    if (node?.source && same(node.source.haUrl?.trim(), body.haUrl?.trim())) token = stored.token;
  }
  const access = haAccess(RED, { addon: body.addon === true, haFrom: body.haFrom || undefined, haUrl: body.haUrl, insecureTls: body.insecureTls === true }, { token });
  if (!access) throw new IntercomError('ha.noToken');
  const link = new HaWsLink({ ...access, logger: quiet, connectTimeoutMs: 5000 });
  try {
    link.start();
    await link.whenConnected(6000);
    return await list(link, kind, body.domain);
  } finally {
    link.close();
  }
}

/** What only a wrong request gets (a picker the editor does not have), not HA being away. */
const BAD_REQUEST = new Set(['ha.pickerKind', 'ha.pickerDomain']);

export function registerHaAdmin(RED: RED, T: Texts): void {
  const check = RED.auth?.needsPermission('intercom-home-assistant.read');
  const perm = check ? [(req: HttpRequest, res: HttpResponse, next?: () => void) => check(req, res, next ?? (() => undefined))] : [];
  RED.httpAdmin.post('/intercom-home-assistant/pickers', ...perm, (req, res) => {
    const body = (req.body && typeof req.body === 'object' ? req.body : {}) as PickerRequest;
    answer(RED, body).then(
      (choices) => res.json({ choices }),
      // Home Assistant not reachable, no token, a kind it does not offer: an answer for the
      // picker's note, not a failed request (the browser would log every one as an error).
      (err: unknown) => {
        if (!(err instanceof IntercomError)) res.status(500).json({ error: errorText(err).slice(0, 200) });
        else if (BAD_REQUEST.has(err.code)) res.status(400).json({ error: T.describe(err) });
        else res.json({ choices: [], error: T.describe(err) });
      },
    );
  });
}
