/**
 * Node-RED as a Home Assistant add-on: the Supervisor gives every add-on a token
 * (SUPERVISOR_TOKEN) and proxies Home Assistant's APIs for it, so nothing has to be typed:
 * - http://supervisor/core/api/… and ws://supervisor/core/websocket: HA's REST and
 *   websocket APIs (the add-on needs homeassistant_api, which the Node-RED add-on has);
 * - http://supervisor/services/mqtt: the broker another add-on (Mosquitto) provides, with
 *   a user and password made for the asking add-on (it must declare the mqtt service);
 * - http://supervisor/addons/self/info: the add-on's own slug, for its ingress link.
 * Answers are {"result":"ok","data":…} or {"result":"error","message":…} (HTTP 400).
 * The address is settable (INTERCOM_SUPERVISOR_URL) so tests can stand the Supervisor in.
 */
import { IntercomError } from '../core/errors';
import type { HttpClient } from '../http/client';
import type { HaEndpoint } from './ws-link';

export const DEFAULT_SUPERVISOR_URL = 'http://supervisor';

export interface SupervisorAccess {
  /** http://supervisor, or what INTERCOM_SUPERVISOR_URL says */
  url: string;
  token: string;
}

/** The Supervisor as this process sees it, or why not (no token: not running as an add-on). */
export function supervisorAccess(env: Record<string, string | undefined>): SupervisorAccess {
  const token = (env.SUPERVISOR_TOKEN ?? env.HASSIO_TOKEN ?? '').trim();
  if (!token) throw new IntercomError('ha.noSupervisorToken');
  const url = (env.INTERCOM_SUPERVISOR_URL ?? '').trim().replace(/\/+$/, '') || DEFAULT_SUPERVISOR_URL;
  if (!/^https?:\/\/[^/]+/.test(url)) throw new IntercomError('ha.badSupervisorUrl', { value: url.slice(0, 100) });
  return { url, token };
}

/** Home Assistant's APIs through the Supervisor's proxy. */
export function supervisorEndpoint(s: SupervisorAccess): HaEndpoint {
  return { apiUrl: `${s.url}/core/api`, wsUrl: `${s.url.replace(/^http/, 'ws')}/core/websocket` };
}

export interface MqttService {
  url: string;
  username?: string;
  password?: string;
  /** the add-on that provides the broker, e.g. core_mosquitto */
  addon?: string;
}

async function call(http: HttpClient, s: SupervisorAccess, path: string): Promise<Record<string, unknown>> {
  let r;
  try {
    r = await http.request({ method: 'GET', url: `${s.url}${path}`, headers: { authorization: `Bearer ${s.token}` }, timeoutMs: 5000, maxBodyBytes: 256 * 1024 });
  } catch (err) {
    throw new IntercomError('ha.supervisorUnreachable', { url: s.url, detail: (err as Error).message.slice(0, 120) }, { cause: err });
  }
  let body: { result?: unknown; data?: unknown; message?: unknown } = {};
  try {
    body = JSON.parse(r.body.toString('utf8'));
  } catch {
    /* not JSON: reported by status below */
  }
  if (r.status === 401 || r.status === 403) throw new IntercomError('ha.supervisorRefused', { path, status: r.status });
  if (body.result !== 'ok' || !body.data || typeof body.data !== 'object') {
    const message = typeof body.message === 'string' ? body.message.slice(0, 160) : `HTTP ${r.status}`;
    throw new IntercomError('ha.supervisorError', { path, message });
  }
  return body.data as Record<string, unknown>;
}

/** The broker of the Supervisor's mqtt service, as an MQTT URL with its credentials. */
export async function mqttService(http: HttpClient, s: SupervisorAccess): Promise<MqttService> {
  let d: Record<string, unknown>;
  try {
    d = await call(http, s, '/services/mqtt');
  } catch (err) {
    // "No access to mqtt service!" (the add-on does not declare it) or "Service not enabled"
    // (no broker add-on): the user types the broker instead, and is told so.
    const e = err as IntercomError;
    if (e.code === 'ha.supervisorError') throw new IntercomError('ha.supervisorNoMqtt', { message: String(e.params.message) }, { cause: err });
    throw err;
  }
  const host = typeof d.host === 'string' ? d.host.trim() : '';
  const port = typeof d.port === 'number' ? d.port : Number(d.port);
  if (!host || /[\s/@]/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new IntercomError('ha.supervisorError', { path: '/services/mqtt', message: `host=${host.slice(0, 60)} port=${String(d.port).slice(0, 10)}` });
  }
  const ssl = d.ssl === true;
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return {
    url: `${ssl ? 'mqtts' : 'mqtt'}://${bracketed}:${port}`,
    username: typeof d.username === 'string' && d.username ? d.username : undefined,
    password: typeof d.password === 'string' && d.password ? d.password : undefined,
    addon: typeof d.addon === 'string' ? d.addon : undefined,
  };
}

/** The add-on's own slug (e.g. a0d7b954_nodered), for the homeassistant:// ingress link. */
export async function addonSlug(http: HttpClient, s: SupervisorAccess): Promise<string | undefined> {
  const d = await call(http, s, '/addons/self/info');
  return typeof d.slug === 'string' && /^[a-z0-9_]+$/.test(d.slug) ? d.slug : undefined;
}

/** The link HA's device page opens for an add-on: its panel inside Home Assistant. */
export function ingressUrl(slug: string): string {
  return `homeassistant://hassio/ingress/${slug}`;
}
