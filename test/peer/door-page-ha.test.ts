/**
 * The door page as a Home Assistant dashboard card: a real Home Assistant (its own
 * frontend, a YAML dashboard) loads the card module Node-RED serves beside the page
 * (`<page>/card.js`, a resource of type module), the card frames the page from Node-RED's
 * origin, and in that frame the page logs in, registers, rings when the baresip panel
 * calls, answers with the microphone (the card grants it to the frame; HA 2024.3's own
 * webpage card frames with allow="fullscreen" only) and hears the visitor. A screenshot of
 * the answered call goes to test-results/door-page-ha-card.png for humans.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser, Frame } from 'playwright-core';
import { describeWithHomeAssistant, HomeAssistant } from '../helpers/homeassistant';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from './media-baresip';
import { describeWebRtc, launchPhoneBrowser, toneWav } from './webrtc-harness';
import { baresipRegistered, type DoorNodeRed, startDoorNodeRed, toneIn } from './door-page-harness';

jest.setTimeout(240000);

describeWithHomeAssistant('the door page in a Home Assistant dashboard', () =>
  describeWebRtc(['baresip', 'sox'], 'a custom:intercom-door-card on a Home Assistant dashboard (real HA frontend, Chromium, baresip panel)', () => {
    let dir: string;
    let nr: DoorNodeRed;
    let ha: HomeAssistant;
    let browser: Browser;
    let panel: Baresip;
    let sipPort: number;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'door-page-ha-'));
      sipPort = await freeSipPort();
      const nrPort = await freeTcpPort();
      // HA first: its origin must be among the account's Other origins (it frames the page).
      ha = await HomeAssistant.start({
        config: ['frontend:', 'lovelace:', '  mode: yaml', '  resources:', `    - url: http://127.0.0.1:${nrPort}/door/card.js`, '      type: module'],
        files: { 'ui-lovelace.yaml': ['title: Home', 'views:', '  - title: Door', '    path: door', '    cards:', '      - type: custom:intercom-door-card', '        height: 700', ''].join('\n') },
      });
      // The last onboarding step, which the helper leaves out (no browser needs it there): the
      // frontend shows onboarding until it is done. HA marks it done first, then sets up its
      // weather and radio integrations, which fail without their requirements (a 500 here);
      // the dashboard does not need them.
      await ha.rest('POST', '/api/onboarding/core_config', {}).catch(() => undefined);
      const steps = (await (await fetch(`${ha.url}/api/onboarding`)).json()) as Array<{ step: string; done: boolean }>;
      expect(steps.filter((s) => !s.done)).toEqual([]);
      nr = await startDoorNodeRed({
        port: nrPort,
        flows: [
          { id: 'dh00tab', type: 'tab', label: 'ha card' },
          { id: 'dh00acc', type: 'intercom-sip-account', name: 'door line', mode: 'registrar', bindAddress: '127.0.0.1', bindPort: sipPort, user: 'door', registrarUsers: 'panel\nhall', wsOn: 'node-red', wsPath: '/sip', wsOrigins: ha.url },
          { id: 'dh00ring', type: 'intercom-sip-in', z: 'dh00tab', account: 'dh00acc', events: 'ring', wires: [['dh00fwd']] },
          { id: 'dh00fwd', type: 'intercom-sip-call', z: 'dh00tab', account: 'dh00acc', action: 'forward', targets: 'hall', forwardMode: 'all', ringTime: 30, wires: [[]] },
          { id: 'dh00page', type: 'intercom-door-page', z: 'dh00tab', name: 'Front door', account: 'dh00acc', path: '/door', users: 'hall', wires: [[], []] },
        ],
        credentials: { dh00acc: { registrarPasswords: 'panel:panel-pw, hall:hall-pw' } },
      });
      browser = await launchPhoneBrowser(toneWav(path.join(dir, 'mic.wav'), 600, 60, 48000));
      panel = await startBaresip(mkdtempSync(path.join(dir, 'panel-')), toneWav(path.join(dir, 'panel.wav'), 1000, 60), [], 'manual', `<sip:panel@127.0.0.1:${sipPort}>;auth_pass=panel-pw;regint=600`);
      await baresipRegistered(panel);
    });
    afterAll(async () => {
      await panel?.stop();
      await browser?.close();
      await nr?.stop();
      await ha?.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    test('the card frames the page; in it the page rings, answers with the microphone and hears the panel', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${ha.url}/lovelace/door`);
      // Home Assistant's own login form (its frontend, in shadow DOM)
      await page.fill('input[name="username"]', 'owner', { timeout: 60000 });
      await page.fill('input[name="password"]', 'owner-pass-1');
      await page.keyboard.press('Enter');
      const frame = (await waitFor(() => page.frames().find((f) => f.url().startsWith(`${nr.url}/door/`)), 'the card framing the door page', 60000, 200).catch(async (err) => {
        await page.screenshot({ path: path.join(__dirname, '../../test-results/door-page-ha-failed.png') });
        throw new Error(`${(err as Error).message}; frames: ${page.frames().map((f) => f.url()).join(', ')}; url ${page.url()}`);
      })) as Frame;
      expect(await frame.evaluate(() => (globalThis as any).frameElement === null)).toBe(true); // another origin: HA cannot reach into it
      const allow = await page.evaluate(() => {
        const card = (globalThis as any).document.querySelector('home-assistant')?.shadowRoot;
        const find = (root: any): any => root?.querySelector?.('intercom-door-card') ?? [...(root?.querySelectorAll?.('*') ?? [])].map((e: any) => find(e.shadowRoot)).find(Boolean);
        return find(card)?.shadowRoot?.querySelector('iframe')?.allow;
      });
      expect(allow).toContain('microphone');
      await frame.waitForFunction(() => (globalThis as any).doorPage?.view === 'login', undefined, { timeout: 30000 });
      await frame.fill('#user', 'hall');
      await frame.fill('#password', 'hall-pw');
      await frame.click('#login-button');
      await frame.waitForFunction(() => (globalThis as any).doorPage?.registered === true, undefined, { timeout: 30000 });
      panel.command('dial', `sip:door@127.0.0.1:${sipPort}`);
      await frame.waitForFunction(() => (globalThis as any).doorPage?.view === 'ringing', undefined, { timeout: 20000 });
      await frame.click('#answer');
      await frame.waitForFunction(() => (globalThis as any).doorPage?.view === 'call', undefined, { timeout: 20000 });
      expect(await frame.evaluate(() => (globalThis as any).doorPage.mic)).toBe('on');
      await waitFor(async () => (await toneIn(frame, 1000)) > 20, "the panel's tone heard in the card", 15000, 200);
      await page.screenshot({ path: path.join(__dirname, '../../test-results/door-page-ha-card.png') });
      await frame.click('#hangup');
      await waitFor(() => panel.events.some((e) => e.type === 'CALL_CLOSED'), 'the panel got BYE', 10000);
      await context.close();
    });
  }),
);
