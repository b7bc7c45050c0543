/**
 * A real Home Assistant (and mosquitto) for the peer tier. Starts HA from the venv at
 * $HA_PYTHON or <repo>/.ha/bin/python with a throw-away config dir on a free loopback port,
 * onboards it without a browser, configures the MQTT integration, registers a mobile_app
 * stand-in and listens on its push channel exactly as the phone app does (see
 * ../shared/docs/PEERS.md). stop() kills the process group and removes the config dir.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import WebSocket, { WebSocketServer } from 'ws';
import { freeTcpPort } from './ports';
import { delay, waitFor } from './wait';

export function haPython(): string | null {
  const env = process.env.HA_PYTHON;
  if (env && existsSync(env)) return env;
  const local = path.resolve(__dirname, '..', '..', '.ha', 'bin', 'python');
  return existsSync(local) ? local : null;
}

/** describeWithPeers-style gate for HA (it is a venv, not a program on PATH). */
export function describeWithHomeAssistant(title: string, body: () => void): void {
  const inCI = process.env.CI === 'true' || process.env.CI === '1';
  if (haPython()) {
    describe(title, body);
  } else if (inCI) {
    describe(title, () => {
      test('Home Assistant venv present', () => {
        throw new Error('no Home Assistant at $HA_PYTHON or .ha/bin/python (see .ci/run)');
      });
    });
  } else {
    process.stderr.write(`\n[peer] SKIPPED "${title}": no Home Assistant venv (.ha/bin/python or $HA_PYTHON)\n`);
    describe.skip(title, body);
  }
}

// Safety net: if a test dies before its afterAll, no HA or broker outlives the jest worker.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) killGroup(c, 'SIGKILL');
});
function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

