/**
 * Door pages as a household uses them, in a real Node-RED with Chromium and a baresip
 * panel: wrong credentials get no further than the login (a stored HA1 that no longer
 * works brings the form back); two pages ring at once, one answers and the other stops
 * ringing; Look shows the door without a call (and says who looked); a page with no
 * microphone still answers, hears the visitor and sends keys; a page that vanishes in a
 * call ends both legs at once and leaves Node-RED running; nothing of this opens the door.
 * With httpNodeAuth the page needs Node-RED's credentials before anything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from './media-baresip';
import { describeWebRtc, launchPhoneBrowser, toneWav } from './webrtc-harness';
import { baresipRegistered, type DoorNodeRed, type DoorPage, type Fake2N, type Flow, journalLines, logTail, openDoorPage, request, startDoorNodeRed, startFake2N, testJpeg, udpSocketList, udpSocketsOf, waitView } from './door-page-harness';

jest.setTimeout(120000);

function householdFlow(sipPort: number, camera: string): Flow {
  // ids unlike any property value: Node-RED reads a value that equals an id as a reference
  return [
    { id: 'dp00tab', type: 'tab', label: 'household' },
    { id: 'dp00acc', type: 'intercom-sip-account', name: 'door line', mode: 'registrar', transport: 'udp', bindAddress: '127.0.0.1', bindPort: sipPort, user: 'door', registrarUsers: 'panel\nhall\nkitchen', wsOn: 'node-red', wsPath: '/sip' },
    { id: 'dp00door', type: 'intercom-door', name: 'Front door', doorId: 'front_door', openKind: 'preset', preset: '2n', host: camera, relay: 1, camera: 'http', snapshotUrl: '', minInterval: 0 },
    { id: 'dp00ring', type: 'intercom-sip-in', z: 'dp00tab', account: 'dp00acc', events: 'ring', wires: [['dp00fwd', 'dp00journal']] },
    { id: 'dp00fwd', type: 'intercom-sip-call', z: 'dp00tab', account: 'dp00acc', action: 'forward', targets: 'hall, kitchen', forwardMode: 'all', ringTime: 30, wires: [['dp00journal']] },
    { id: 'dp00page', type: 'intercom-door-page', z: 'dp00tab', name: 'door page', account: 'dp00acc', door: 'dp00door', path: '/door', users: 'hall, kitchen', lookSeconds: 20, openWait: 5, wires: [['dp00open'], ['dp00journal']] },
    { id: 'dp00open', type: 'intercom-door-open', z: 'dp00tab', door: 'dp00door', wires: [['dp00journal']] },
    { id: 'dp00journal', type: 'intercom-journal', z: 'dp00tab', file: 'journal.jsonl', wires: [['dp00page']] },
  ];
}
const creds = { dp00acc: { registrarPasswords: 'panel:panel-pw, hall:hall-pw, kitchen:kitchen-pw' } };

describeWebRtc(['baresip', 'sox', 'ss', 'ffmpeg'], 'door pages in a household (Node-RED, Chromium, baresip panel)', () => {
  let dir: string;
  let nr: DoorNodeRed;
  let cam: Fake2N;
  let browser: Browser;
  let panel: Baresip;
  let sipPort: number;
  let hall: DoorPage;
  let kitchen: DoorPage;
  let idleSockets: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'door-page-pages-'));
    cam = await startFake2N(testJpeg(dir));
    sipPort = await freeSipPort();
    nr = await startDoorNodeRed({ flows: householdFlow(sipPort, cam.url), credentials: creds });
    browser = await launchPhoneBrowser(toneWav(path.join(dir, 'mic.wav'), 600, 120, 48000));
    panel = await startBaresip(mkdtempSync(path.join(dir, 'panel-')), toneWav(path.join(dir, 'panel.wav'), 1000, 120), [], 'manual', `<sip:panel@127.0.0.1:${sipPort}>;auth_pass=panel-pw;regint=600`);
    await baresipRegistered(panel);
  });
  afterAll(async () => {
    await panel?.stop();
    await browser?.close();
    await nr?.stop();
    await cam?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A failure says what Node-RED and the panel saw. */
  async function explained(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      const e = err as Error;
      e.message += `\n--- Node-RED\n${logTail(nr)}\n--- panel\n${JSON.stringify(panel.events.slice(-6))}`;
      throw e;
    }
  }
  const panelClosed = () => panel.events.filter((e) => e.type === 'CALL_CLOSED').length;

  test('wrong credentials get no further than the login; a stored HA1 that no longer works brings the form back', () =>
    explained(async () => {
      const p = await openDoorPage(browser, `${nr.url}/door/?user=hall`);
      expect(await p.page.inputValue('#user')).toBe('hall');
      await p.login('hall', 'not-the-password');
      await waitFor(async () => (await p.text('login-error')) === 'User or password not accepted.', 'the refusal shown', 8000);
      expect((await p.state()).registered).toBe(false);
      // a device that kept credentials which no longer work
      await p.page.evaluate(() => (globalThis as any).localStorage.setItem('intercom-door-page:/door/', JSON.stringify({ user: 'kitchen', realm: '127.0.0.1', ha1: '0'.repeat(32) })));
      await p.page.reload();
      await p.page.waitForFunction(() => (globalThis as any).doorPage?.view === 'login', undefined, { timeout: 20000 });
      expect(await p.page.inputValue('#user')).toBe('kitchen');
      expect(await p.page.evaluate(() => (globalThis as any).localStorage.getItem('intercom-door-page:/door/'))).toBeNull();
      await p.page.context().close();
    }));

  test('two pages ring at once; kitchen answers, hall stops ringing; hanging up ends the panel call', () =>
    explained(async () => {
      hall = await openDoorPage(browser, `${nr.url}/door/`);
      kitchen = await openDoorPage(browser, `${nr.url}/door/`);
      await hall.login('hall', 'hall-pw', true);
      await kitchen.login('kitchen', 'kitchen-pw');
      await waitFor(async () => (await hall.state()).registered && (await kitchen.state()).registered, 'both pages registered', 20000, 100);
      const before = panelClosed();
      panel.command('dial', `sip:door@127.0.0.1:${sipPort}`);
      await Promise.all([waitView(hall, 'ringing'), waitView(kitchen, 'ringing')]);
      await kitchen.click('answer');
      await waitView(kitchen, 'call');
      await waitView(hall, 'idle', 8000);
      expect(await hall.text('notice')).toBe('The ringing stopped (answered elsewhere, or the visitor left).');
      await waitFor(async () => (await kitchen.tone(1000)) > 20, "the panel's tone in kitchen's page", 15000, 200);
      await kitchen.click('hangup');
      await waitView(kitchen, 'idle');
      await waitFor(() => panelClosed() > before, 'the panel call ended', 8000);
      expect(cam.opens).toHaveLength(0);
    }));

  test("Look shows the door without a call and says who looked; Open without a call goes through the flow", () =>
    explained(async () => {
      await hall.click('look');
      await waitView(hall, 'look');
      await waitFor(async () => (await hall.state()).frames >= 3, 'live frames', 10000);
      expect(await hall.page.evaluate(() => (globalThis as any).document.getElementById('picture').naturalWidth)).toBe(320);
      await hall.click('open');
      await waitFor(async () => (await hall.state()).opens.length === 1, 'the Open answered', 10000);
      expect((await hall.state()).opens).toEqual(['ok']);
      await hall.click('look'); // Stop
      await waitView(hall, 'idle');
      expect(cam.opens).toHaveLength(1);
      // the journal writes after the flow has answered the page
      const j = (await waitFor(() => {
        const l = journalLines(path.join(nr.userDir, 'journal.jsonl'));
        return l.some((e) => e.event === 'look') && l.some((e) => e.event === 'open') ? l : undefined;
      }, 'the look and the open in the journal', 5000))!;
      expect(j.filter((e) => e.event === 'look').map((e) => e.user)).toEqual(['hall']);
      expect(j.filter((e) => e.event === 'open')).toEqual([expect.objectContaining({ user: 'hall', result: 'ok', door: 'front_door' })]);
    }));

  test('a page without a microphone answers, hears the visitor and sends keys', () =>
    explained(async () => {
      await kitchen.page.context().close();
      // the microphone refused (a user who said no, or a browser that has none)
      const p = await openDoorPage(browser, `${nr.url}/door/`, {
        initScript: () => {
          const md = (globalThis as any).navigator.mediaDevices;
          if (md) md.getUserMedia = () => Promise.reject(new (globalThis as any).DOMException('denied', 'NotAllowedError'));
        },
      });
      await p.login('kitchen', 'kitchen-pw');
      await waitFor(async () => (await p.state()).registered, 'registered', 20000, 100);
      idleSockets = udpSocketList(nr.pid);
      panel.command('dial', `sip:door@127.0.0.1:${sipPort}`);
      await waitView(p, 'ringing');
      await p.click('answer');
      await waitView(p, 'call');
      expect((await p.state()).mic).toBe('refused');
      expect(await p.text('screen-note')).toBe('No microphone: you can listen and watch.');
      await waitFor(async () => (await p.tone(1000)) > 20, "the panel's tone heard", 15000, 200);
      await p.click('keypad-toggle');
      const dtmf = panel.events.filter((e) => e.type === 'CALL_DTMF_START').length;
      await p.page.click('#keypad button:has-text("7")');
      await waitFor(() => panel.events.filter((e) => e.type === 'CALL_DTMF_START').slice(dtmf).some((e) => String(e.param) === '7'), 'digit 7 at the panel', 8000);
      kitchen = p;
      await waitView(hall, 'idle'); // hall was rung too and stopped when kitchen answered
    }));

  test('a page that vanishes in a call: both legs end at once, ports come back, Node-RED runs on, the door stays shut', () =>
    explained(async () => {
      const before = panelClosed();
      const t0 = Date.now();
      await kitchen.page.context().close();
      await waitFor(() => panelClosed() > before, 'the panel got BYE', 5000);
      expect(Date.now() - t0).toBeLessThan(5000);
      await waitFor(() => udpSocketsOf(nr.pid) <= idleSockets.length, 'the call ports given back', 8000).catch(async () => {
        throw new Error(`sockets before the call ${idleSockets.join('\n')}\nafter ${udpSocketList(nr.pid).join('\n')}`);
      });
      expect((await request(`${nr.url}/settings`)).status).toBe(200);
      expect(cam.opens).toHaveLength(1); // only hall's Open, earlier
      await delay(200);
      expect(nr.log()).not.toMatch(/uncaught|unhandled/i);
    }));
});
