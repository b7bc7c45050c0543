/**
 * intercom-door-page in a running Node-RED (node-red-node-test-helper), its HTTP side
 * driven like a page drives it and like an attacker would: the files and the config are
 * public, everything else needs a digest login; bad input gets a status and no message;
 * Open is one message per press, answered by the flow's message back; a Look streams the
 * door's camera; the settings the page needs of its account are checked at deploy and
 * shown in red.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { authorize, parseChallenge } from '../../nodes/lib/auth/digest';
import { getNode, helper, nextMessage } from '../helpers/node-red';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import accountNode = require('../../nodes/intercom-sip-account');
import doorNode = require('../../nodes/intercom-door');
import pageNode = require('../../nodes/intercom-door-page');

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, 7), Buffer.from([0xff, 0xd9])]);
let httpNode: http.RequestListener | undefined;
// The page node's view of Node-RED: its httpNode app is what a browser reaches under httpNodeRoot.
const page = (RED: any) => {
  httpNode = RED.httpNode;
  return (pageNode as any)(RED);
};

describe('intercom-door-page', () => {
  let sipPort: number;
  let base: string;
  let server: http.Server;
  let camera: http.Server;
  let cameraUrl: string;

  beforeAll(async () => {
    camera = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(JPEG));
    await new Promise<void>((r) => camera.listen(0, '127.0.0.1', () => r()));
    cameraUrl = `http://127.0.0.1:${(camera.address() as AddressInfo).port}/snap.jpg`;
  });
  afterAll(() => new Promise<void>((r) => camera.close(() => r())));

  beforeEach(async () => {
    await new Promise<void>((r) => helper.startServer(() => r()));
    sipPort = await freeSipPort();
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  function flow(acc: Record<string, unknown> = {}, pg: Record<string, unknown> = {}) {
    return [
      { id: 'acc', type: 'intercom-sip-account', name: 'door line', mode: 'registrar', transport: 'udp', bindAddress: '127.0.0.1', bindPort: sipPort, user: 'door', registrarUsers: 'panel\nhall\nkitchen', wsOn: 'node-red', wsPath: '/sip', ...acc },
      { id: 'door', type: 'intercom-door', name: 'Front door', doorId: 'front_door', openKind: 'http', url: 'http://127.0.0.1:9/x', camera: 'http', snapshotUrl: cameraUrl },
      { id: 'page', type: 'intercom-door-page', name: 'door page', account: 'acc', door: 'door', path: '/door', users: 'hall, kitchen', openWait: 1, lookSeconds: 5, wires: [['out'], ['looks']], ...pg },
      { id: 'out', type: 'helper' },
      { id: 'looks', type: 'helper' },
    ];
  }

  async function deploy(acc: Record<string, unknown> = {}, pg: Record<string, unknown> = {}, extra: unknown[] = []) {
    await helper.load([accountNode, doorNode, page], [...flow(acc, pg), ...extra], { acc: { registrarPasswords: 'panel:panel-pw, hall:hall-pw, kitchen:kitchen-pw' } });
    await (getNode('acc') as any).ready.catch(() => undefined);
    server = http.createServer(httpNode);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const statuses = (id: string): Array<{ fill?: string; text?: string }> => (getNode(id) as any).status.args.map((a: any[]) => a[0]);
  const lastStatus = (id: string) => statuses(id)[statuses(id).length - 1];

  async function login(user = 'hall', password = 'hall-pw'): Promise<{ status: number; token?: string; body: any }> {
    const first = (await (await fetch(`${base}/door/api/login`, { method: 'POST', body: JSON.stringify({ user }) })).json()) as { challenge: string };
    const authorization = authorize(parseChallenge(first.challenge)!, { user, password }, 'POST', '/door/api/login', 1);
    const r = await fetch(`${base}/door/api/login`, { method: 'POST', body: JSON.stringify({ user, authorization }) });
    const body = (await r.json()) as { token?: string };
    return { status: r.status, token: body.token, body };
  }
  const authed = (token: string, init: RequestInit = {}) => ({ ...init, headers: { ...(init.headers as Record<string, string>), 'X-Intercom-Session': token } });

  test('the page and its files are served below its path; the config names the door, the WebSocket and the words', async () => {
    await deploy();
    await waitFor(() => lastStatus('page')?.text === 'no page online', 'the page ready');
    const redirect = await fetch(`${base}/door`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('door/');
    const html = await fetch(`${base}/door/`);
    expect(html.headers.get('content-type')).toContain('text/html');
    const csp = html.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(await html.text()).toContain('door-page.js');
    const js = await fetch(`${base}/door/sipjs/0.21.2/index.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${base}/door/card.js`)).headers.get('access-control-allow-origin')).toBe('*');
    const cfg = (await (await fetch(`${base}/door/api/config`, { headers: { 'Accept-Language': 'en-GB,en;q=0.9' } })).json()) as Record<string, any>;
    expect(cfg).toMatchObject({ title: 'Front door', path: '/door', door: { name: 'Front door', camera: true }, sip: { on: 'node-red', path: '/sip' }, sipjs: '0.21.2', lang: 'en-US', lookMs: 5000 });
    expect(cfg.texts.open).toBe('Open');
    expect(JSON.stringify(cfg)).not.toMatch(/hall|kitchen|panel-pw/);
  });

  /** A GET with the path as written: fetch would resolve the dots before sending. */
  const rawGet = (p: string): Promise<number> =>
    new Promise((resolve, reject) => http.get(base + '/x', { path: p }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));

  test.each([
    ['/door/../intercom-sip-account', 404],
    ['/door/sipjs/0.21.2/../../package.json', 404],
    ['/door/sipjs/0.21.2/%2e%2e/%2e%2e/package.json', 404],
    ['/door/sipjs/0.21.2/..%2f..%2fpackage.json', 404],
    ['/door/sipjs/0.21.2/api/../../../../../../etc/passwd', 404],
    ['/door/sipjs/0.20.0/index.js', 404],
    ['/door/sipjs/0.21.2/index.d.ts', 404],
    ['/door/api/nope', 404],
    ['/door/%E0%A4%A', 404],
    ['/doorway/', 404],
  ])('%s → %i, never a file outside the page', async (p, status) => {
    await deploy();
    expect(await rawGet(p)).toBe(status);
  });

  test('everything but the files and the config needs a session; a wrong method, body or key is refused; nothing comes out', async () => {
    await deploy();
    const out: unknown[] = [];
    getNode('out').on('input', (m: unknown) => out.push(m));
    getNode('looks').on('input', (m: unknown) => out.push(m));
    for (const p of ['ring?call=x', 'snapshot', 'look']) expect((await fetch(`${base}/door/api/${p}`)).status).toBe(401);
    expect((await fetch(`${base}/door/api/open`, { method: 'POST', body: '{"key":"aaaaaaaaaa"}' })).status).toBe(401);
    expect((await fetch(`${base}/door/api/open`, authed('forged-token', { method: 'POST', body: '{"key":"aaaaaaaaaa"}' }))).status).toBe(401);
    expect((await fetch(`${base}/door/api/config`, { method: 'POST' })).status).toBe(405);
    const { token } = await login();
    expect((await fetch(`${base}/door/api/open`, authed(token!, { method: 'GET' }))).status).toBe(405);
    expect((await fetch(`${base}/door/api/open`, authed(token!, { method: 'POST', body: 'not json' }))).status).toBe(400);
    expect((await fetch(`${base}/door/api/open`, authed(token!, { method: 'POST', body: '{"key":"<script>"}' }))).status).toBe(400);
    expect((await fetch(`${base}/door/api/open`, authed(token!, { method: 'POST', body: JSON.stringify({ key: 'k'.repeat(20), pad: 'x'.repeat(20000) }) }))).status).toBe(400);
    expect((await fetch(`${base}/door/api/ring?call=no-such-call`, authed(token!))).status).toBe(404);
    expect((await fetch(`${base}/door/api/look?call=no-such-call`, authed(token!))).status).toBe(404);
    expect((await fetch(`${base}/door/api/login`, { method: 'POST', body: '[1,2]' })).status).toBe(400);
    await delay(100);
    expect(out).toEqual([]);
  });

  test('login: only the page users, the same refusal for a wrong password and a stranger, a wait after many failures', async () => {
    await deploy();
    expect((await login('hall', 'hall-pw')).status).toBe(200);
    expect((await login('hall', 'wrong')).status).toBe(403);
    expect((await login('stranger', 'x')).status).toBe(403);
    expect((await login('panel', 'panel-pw')).status).toBe(403); // on the account, but not a page user
    let last = 0;
    for (let i = 0; i < 12; i++) last = (await login('hall', 'wrong')).status;
    expect(last).toBe(429);
    expect((await login('hall', 'hall-pw')).status).toBe(429);
    expect(lastStatus('page')?.fill).not.toBe('red');
  });

  test("Open is one message per press with the page's user; the flow's answer goes back to the page", async () => {
    await deploy();
    const out = getNode('out');
    const { token } = await login();
    const msg = nextMessage(out);
    const key = 'press-0000000001';
    const press = fetch(`${base}/door/api/open`, authed(token!, { method: 'POST', body: JSON.stringify({ key }) })).then((r) => r.json());
    const m = await msg;
    expect(m).toMatchObject({ topic: 'open', payload: 'open', page: { user: 'hall', name: 'door page', path: '/door' }, door: { id: 'front_door', name: 'Front door' } });
    expect(m.call).toBeUndefined();
    expect(m.page.address).toBe('127.0.0.1');
    // the same press sent again (a retry) is the same request: no second message
    let second = false;
    out.on('input', () => (second = true));
    // The retry must reach the page before the flow answers (after, it is a new press, too soon):
    // count the requests read in full from here on, the retry's and the busy one's.
    let read = 0;
    server.on('request', (req: http.IncomingMessage) => req.once('end', () => read++));
    const again = fetch(`${base}/door/api/open`, authed(token!, { method: 'POST', body: JSON.stringify({ key }) })).then((r) => r.json());
    // another press while the first waits: busy
    const busy = await fetch(`${base}/door/api/open`, authed(token!, { method: 'POST', body: JSON.stringify({ key: 'press-0000000002' }) }));
    expect(busy.status).toBe(429);
    await waitFor(() => read >= 2, 'the retry read by the page', 5000);
    await delay(100); // and taken as the same press
    getNode('page').receive({ ...m, payload: 'ok', door: { id: 'front_door', latencyMs: 12 } });
    expect(await press).toEqual({ result: 'ok' });
    expect(await again).toEqual({ result: 'ok' });
    expect(second).toBe(false);
    await waitFor(() => /opened for hall/.test(lastStatus('page')?.text ?? ''), 'the status says it opened');
    // a message that answers nothing is ignored
    getNode('page').receive({ topic: 'ring', payload: 'ring' });
    getNode('page').receive({ page: { request: 'not-a-request' }, payload: 'ok' });
    expect((getNode('page') as any).error.callCount).toBe(0);
  });

  test('a flow that does not answer: the page hears so after the wait; a refusal carries its reason', async () => {
    await deploy();
    const { token } = await login('kitchen', 'kitchen-pw');
    const t0 = Date.now();
    const r = await (await fetch(`${base}/door/api/open`, authed(token!, { method: 'POST', body: JSON.stringify({ key: 'press-0000000003' }) }))).json();
    expect(r).toEqual({ result: 'no-answer' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await delay(1600);
    const msg = nextMessage(getNode('out'));
    const press = fetch(`${base}/door/api/open`, authed(token!, { method: 'POST', body: JSON.stringify({ key: 'press-0000000004' }) })).then((x) => x.json());
    const m = await msg;
    getNode('page').receive({ ...m, payload: 'failed', door: { error: 'authentication refused (HTTP 401)' } });
    expect(await press).toEqual({ result: 'failed', reason: 'authentication refused (HTTP 401)' });
  });

  test('Look streams the camera as JPEG frames and says who looked; a snapshot is the door now', async () => {
    await deploy();
    const { token } = await login();
    const snap = await fetch(`${base}/door/api/snapshot`, authed(token!));
    expect(snap.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await snap.arrayBuffer())).toEqual(JPEG);
    const msg = nextMessage(getNode('looks'));
    let opened = false;
    getNode('out').on('input', () => (opened = true));
    const ctl = new AbortController();
    const r = await fetch(`${base}/door/api/look`, authed(token!, { signal: ctl.signal }));
    expect(r.headers.get('content-type')).toBe('multipart/x-mixed-replace; boundary=frame');
    const reader = r.body!.getReader();
    let got = Buffer.alloc(0);
    while ((got.toString('latin1').match(/--frame/g) ?? []).length < 3) got = Buffer.concat([got, Buffer.from((await reader.read()).value!)]);
    expect(got.toString('latin1')).toContain(`Content-Length: ${JPEG.length}`);
    expect(got.includes(JPEG)).toBe(true);
    ctl.abort();
    expect(await msg).toMatchObject({ topic: 'look', payload: 'look', page: { user: 'hall' }, door: { id: 'front_door' } });
    expect(opened).toBe(false); // a Look never comes out where Opens do
  });

  test.each([
    [{ mode: 'p2p', registrarUsers: '' }, {}, /Registrar mode/],
    [{ wsOn: 'off' }, {}, /serves no browsers/],
    [{}, { users: 'hall, attic' }, /attic: not on the Panels of SIP account door line/],
    [{}, { path: '/door/api' }, /Path: "\/door\/api" is not a page path/],
    [{}, { users: '' }, /Users: name at least one user/],
  ])('account %j, page %j: red at deploy with the reason', async (acc, pg, why) => {
    await deploy(acc, pg);
    const red = await waitFor(() => statuses('page').find((s) => s?.fill === 'red'), 'a red status');
    expect(red!.text).toMatch(why);
    expect((await fetch(`${base}/door/api/config`)).status).toBe(404);
  });

  test('two pages on one path: the second is refused; a redeploy frees the path', async () => {
    await deploy({}, {}, [{ id: 'page2', type: 'intercom-door-page', account: 'acc', path: '/door', users: 'hall', wires: [[], []] }]);
    const red = await waitFor(() => statuses('page2').find((s) => s?.fill === 'red'), 'the second page red');
    expect(red!.text).toMatch(/another door page already serves \/door/);
    expect((await fetch(`${base}/door/api/config`)).status).toBe(200);
  });

  test('closing the node answers every waiting Open and ends the sessions', async () => {
    await deploy({}, { openWait: 30 });
    const { token } = await login();
    const msg = nextMessage(getNode('out'));
    const press = fetch(`${base}/door/api/open`, authed(token!, { method: 'POST', body: JSON.stringify({ key: 'press-0000000005' }) })).then((x) => x.json());
    await msg;
    await helper.unload();
    expect(await press).toEqual({ result: 'closed' });
  });
});
