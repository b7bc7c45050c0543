/**
 * How the config node finds and keeps Home Assistant: the endpoints of a typed URL and of
 * the Supervisor, the Supervisor's answers (a real HTTP server on loopback stands in for
 * it), when a failed attempt is retried, and the wait for this ring's picture.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from '../../nodes/lib/http/client';
import { waitForImage, type ImageSource } from '../../nodes/lib/homeassistant/image-check';
import { attemptFailure, Backoff, ReconnectPolicy } from '../../nodes/lib/homeassistant/link';
import { doorServiceChoices, entityChoices, notifyChoices } from '../../nodes/lib/homeassistant/pickers';
import { addonSlug, ingressUrl, mqttService, supervisorAccess, supervisorEndpoint } from '../../nodes/lib/homeassistant/supervisor';
import { haEndpoint, websocketUrl } from '../../nodes/lib/homeassistant/ws-link';

describe('endpoints', () => {
  test('a typed HA URL gives its websocket and REST API; other schemes are refused', () => {
    expect(haEndpoint('http://homeassistant.local:8123')).toEqual({ wsUrl: 'ws://homeassistant.local:8123/api/websocket', apiUrl: 'http://homeassistant.local:8123/api' });
    expect(haEndpoint('https://ha.example/')).toEqual({ wsUrl: 'wss://ha.example/api/websocket', apiUrl: 'https://ha.example/api' });
    expect(haEndpoint('ws://127.0.0.1:8123/api/websocket').apiUrl).toBe('http://127.0.0.1:8123/api');
    expect(haEndpoint('https://proxy.example/ha/').wsUrl).toBe('wss://proxy.example/ha/api/websocket');
    expect(websocketUrl('http://10.0.0.2:8123')).toBe('ws://10.0.0.2:8123/api/websocket');
    expect(() => haEndpoint('ftp://x')).toThrow(expect.objectContaining({ code: 'ha.badUrl', params: { value: 'ftp://x' } }));
    expect(() => haEndpoint('not a url')).toThrow(expect.objectContaining({ code: 'ha.badUrl' }));
  });

  test('as an add-on: the Supervisor token, its core proxy, http://supervisor unless told otherwise', () => {
    expect(() => supervisorAccess({})).toThrow(expect.objectContaining({ code: 'ha.noSupervisorToken' }));
    const s = supervisorAccess({ SUPERVISOR_TOKEN: 'abc' });
    expect(s).toEqual({ url: 'http://supervisor', token: 'abc' });
    expect(supervisorEndpoint(s)).toEqual({ apiUrl: 'http://supervisor/core/api', wsUrl: 'ws://supervisor/core/websocket' });
    expect(supervisorAccess({ SUPERVISOR_TOKEN: 'abc', INTERCOM_SUPERVISOR_URL: 'http://127.0.0.1:9/' }).url).toBe('http://127.0.0.1:9');
    expect(() => supervisorAccess({ SUPERVISOR_TOKEN: 'abc', INTERCOM_SUPERVISOR_URL: 'file:///x' })).toThrow(expect.objectContaining({ code: 'ha.badSupervisorUrl' }));
    expect(ingressUrl('a0d7b954_nodered')).toBe('homeassistant://hassio/ingress/a0d7b954_nodered');
  });
});

describe('the Supervisor answers', () => {
  let server: http.Server;
  let url: string;
  let answer: (path: string, auth: string | undefined) => [number, unknown];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const [status, body] = answer(req.url ?? '', req.headers.authorization);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  const s = () => ({ url, token: 'sup-token' });

  test('the mqtt service becomes a broker URL with its login; the token is sent as a bearer', async () => {
    answer = (p, auth) => (auth === 'Bearer sup-token' && p === '/services/mqtt' ? [200, { result: 'ok', data: { host: 'core-mosquitto', port: 1883, ssl: false, protocol: '3.1.1', username: 'addons', password: 'pw', addon: 'core_mosquitto' } }] : [401, {}]);
    expect(await mqttService(new HttpClient(), s())).toEqual({ url: 'mqtt://core-mosquitto:1883', username: 'addons', password: 'pw', addon: 'core_mosquitto' });
    answer = () => [200, { result: 'ok', data: { host: 'fd00::1', port: 8883, ssl: true } }];
    expect((await mqttService(new HttpClient(), s())).url).toBe('mqtts://[fd00::1]:8883');
  });

  test('no mqtt service for this add-on: an error that says what to type instead', async () => {
    answer = () => [400, { result: 'error', message: 'No access to mqtt service!' }];
    await expect(mqttService(new HttpClient(), s())).rejects.toMatchObject({ code: 'ha.supervisorNoMqtt', params: { message: 'No access to mqtt service!' } });
    answer = () => [200, { result: 'ok', data: { host: 'evil/host', port: 1883 } }];
    await expect(mqttService(new HttpClient(), s())).rejects.toMatchObject({ code: 'ha.supervisorError' });
  });

  test('the add-on slug for the ingress link; an unreachable Supervisor says where it looked', async () => {
    answer = (p) => (p === '/addons/self/info' ? [200, { result: 'ok', data: { slug: 'a0d7b954_nodered', ingress_url: '/api/hassio_ingress/x/' } }] : [404, {}]);
    expect(await addonSlug(new HttpClient(), s())).toBe('a0d7b954_nodered');
    await expect(mqttService(new HttpClient(), { url: 'http://127.0.0.1:1', token: 't' })).rejects.toMatchObject({ code: 'ha.supervisorUnreachable', params: { url: 'http://127.0.0.1:1' } });
  });
});

describe('retrying', () => {
  test('backoff doubles up to its cap and starts over after a good connection', () => {
    const b = new Backoff(1000, 8000);
    expect([b.take(), b.take(), b.take(), b.take(), b.take()]).toEqual([1000, 2000, 4000, 8000, 8000]);
    b.reset();
    expect(b.take()).toBe(1000);
  });

  test('while nothing listens (a restart) every second; failures that reached the peer back off', () => {
    const p = new ReconnectPolicy(1000, 1000, 30000);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(attemptFailure(refused)).toBe('down');
    expect(attemptFailure({ status: 502 })).toBe('down');
    expect(attemptFailure(Object.assign(new Error('x'), { code: 'ETIMEDOUT' }))).toBe('failed');
    expect(attemptFailure({ code: 5 })).toBe('failed');
    expect(Array.from({ length: 12 }, () => p.next('down'))).toEqual(Array(12).fill(1000));
    expect([p.next('failed'), p.next('failed'), p.next('failed')]).toEqual([1000, 2000, 4000]);
    expect(p.next('down')).toBe(1000);
    p.reset();
    expect(p.next('failed')).toBe(1000);
  });
});

describe("waiting for this ring's picture", () => {
  const mine = Buffer.from('this ring');
  const older = Buffer.from('previous visitor');
  function source(script: Array<Buffer | null | Error>) {
    let served = 0;
    const listeners = new Set<() => void>();
    const s: ImageSource & { change(): void; fetches: () => number } = {
      fetch: async () => {
        const v = script[Math.min(served++, script.length - 1)];
        if (v instanceof Error) throw v;
        return v;
      },
      watch: (_id, cb) => (listeners.add(cb), () => listeners.delete(cb)),
      change: () => listeners.forEach((l) => l()),
      fetches: () => served,
    };
    return s;
  }

  test('HA still serves the previous visitor: it waits for the change, then confirms', async () => {
    const s = source([older, mine]);
    const p = waitForImage(s, 'image.front_door_snapshot', mine, { timeoutMs: 2000, pollMs: 10_000 });
    await new Promise((r) => setTimeout(r, 20));
    s.change();
    await expect(p).resolves.toMatchObject({ confirmed: true, fetches: 2 });
  });

  test('HA never gets it: not confirmed when the wait is over (the push goes without a picture)', async () => {
    const s = source([older]);
    const r = await waitForImage(s, 'image.front_door_snapshot', mine, { timeoutMs: 150, pollMs: 40 });
    expect(r.confirmed).toBe(false);
    expect(r.fetches).toBeGreaterThan(1);
  });

  test('a fetch that fails is retried on the next change, and reported if nothing worked', async () => {
    const s = source([new Error('boom'), mine]);
    const p = waitForImage(s, 'image.x', mine, { timeoutMs: 2000, pollMs: 10_000 });
    await new Promise((r) => setTimeout(r, 20));
    s.change();
    await expect(p).resolves.toMatchObject({ confirmed: true });
    const failing = await waitForImage(source([new Error('boom')]), 'image.x', mine, { timeoutMs: 60, pollMs: 20 });
    expect(failing).toMatchObject({ confirmed: false, error: expect.any(Error) });
  });
});

describe('what the pickers offer', () => {
  const services = {
    notify: { mobile_app_pixel_8: { name: 'Send a notification via mobile_app_pixel_8' }, family: { name: 'family' }, persistent_notification: {}, send_message: {} },
    lock: { open: {}, unlock: {}, lock: {} },
    switch: { turn_on: {}, turn_off: {} },
    script: { turn_on: {}, reload: {}, open_gate: { name: 'Open the gate' } },
  };
  test('phones first, then groups; never the persistent notification', () => {
    expect(notifyChoices(services)).toEqual([
      { value: 'mobile_app_pixel_8', label: 'pixel 8' },
      { value: 'family', label: 'family' },
    ]);
  });
  test('services that open, and the entities of the chosen domain', () => {
    expect(doorServiceChoices(services).map((c) => c.value)).toEqual(['lock.open', 'lock.unlock', 'switch.turn_on', 'script.turn_on', 'script.open_gate']);
    const states = [{ entity_id: 'lock.front_door', attributes: { friendly_name: 'Front door' } }, { entity_id: 'lock.back', attributes: {} }, { entity_id: 'switch.gate' }];
    expect(entityChoices(states, 'lock')).toEqual([
      { value: 'lock.front_door', label: 'Front door' },
      { value: 'lock.back', label: 'lock.back' },
    ]);
  });
});