async function stopChild(child: ChildProcess | null, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  killGroup(child, 'SIGTERM');
  const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

// ---------------------------------------------------------------- mosquitto

export interface MosquittoOptions {
  /** user → password: the broker then refuses anonymous clients (mosquitto_passwd file) */
  users?: Record<string, string>;
}

/**
 * mosquitto as a user runs it: its default settings (no persistence, Nagle on, default
 * queue and in-flight limits), only told to listen on a loopback port, and optionally to
 * require a login. Nothing is tuned to make our side look faster or more reliable.
 */
export class Mosquitto {
  private child: ChildProcess | null = null;
  private dir = mkdtempSync(path.join(tmpdir(), 'ha-mosq-'));
  /** every client connection as mosquitto logs it (its default log goes to stderr), with when we read it */
  readonly connections: Array<{ at: number; clientId: string }> = [];
  constructor(
    readonly port: number,
    private readonly o: MosquittoOptions = {},
  ) {}

  static async start(o: MosquittoOptions = {}): Promise<Mosquitto> {
    const m = new Mosquitto(await freeTcpPort(), o);
    await m.start();
    return m;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const conf = path.join(this.dir, 'mosquitto.conf');
    const lines = [`listener ${this.port} 127.0.0.1`];
    if (this.o.users) {
      const pw = path.join(this.dir, 'passwd');
      writeFileSync(pw, '');
      for (const [u, p] of Object.entries(this.o.users)) execFileSync('mosquitto_passwd', ['-b', pw, u, p]);
      // Started as root, mosquitto drops to its own user before reading the password file.
      chmodSync(this.dir, 0o755);
      chmodSync(pw, 0o644);
      lines.push('allow_anonymous false', `password_file ${pw}`);
    } else {
      lines.push('allow_anonymous true');
    }
    writeFileSync(conf, lines.join('\n') + '\n');
    this.child = track(spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'], detached: true }));
    this.child.stderr?.on('data', (b: Buffer) => {
      for (const m of b.toString().matchAll(/New client connected from \S+ as (\S+)/g)) this.connections.push({ at: Date.now(), clientId: m[1] });
    });
    const port = this.port;
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const s = require('node:net').connect(port, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
        }),
      `mosquitto on ${port}`,
      5000,
      10,
    );
  }

  async stop(): Promise<void> {
    await stopChild(this.child, 2000);
    this.child = null;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- Home Assistant

export interface PushMessage {
  message: string;
  title?: string;
  data?: Record<string, any>;
  hass_confirm_id?: string;
  /** what the app shows: the picture it loaded from data.image the moment the push came */
  picture?: Promise<Buffer | null>;
  /** when the push arrived (Date.now()) */
  at?: number;
}

export class HomeAssistant {
  private child: ChildProcess | null = null;
  private log = '';
  readonly dir = mkdtempSync(path.join(tmpdir(), 'ha-config-'));
  accessToken = '';
  /** a long-lived token for the nodes, as a user would create one in the profile page */
  longLivedToken = '';
  readonly clientId: string;

  private constructor(readonly port: number) {
    this.clientId = `http://127.0.0.1:${port}/`;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * `extra`: more configuration.yaml lines (a `frontend:` for browser tests) and files to put
   * in the config dir (`ui-lovelace.yaml`).
   */
  static async start(extra: { config?: string[]; files?: Record<string, string> } = {}): Promise<HomeAssistant> {
    const ha = new HomeAssistant(await freeTcpPort());
    for (const [name, text] of Object.entries(extra.files ?? {})) writeFileSync(path.join(ha.dir, name), text);
    writeFileSync(
      path.join(ha.dir, 'configuration.yaml'),
      [
        'homeassistant:',
        '  name: Intercom test',
        '  latitude: 48.85',
        '  longitude: 2.35',
        '  elevation: 35',
        '  unit_system: metric',
        '  time_zone: UTC',
        '  country: FR',
        'http:',
        '  server_host: 127.0.0.1',
        `  server_port: ${ha.port}`,
        'api:',
        'config:',
        'onboarding:',
        'mobile_app:',
        'logger:',
        '  default: warning',
        ...(extra.config ?? []),
        '',
      ].join('\n'),
    );
    try {
      await ha.launch();
      await ha.onboard();
      await ha.launch(false);
    } catch (err) {
      const tail = ha.logTail(4000);
      await ha.dispose();
      throw new Error(`${(err as Error).message}\n--- Home Assistant log ---\n${tail}`);
    }
    return ha;
  }

  /** Starts the process (again) on the same config dir and port, and waits for the API. */
  async launch(spawnIt = true): Promise<void> {
    const python = haPython();
    if (!python) throw new Error('no Home Assistant python');
    if (spawnIt) this.spawn(python);
    const child = this.child!;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`Home Assistant exited ${child.exitCode}: ${this.log.slice(-3000)}`);
        // /api/ answers 401 once the http server and api are up.
        const r = await fetch(`${this.url}/api/`).catch(() => null);
        if (!r) return false;
        if (r.status !== 401 && r.status !== 200) return false;
        if (!this.accessToken) return true;
        // Startup is finished (config entries such as MQTT set up) once the core runs.
        const c = await this.rest('GET', '/api/config').catch(() => null);
        return c && c.state === 'RUNNING';
      },
      'Home Assistant to start',
      150000,
      250,
    );
  }

  private spawn(python: string): void {
    this.log = '';
    // --skip-pip: every requirement is installed with the venv, a test never reaches PyPI.
    this.child = track(
      spawn(python, ['-m', 'homeassistant', '--config', this.dir, '--skip-pip', '--log-no-color'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      }),
    );
    const keep = (b: Buffer): void => {
      this.log = (this.log + b.toString()).slice(-20000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  logTail(n = 3000): string {
    return this.log.slice(-n);
  }

  async rest(method: string, p: string, body?: unknown, token = this.accessToken): Promise<any> {
    const r = await fetch(this.url + p, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  private async onboard(): Promise<void> {
    const u = await fetch(`${this.url}/api/onboarding/users`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: this.clientId, name: 'Owner', username: 'owner', password: 'owner-pass-1', language: 'en' }),
    });
    if (!u.ok) throw new Error(`onboarding users: ${u.status} ${await u.text()}`);
    const { auth_code } = (await u.json()) as { auth_code: string };
    const t = await fetch(`${this.url}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: auth_code, client_id: this.clientId }),
    });
    if (!t.ok) throw new Error(`auth token: ${t.status} ${await t.text()}`);
    this.accessToken = ((await t.json()) as { access_token: string }).access_token;
    // core_config is left out on purpose: it sets up the met and radio_browser
    // integrations, whose requirements a test venv need not carry. Nothing we use needs it.
    await this.rest('POST', '/api/onboarding/analytics', {});
    await this.rest('POST', '/api/onboarding/integration', { client_id: this.clientId, redirect_uri: this.clientId });
    const ws = await this.socket();
    try {
      this.longLivedToken = (await ws.call({ type: 'auth/long_lived_access_token', client_name: 'intercom tests', lifespan: 30 })) as string;
    } finally {
      ws.close();
    }
  }

  /** MQTT integration through its config flow, pointed at a broker on loopback. */
  async configureMqtt(port: number, login?: { username: string; password: string }): Promise<void> {
    const flow = await this.rest('POST', '/api/config/config_entries/flow', { handler: 'mqtt', show_advanced_options: false });
    const r = await this.rest('POST', `/api/config/config_entries/flow/${flow.flow_id}`, { broker: '127.0.0.1', port, ...(login ?? {}) });
    if (r.type !== 'create_entry') throw new Error(`MQTT config flow: ${JSON.stringify(r)}`);
  }

  async state(entityId: string): Promise<any | null> {
    try {
      return await this.rest('GET', `/api/states/${entityId}`);
    } catch (err) {
      if (/: 404 /.test((err as Error).message)) return null;
      throw err;
    }
  }

  /** Devices as HA's device page shows them (manufacturer, model, sw_version, configuration_url). */
  async devices(): Promise<Array<Record<string, any>>> {
    const ws = await this.socket();
    try {
      return (await ws.call({ type: 'config/device_registry/list' })) as Array<Record<string, any>>;
    } finally {
      ws.close();
    }
  }

  /** An authenticated websocket with a tiny request/response and event API. */
  async socket(token = this.accessToken): Promise<HaSocket> {
    return HaSocket.open(`ws://127.0.0.1:${this.port}/api/websocket`, token);
  }

  /** Registers a phone stand-in that receives pushes over the websocket channel. */
  async registerPhone(deviceName: string): Promise<Phone> {
    const reg = await this.rest('POST', '/api/mobile_app/registrations', {
      device_id: `dev-${deviceName}`,
      app_id: 'io.homeassistant.companion.android',
      app_name: 'Home Assistant',
      app_version: '2024.3.0',
      device_name: deviceName,
      manufacturer: 'Test',
      model: 'Stand-in',
      os_name: 'Android',
      os_version: '14',
      supports_encryption: false,
      app_data: { push_websocket_channel: true },
    });
    const service = `mobile_app_${deviceName.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
    await waitFor(async () => {
      const services = (await this.rest('GET', '/api/services')) as Array<{ domain: string; services: Record<string, unknown> }>;
      return services.some((s) => s.domain === 'notify' && service in s.services);
    }, `notify.${service}`, 20000, 200);
    const phone = new Phone(this, reg.webhook_id as string, service);
    await phone.connect();
    return phone;
  }

  /** Stops HA (process group), keeping its config dir for a restart. */
  async stop(): Promise<void> {
    await stopChild(this.child, 15000);
    this.child = null;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class HaSocket {
  private id = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private listeners = new Map<number, (ev: any) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.type === 'result') {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (p && m.success) p.resolve(m.result);
        else if (p) p.reject(new Error(JSON.stringify(m.error)));
      } else if (m.type === 'event') {
        this.listeners.get(m.id)?.(m.event);
      }
    });
  }

  static open(url: string, token: string): Promise<HaSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('error', reject);
      const onAuth = (data: WebSocket.RawData): void => {
        const m = JSON.parse(String(data));
        if (m.type === 'auth_required') ws.send(JSON.stringify({ type: 'auth', access_token: token }));
        else if (m.type === 'auth_ok') {
          ws.off('message', onAuth);
          resolve(new HaSocket(ws));
        } else if (m.type === 'auth_invalid') reject(new Error('auth_invalid'));
      };
      ws.on('message', onAuth);
    });
  }

  call(msg: Record<string, unknown>): Promise<unknown> {
    const id = this.id++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  /** A subscription whose events go to cb; resolves once HA acknowledged it. */
  async subscribe(msg: Record<string, unknown>, cb: (ev: any) => void): Promise<void> {
    const id = this.id;
    this.listeners.set(id, cb);
    await this.call(msg);
  }

  close(): void {
    this.ws.close();
  }
}

/** The companion app's push channel, with confirmations as the app sends them. */
export class Phone {
  readonly received: PushMessage[] = [];
  private sock: HaSocket | null = null;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly ha: HomeAssistant,
    readonly webhookId: string,
    readonly service: string,
  ) {}

  async connect(): Promise<void> {
    this.sock = await this.ha.socket();
    const sock = this.sock;
    await sock.subscribe({ type: 'mobile_app/push_notification_channel', webhook_id: this.webhookId, support_confirm: true }, (ev: PushMessage) => {
      ev.at = Date.now();
      // As the companion app does: the picture of a push is loaded through HA at once.
      const image = ev.data?.image;
      if (typeof image === 'string' && image.startsWith('/')) {
        ev.picture = fetch(this.ha.url + image, { headers: { Authorization: `Bearer ${this.ha.accessToken}` } }).then(
          async (r) => (r.ok ? Buffer.from(await r.arrayBuffer()) : null),
          () => null,
        );
      }
      this.received.push(ev);
      if (ev.hass_confirm_id) {
        sock.call({ type: 'mobile_app/push_notification_confirm', webhook_id: this.webhookId, confirm_id: ev.hass_confirm_id }).catch(() => undefined);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async next(predicate: (m: PushMessage) => boolean, timeoutMs = 10000): Promise<PushMessage> {
    return waitFor(() => this.received.find(predicate), 'a push notification on the phone', timeoutMs, 25) as Promise<PushMessage>;
  }

  /** What the app does when the user taps an action button. */
  async press(action: string): Promise<void> {
    const r = await fetch(`${this.ha.url}/api/webhook/${this.webhookId}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'fire_event', data: { event_type: 'mobile_app_notification_action', event_data: { action } } }),
    });
    if (!r.ok) throw new Error(`webhook: ${r.status}`);
  }

  close(): void {
    this.sock?.close();
    this.sock = null;
  }
}

