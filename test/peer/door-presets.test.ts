/**
 * Every vendor preset against a loopback server that implements the vendor's documented
 * endpoint and auth: right request, ok result; wrong password: a clear failure after a
 * bounded number of requests (no retry storm).
 */
import { DoorOpener, type OpenerOptions } from '../../nodes/lib/door/opener';
import { startServer, startVendor, vendorHandler, type VendorServer } from './door-vendors';
import { HttpClient } from '../../nodes/lib/http/client';
import { says } from '../helpers/says';

const good = { user: 'admin', password: 'S3cret!pw', pin: '4711' };
const bad = { ...good, password: 'wrong' };

const cases: Array<{ preset: string; expect: { method: string; url: RegExp; body?: RegExp } }> = [
  { preset: '2n', expect: { method: 'GET', url: /^\/api\/switch\/ctrl\?switch=1&action=trigger$/ } },
  { preset: 'bas-ip', expect: { method: 'GET', url: /^\/api\/v0\/access\/general\/lock\/open\/remote\/accepted\/1$/ } },
  { preset: 'hikvision', expect: { method: 'PUT', url: /^\/ISAPI\/AccessControl\/RemoteControl\/door\/1$/, body: /<RemoteControlDoor><cmd>open<\/cmd><\/RemoteControlDoor>/ } },
  { preset: 'dahua', expect: { method: 'GET', url: /^\/cgi-bin\/accessControl\.cgi\?action=openDoor&channel=1&UserID=101&Type=Remote$/ } },
  { preset: 'akuvox', expect: { method: 'GET', url: /^\/fcgi\/do\?action=OpenDoor&UserName=admin&Password=S3cret!pw&DoorNum=1$/ } },
  { preset: 'doorbird', expect: { method: 'GET', url: /^\/bha-api\/open-door\.cgi\?r=1$/ } },
  { preset: 'grandstream-gds', expect: { method: 'GET', url: /^\/goform\/apicmd\?cmd=1&user=admin&authcode=[0-9a-f]{32}&idcode=\w+&type=1$/ } },
  { preset: 'beward', expect: { method: 'GET', url: /^\/cgi-bin\/intercom_cgi\?action=maindoor$/ } },
  { preset: 'shelly-gen1', expect: { method: 'GET', url: /^\/relay\/0\?turn=on&timer=2$/ } },
  { preset: 'shelly-gen2', expect: { method: 'POST', url: /^\/rpc\/Switch\.Set$/, body: /^\{"id":0,"on":true,"toggle_after":2\}$/ } },
];

describe('door presets against vendor endpoints on loopback', () => {
  let server: VendorServer | undefined;
  let opener: DoorOpener | undefined;
  afterEach(async () => {
    await opener?.close();
    await server?.close();
    opener = undefined;
    server = undefined;
  });

  function make(preset: string, creds: typeof good, extra: Partial<OpenerOptions> = {}): DoorOpener {
    opener = new DoorOpener({
      doorId: 'front',
      doorName: 'Front',
      action: { kind: 'preset', preset, baseUrl: (server as VendorServer).url },
      credentials: creds,
      timeoutMs: 2000,
      minIntervalMs: 0,
      backoffMs: 10,
      ...extra,
    });
    return opener;
  }

  test.each(cases)('$preset opens with the documented request', async ({ preset, expect: want }) => {
    server = await startVendor(preset, good);
    const r = await make(preset, good).open();
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ ok: true, outcome: 'ok', attempts: 1 });
    expect(server.opens).toHaveLength(1);
    const hit = server.opens[0];
    expect(hit.method).toBe(want.method);
    expect(hit.url).toMatch(want.url);
    if (want.body) expect(hit.body).toMatch(want.body);
  });

  test.each(cases.map((c) => c.preset))('%s with a wrong password fails clearly, without a request storm', async (preset) => {
    server = await startVendor(preset, good);
    const r = await make(preset, bad, { retries: 3 }).open();
    expect(r.ok).toBe(false);
    expect(r.attempts).toBe(1);
    expect(says(r.error)).toMatch(/auth|refused|Authentication error|401/i);
    expect(server.opens).toHaveLength(0);
    // digest: one challenge + one answer; token/challenge vendors: one login step + one try.
    expect(server.hits.length).toBeLessThanOrEqual(3);
  });

  test('BAS-IP logs in once, reuses the token, and logs in again after the panel forgot it', async () => {
    server = await startVendor('bas-ip', good);
    const o = make('bas-ip', good);
    expect((await o.open()).ok).toBe(true);
    expect((await o.open()).ok).toBe(true);
    expect(server.logins).toBe(1);
    server.revokeTokens();
    const r = await o.open();
    expect(r.ok).toBe(true);
    expect(server.logins).toBe(2);
    expect(server.opens).toHaveLength(3);
  });

  test('Grandstream GDS needs the remote PIN in the authcode', async () => {
    server = await startVendor('grandstream-gds', good);
    const r = await make('grandstream-gds', { ...good, pin: '0000' }).open();
    expect(r.ok).toBe(false);
    expect(says(r.error)).toMatch(/ResCode=1/);
  });

  test('the digest nonce is reused with a growing nc: a second open costs one request', async () => {
    server = await startVendor('hikvision', good);
    const o = make('hikvision', good);
    await o.open();
    const before = server.hits.length;
    const r = await o.open();
    expect(r.ok).toBe(true);
    expect(server.hits.length - before).toBe(1);
    expect(server.hits[server.hits.length - 1].headers.authorization).toMatch(/nc=00000002/);
  });

  test.each(['MD5-sess', 'SHA-256-sess'] as const)('%s digest is accepted by an independent verifier', async (algorithm) => {
    server = await startServer(vendorHandler('hikvision', { ...good, algorithm }));
    const r = await make('hikvision', good).open();
    expect(r).toMatchObject({ ok: true });
    expect(server.opens[0].headers.authorization).toContain(`algorithm=${algorithm.toUpperCase()}`);
  });

  test('an expired nonce (401 stale=true) is answered once with the new nonce, not reported as a bad password', async () => {
    server = await startServer(vendorHandler('hikvision', { ...good, nonceUses: 1 }));
    const http = new HttpClient({ timeoutMs: 2000 });
    const put = () => http.request({ method: 'PUT', url: `${(server as VendorServer).url}/ISAPI/AccessControl/RemoteControl/door/1`, body: '<cmd>open</cmd>', auth: 'digest', credentials: good });
    expect((await put()).status).toBe(200);
    const second = await put();
    expect(second.status).toBe(200);
    expect(second.requests).toBe(2); // stale nonce refused, new one accepted
    http.close();
  });
});
