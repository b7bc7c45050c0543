/**
 * examples/Browser/"Answer the door in the browser" deployed as shipped in a real
 * Node-RED, with only the fields its comment names filled (the account on a free loopback
 * port, the panel passwords, the 2N's address): a baresip panel registers and rings, the
 * door page in Chromium (logged in as hall) and a baresip phone (5588) ring at once, the
 * page answers and the phone stops ringing, the two talk (the panel's tone heard in the
 * page, the page's microphone in the panel's recording), a keypad press reaches the panel
 * as RFC 4733, Open goes through the flow (the fake 2N gets exactly one request, the
 * journal has it with the page's user, the page says the door is open), and hanging up
 * ends both legs and gives every UDP port back.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from './media-baresip';
import { describeWebRtc, launchPhoneBrowser, toneShare, toneWav } from './webrtc-harness';
import { baresipRegistered, type DoorNodeRed, type DoorPage, type Fake2N, type Flow, journalLines, logTail, nodeOf, openDoorPage, startDoorNodeRed, startFake2N, testJpeg, udpSocketList, udpSocketsOf, waitView } from './door-page-harness';

jest.setTimeout(120000);
const file = path.join(__dirname, '..', '..', 'examples', 'Browser', 'Answer the door in the browser.json');

describeWebRtc(['baresip', 'sox', 'ss', 'ffmpeg'], 'example: answer the door in the browser (Node-RED, Chromium, baresip panel and phone)', () => {
  let dir: string;
  let nr: DoorNodeRed;
  let cam: Fake2N;
  let browser: Browser;
  let panel: Baresip;
  let panelDir: string;
  let phone: Baresip;
  let page: DoorPage;
  let sipPort: number;
  const flow = JSON.parse(readFileSync(file, 'utf8')) as Flow;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'door-page-example-'));
    cam = await startFake2N(testJpeg(dir));
    sipPort = await freeSipPort();
    // What the comment says to fill: the account's passwords (and here its address), the 2N's address.
    const account = nodeOf(flow, 'intercom-sip-account');
    Object.assign(account, { bindAddress: '127.0.0.1', bindPort: sipPort });
    Object.assign(nodeOf(flow, 'intercom-door'), { host: cam.url });
    nr = await startDoorNodeRed({ flows: flow, credentials: { [account.id]: { registrarPasswords: 'panel:panel-pw, hall:hall-pw, 5588:phone-pw' } }, settings: '' });
    browser = await launchPhoneBrowser(toneWav(path.join(dir, 'mic.wav'), 600, 90, 48000));
    panelDir = mkdtempSync(path.join(dir, 'panel-'));
    panel = await startBaresip(panelDir, toneWav(path.join(dir, 'panel.wav'), 1000, 90), ['module sndfile.so', `snd_path ${panelDir}`], 'manual', `<sip:panel@127.0.0.1:${sipPort}>;auth_pass=panel-pw;regint=600`);
    phone = await startBaresip(mkdtempSync(path.join(dir, 'phone-')), undefined, [], 'manual', `<sip:5588@127.0.0.1:${sipPort}>;auth_pass=phone-pw;regint=600`);
    await Promise.all([baresipRegistered(panel), baresipRegistered(phone)]);
  });
  afterAll(async () => {
    await panel?.stop();
    await phone?.stop();
    await browser?.close();
    await nr?.stop();
    await cam?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the flow is the example as shipped, and imports with every node known', async () => {
    expect(flow.filter((n) => !['tab', 'comment'].includes(n.type)).map((n) => n.type).sort()).toEqual(
      ['intercom-door', 'intercom-door-open', 'intercom-door-page', 'intercom-journal', 'intercom-sip-account', 'intercom-sip-call', 'intercom-sip-in', 'link in', 'link out'].sort(),
    );
    const deployed = JSON.parse((await nr.admin('GET', '/flows')).body) as Flow;
    expect(deployed.map((n) => n.id).sort()).toEqual(flow.map((n) => n.id).sort());
    expect(nr.log()).not.toMatch(/\[(error|warn)\].*(intercom|door page)/i);
  });

  test('the page logs in as hall and registers over WebSocket', async () => {
    page = await openDoorPage(browser, `${nr.url}/door/`);
    expect((await page.state()).view).toBe('login');
    await page.login('hall', 'hall-pw');
    await waitFor(async () => (await page.state()).registered, 'the page registered', 20000, 100);
    expect(await page.text('title')).toBe('Front door');
  });

  test('the panel rings: page and phone ring, the page answers and the phone stops; talk, keypad, Open, hang up', () => explained(async () => {
    const socketsBefore = udpSocketsOf(nr.pid);
    const listBefore = udpSocketList(nr.pid);
    panel.command('dial', `sip:door@127.0.0.1:${sipPort}`);
    await waitView(page, 'ringing');
    await waitFor(() => phone.events.some((e) => e.type === 'CALL_INCOMING'), 'the phone rings too', 10000);
    // who rings, and that ring's picture (the 2N's snapshot)
    await waitFor(async () => (await page.text('caller')).includes('Front door'), 'the page says who rings', 5000);
    await waitFor(() => page.page.evaluate(() => (globalThis as any).document.getElementById('picture').naturalWidth === 320), 'the ring picture shown', 8000);
    await page.click('answer');
    await waitView(page, 'call');
    await waitFor(() => phone.events.some((e) => e.type === 'CALL_CLOSED'), 'the phone stopped ringing', 8000);
    // the panel's 1 kHz tone, heard in the page
    await waitFor(async () => (await page.tone(1000)) > 20, "the panel's tone in the page", 15000, 200);
    expect((await page.tone(1000)) - (await page.tone(1700))).toBeGreaterThan(20);
    // keypad: RFC 4733 from the browser, relayed to the panel
    await page.click('keypad-toggle');
    await page.page.click('#keypad button:has-text("5")');
    await waitFor(() => panel.events.some((e) => e.type === 'CALL_DTMF_START' && String(e.param) === '5'), 'digit 5 at the panel', 8000);
    // Open: through door-open and the journal, back to the page
    expect(cam.opens).toHaveLength(0);
    await page.click('open');
    await waitFor(async () => (await page.state()).opens.length === 1, 'the Open answered', 10000);
    expect((await page.state()).opens).toEqual(['ok']);
    expect(await page.text('notice')).toBe('The door is open.');
    // the relay's request and the journal's line may come after the page has its answer
    const journalFile = path.join(nr.userDir, 'intercom-journal.jsonl');
    await waitFor(() => cam.opens.length >= 1 && journalLines(journalFile).some((e) => e.event === 'open'), 'the open at the relay and in the journal', 10000);
    await delay(2500); // nothing else reaches the relay
    expect(cam.opens).toHaveLength(1);
    const journal = journalLines(journalFile);
    const opens = journal.filter((e) => e.event === 'open');
    expect(opens).toHaveLength(1);
    expect(opens[0]).toMatchObject({ user: 'hall', result: 'ok', door: 'front_door', caller: 'panel' });
    expect(journal.some((e) => e.event === 'ring')).toBe(true);
    expect(journal.some((e) => e.result === 'forwarded')).toBe(true);
    await page.click('hangup');
    await waitView(page, 'idle');
    await waitFor(() => panel.events.some((e) => e.type === 'CALL_CLOSED'), 'the panel got BYE', 8000);
    await waitFor(() => udpSocketsOf(nr.pid) <= socketsBefore, 'every UDP port of the call given back', 8000).catch((err) => {
      throw new Error(`${(err as Error).message}\nbefore: ${listBefore.join('\n')}\nafter: ${udpSocketList(nr.pid).join('\n')}`);
    });
    // what the panel heard: the page's 600 Hz microphone (beside the ring-back before the answer)
    const rec = readdirSync(panelDir).filter((f) => f.startsWith('dump-') && f.endsWith('-dec.wav'));
    expect(rec.length).toBeGreaterThan(0);
    const wav = path.join(panelDir, rec[0]);
    expect(toneShare(wav, 600)).toBeGreaterThan(0.05);
    expect(toneShare(wav, 600)).toBeGreaterThan(20 * toneShare(wav, 770));
  }));

  /** A failure says what Node-RED, the panel, the phone and the page saw. */
  async function explained(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      const e = err as Error;
      e.message += `\n--- Node-RED\n${logTail(nr)}\n--- panel\n${JSON.stringify(panel.events.slice(-8))}\n--- phone\n${JSON.stringify(phone.events.slice(-8))}\n--- page\n${JSON.stringify(await page?.state().catch(() => null))}`;
      throw e;
    }
  }
});