export { delay };

// ---------------------------------------------------------------- the Supervisor (add-on mode)

export interface SupervisorOptions {
  ha: HomeAssistant;
  /** the token HA core accepts from the Supervisor (it proxies with its own) */
  coreToken: string;
  /** the token the add-on has in SUPERVISOR_TOKEN */
  addonToken: string;
  /** what the mqtt service hands out, or null: "No access to mqtt service!" */
  mqtt: { port: number; username: string; password: string } | null;
  slug?: string;
}

/**
 * A loopback stand-in of the Supervisor endpoints an add-on uses, in front of the real HA
 * and mosquitto: it checks the add-on's token on every call, proxies /core/api/* and
 * /core/websocket to HA with its own token (doing the websocket auth phase with the add-on
 * itself, as the Supervisor does), answers /services/mqtt with the broker and its login,
 * and /addons/self/info with the add-on's slug. Answers are shaped as the Supervisor's:
 * {"result":"ok","data":…} or HTTP 400 {"result":"error","message":…}.
 */
export class SupervisorStandIn {
  readonly calls: Array<{ method: string; path: string; authorized: boolean }> = [];
  private server: http.Server | null = null;
  private wss = new WebSocketServer({ noServer: true });
  port = 0;

  private constructor(private readonly o: SupervisorOptions) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(o: SupervisorOptions): Promise<SupervisorStandIn> {
    const s = new SupervisorStandIn(o);
    await s.listen();
    return s;
  }

