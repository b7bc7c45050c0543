/**
 * Real peer: baresip (a softphone / panel stand-in). A tiny raw-UDP UAC written here calls
 * it with our call media's SDP; baresip auto-answers. We send DTMF by RFC 4733 and baresip
 * must report exactly those digits; baresip sends digits (ctrl_tcp "sndcode") and we must
 * report exactly those, "99" included.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRtpMediaFactory, type RtpCallMedia } from '../../nodes/lib/media/call-media';
import type { DtmfEvent } from '../../nodes/lib/media/port';
import { describeWithPeers } from '../helpers/peers';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from './media-baresip';
import { SipStub } from './media-sip-stub';

describeWithPeers(['baresip', 'sox'], 'DTMF between our call media and baresip', () => {
  jest.setTimeout(30000);
  let dir: string;
  let baresip: Baresip;
  let stub: SipStub;
  let media: RtpCallMedia;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'baresip-dtmf-'));
    baresip = await startBaresip(dir);
    stub = await SipStub.open();
    media = createRtpMediaFactory({ rtcpIntervalMs: 0 }).create({ callId: 'bs', direction: 'outbound', localAddress: '127.0.0.1' });
  });
  afterEach(async () => {
    await media.close();
    await stub.close();
    await baresip.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const established = (): Promise<unknown> => waitFor(() => baresip.events.some((e) => e.type === 'CALL_ESTABLISHED'), 'CALL_ESTABLISHED', 8000);

  test('baresip reports exactly the digits we send by RFC 4733 ("2580*#99")', async () => {
    const hangup = await stub.invite(media, { user: 'phone', port: baresip.sipPort });
    await established();
    await media.sendDtmf('2580*#99');
    const digits = (): string =>
      baresip.events
        .filter((e) => e.type === 'CALL_DTMF_START')
        .map((e) => String(e.param))
        .join('');
    await waitFor(() => digits().length >= 8, `baresip DTMF events (${JSON.stringify(baresip.events.map((e) => e.type))})`, 5000).catch(() => undefined);
    await delay(300); // no extra digit may follow
    expect(digits()).toBe('2580*#99');
    await hangup();
  });

  // baresip 1.0 sends one fixed-length event per sndcode however long the key is held
  // (found by trying: 180 ms); long presses past the 16-bit duration are unit-tested.
  test('a key held for 2 s on baresip is one digit', async () => {
    const got: DtmfEvent[] = [];
    media.on('dtmf', (e: DtmfEvent) => got.push(e));
    const hangup = await stub.invite(media, { user: 'phone', port: baresip.sipPort });
    await established();
    await waitFor(() => media.rtp?.latchedTo, 'baresip audio');
    baresip.command('sndcode', '5');
    await delay(2000);
    baresip.command('sndcode', '');
    await waitFor(() => got.length >= 1, 'the digit', 5000);
    await delay(300);
    expect(got.map((g) => g.digit)).toEqual(['5']);
    expect(got[0].durationMs).toBeGreaterThanOrEqual(100);
    await hangup();
  });

  test('we report exactly the digits baresip sends ("1", "9", "9", "#")', async () => {
    const got: DtmfEvent[] = [];
    media.on('dtmf', (e: DtmfEvent) => got.push(e));
    const hangup = await stub.invite(media, { user: 'phone', port: baresip.sipPort });
    await established();
    await waitFor(() => media.rtp?.latchedTo, 'baresip audio');
    for (const d of ['1', '9', '9', '#']) {
      baresip.command('sndcode', d);
      await delay(250);
      baresip.command('sndcode', ''); // key release
      await delay(250);
    }
    await waitFor(() => got.length >= 4, 'four digits', 5000).catch(() => undefined);
    await delay(300);
    expect(got.map((g) => `${g.digit}:${g.method}`)).toEqual(['1:rfc4733', '9:rfc4733', '9:rfc4733', '#:rfc4733']);
    await hangup();
  });
});

describeWithPeers(['baresip', 'sox', 'espeak-ng'], 'in-band DTMF from baresip: sox tones over espeak-ng speech in its G.711 audio', () => {
  jest.setTimeout(30000);
  test('every tone is found, in order, and the speech before them gives none', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baresip-inband-'));
    const digits = '3690#*';
    const parts: string[] = [];
    const speech = path.join(dir, 'speech.wav');
    execFileSync('espeak-ng', ['-v', 'en', '-s', '160', '-w', path.join(dir, 'raw.wav'), 'Hello, front door here. Nine, six, three, zero. Please wait.']);
    execFileSync('sox', [path.join(dir, 'raw.wav'), '-r', '8000', '-c', '1', '-b', '16', speech, 'norm', '-6']);
    const low: Record<string, number> = { '3': 697, '6': 770, '9': 852, '0': 941, '#': 941, '*': 941 };
    const high: Record<string, number> = { '3': 1477, '6': 1477, '9': 1477, '0': 1336, '#': 1477, '*': 1209 };
    digits.split('').forEach((k, i) => {
      const f = path.join(dir, `t${i}.wav`);
      execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', f, 'synth', '0.1', 'sine', String(low[k]), 'synth', '0.1', 'sine', 'mix', String(high[k]), 'vol', '0.3', 'pad', '0', '0.15']);
      parts.push(f);
    });
    const tones = path.join(dir, 'tones.wav');
    execFileSync('sox', [...parts, tones]);
    // speech alone first, then the tones with the speech again quietly beneath them
    const quiet = path.join(dir, 'quiet.wav');
    execFileSync('sox', [speech, quiet, 'vol', '-14dB']);
    const mixed = path.join(dir, 'mixed.wav');
    execFileSync('sox', ['-m', tones, quiet, mixed]);
    const source = path.join(dir, 'source.wav');
    execFileSync('sox', [speech, mixed, source, 'pad', '1', '30']);
    const bs = await startBaresip(dir, source);
    const stub = await SipStub.open();
    // Offer PCMA without telephone-event: in-band is the only way the keys can come.
    const media = createRtpMediaFactory({ rtcpIntervalMs: 0, codecs: ['PCMA'] }).create({ callId: 'inband', direction: 'outbound', localAddress: '127.0.0.1' });
    const got: DtmfEvent[] = [];
    media.on('dtmf', (e: DtmfEvent) => got.push(e));
    try {
      const offer = media.offer.bind(media);
      media.offer = async () => (await offer()).replace(' 8 101\r\n', ' 8\r\n').replace(/a=rtpmap:101.*\r\n|a=fmtp:101.*\r\n/g, '');
      const hangup = await stub.invite(media, { user: 'phone', port: bs.sipPort });
      expect(media.negotiated).toMatchObject({ codec: { name: 'PCMA' }, telephoneEvent: undefined });
      await waitFor(() => got.length >= digits.length, `in-band digits (got ${got.map((g) => g.digit).join('')})`, 15000).catch(() => undefined);
      await delay(500);
      expect(got.map((g) => g.digit).join('')).toBe(digits);
      expect(got.every((g) => g.method === 'inband')).toBe(true);
      await hangup();
    } finally {
      await media.close();
      await stub.close();
      await bs.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
