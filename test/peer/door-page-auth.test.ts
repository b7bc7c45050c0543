/**
 * The door page keeps Node-RED's own protection: with httpNodeAuth set (and adminAuth on
 * the editor) nothing of the page — not its HTML, files, config or login — answers without
 * Node-RED's credentials, and with them the page works as usual (the SIP WebSocket, which
 * browsers cannot send credentials on, is guarded by SIP digest instead); the editor's
 * admin login is not needed for the page, and the page's login is not an admin login.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { freeSipPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { describeWebRtc, launchPhoneBrowser, toneWav } from './webrtc-harness';
import { type DoorNodeRed, openDoorPage, request, startDoorNodeRed } from './door-page-harness';

jest.setTimeout(90000);
const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };

describeWebRtc(['sox'], 'the door page behind httpNodeAuth and adminAuth', () => {
  let dir: string;
  let nr: DoorNodeRed;
  let browser: Browser;
  const basic = (u: string, p: string) => ({ Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'door-page-auth-'));
    const sipPort = await freeSipPort();
    nr = await startDoorNodeRed({
      flows: [
        { id: 'da00tab', type: 'tab', label: 'auth' },
        { id: 'da00acc', type: 'intercom-sip-account', name: 'door line', mode: 'registrar', bindAddress: '127.0.0.1', bindPort: sipPort, user: 'door', registrarUsers: 'hall', wsOn: 'node-red', wsPath: '/sip' },
        { id: 'da00page', type: 'intercom-door-page', z: 'da00tab', account: 'da00acc', path: '/door', users: 'hall', wires: [[], []] },
      ],
      credentials: { da00acc: { registrarPasswords: 'hall:hall-pw' } },
      settings: `httpNodeAuth: { user: 'family', pass: '${bcrypt.hashSync('node-pw', 8)}' },
  adminAuth: { type: 'credentials', users: [{ username: 'admin', password: '${bcrypt.hashSync('admin-pw', 8)}', permissions: '*' }] },`,
    });
    browser = await launchPhoneBrowser(toneWav(path.join(dir, 'mic.wav'), 600, 30, 48000));
  });
  afterAll(async () => {
    await browser?.close();
    await nr?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test.each(['/door/', '/door/door-page.js', '/door/sipjs/0.21.2/index.js', '/door/api/config', '/door/card.js'])('%s needs Node-RED credentials', async (p) => {
    expect((await request(`${nr.url}${p}`)).status).toBe(401);
    expect((await request(`${nr.url}${p}`, 'GET', undefined, basic('family', 'wrong'))).status).toBe(401);
    expect((await request(`${nr.url}${p}`, 'GET', undefined, basic('family', 'node-pw'))).status).toBe(200);
  });

  test('the page login is not a way past httpNodeAuth, and no admin login is needed or given', async () => {
    expect((await request(`${nr.url}/door/api/login`, 'POST', { user: 'hall' })).status).toBe(401);
    expect((await request(`${nr.url}/flows`)).status).toBe(401);
    expect((await request(`${nr.url}/flows`, 'GET', undefined, basic('family', 'node-pw'))).status).toBe(401);
  });

  test('with the credentials the page logs in and registers over the WebSocket', async () => {
    const p = await openDoorPage(browser, `${nr.url}/door/`, { httpCredentials: { username: 'family', password: 'node-pw' } });
    await p.login('hall', 'hall-pw');
    await waitFor(async () => (await p.state()).registered, 'the page registered', 20000, 100);
    expect(await p.text('status')).toBe('ready');
    await p.page.context().close();
  });
});