  private authorized(req: http.IncomingMessage): boolean {
    const auth = req.headers.authorization ?? '';
    const token = (req.headers['x-supervisor-token'] as string | undefined) ?? auth.split(' ').pop();
    return token === this.o.addonToken;
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private async listen(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const path = req.url ?? '/';
      const ok = this.authorized(req);
      this.calls.push({ method: req.method ?? 'GET', path, authorized: ok });
      if (!ok) return this.json(res, 401, { result: 'error', message: 'Unauthorized' });
      if (path === '/services/mqtt' && req.method === 'GET') {
        const m = this.o.mqtt;
        if (!m) return this.json(res, 400, { result: 'error', message: 'No access to mqtt service!' });
        return this.json(res, 200, { result: 'ok', data: { host: '127.0.0.1', port: m.port, ssl: false, protocol: '3.1.1', username: m.username, password: m.password, addon: 'core_mosquitto' } });
      }
      if (path === '/addons/self/info' && req.method === 'GET') {
        return this.json(res, 200, { result: 'ok', data: { slug: this.o.slug ?? 'a0d7b954_nodered', name: 'Node-RED', ingress_url: '/api/hassio_ingress/stand-in/' } });
      }
      if (path.startsWith('/core/api/')) {
        const upstream = http.request(
          `${this.o.ha.url}/api/${path.slice('/core/api/'.length)}`,
          { method: req.method, headers: { ...req.headers, host: `127.0.0.1:${this.o.ha.port}`, authorization: `Bearer ${this.o.coreToken}` } },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        upstream.on('error', () => this.json(res, 502, { result: 'error', message: 'Home Assistant core is not running' }));
        req.pipe(upstream);
        return;
      }
      this.json(res, 404, { result: 'error', message: 'not found' });
    });
    this.server.on('upgrade', (req, socket, head) => {
      if (req.url !== '/core/websocket') {
        socket.destroy();
        return;
      }
      this.calls.push({ method: 'WS', path: req.url, authorized: true });
      this.wss.handleUpgrade(req, socket, head, (client) => this.proxySocket(client));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** The Supervisor's websocket proxy: our auth phase with the add-on, then HA's with our token, then a pipe. */
  private proxySocket(client: WebSocket): void {
    client.send(JSON.stringify({ type: 'auth_required', ha_version: 'supervisor-stand-in' }));
    client.once('message', (data) => {
      let m: { type?: string; access_token?: string } = {};
      try {
        m = JSON.parse(String(data));
      } catch {
        /* not JSON */
      }
      if (m.type !== 'auth' || m.access_token !== this.o.addonToken) {
        this.calls.push({ method: 'WS', path: '/core/websocket auth', authorized: false });
        client.send(JSON.stringify({ type: 'auth_invalid', message: 'Invalid access' }));
        client.close();
        return;
      }
      const up = new WebSocket(`ws://127.0.0.1:${this.o.ha.port}/api/websocket`);
      up.on('error', () => client.terminate());
      up.on('close', () => client.close());
      client.on('close', () => up.close());
      up.on('message', (raw) => {
        const msg = JSON.parse(String(raw));
        if (msg.type === 'auth_required') {
          up.send(JSON.stringify({ type: 'auth', access_token: this.o.coreToken }));
        } else if (msg.type === 'auth_ok') {
          client.send(JSON.stringify(msg));
          client.on('message', (d) => up.send(String(d)));
        } else if (msg.type === 'auth_invalid') {
          client.close();
        } else {
          client.send(String(raw));
        }
      });
    });
  }

  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise((r) => this.server?.close(r));
    this.server?.closeAllConnections?.();
  }
}
