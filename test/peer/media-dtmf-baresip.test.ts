/**
 * Real peer: baresip (a softphone / panel stand-in). A tiny raw-UDP UAC written here calls
 * it with our call media's SDP; baresip auto-answers. We send DTMF by RFC 4733 and baresip
 * must report exactly those digits; baresip sends digits (ctrl_tcp "sndcode") and we must
 * report exactly those, "99" included.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRtpMediaFactory, type RtpCallMedia } from '../../nodes/lib/media/call-media';
import type { DtmfEvent } from '../../nodes/lib/sip/media-port';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { SipStub } from './media-sip-stub';

interface Baresip {
  child: ChildProcess;
  sipPort: number;
  events: Array<Record<string, unknown>>;
  command(command: string, params?: string): void;
  stop(): Promise<void>;
}

async function startBaresip(dir: string): Promise<Baresip> {
  const sipPort = await freeSipPort();
  const ctrlPort = await freeTcpPort();
  const voice = path.join(dir, 'voice.wav');
  // baresip only sends RFC 4733 packets while an audio source runs (../shared/docs/PEERS.md).
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', voice, 'synth', '30', 'sine', '300', 'vol', '0.05']);
  writeFileSync(
    path.join(dir, 'config'),
    [
      `sip_listen 127.0.0.1:${sipPort}`,
      'net_interface 127.0.0.1',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module_app account.so', // reads DIR/accounts
      'module_app menu.so', // the dial/sndcode/hangup commands ctrl_tcp forwards
      'module ctrl_tcp.so',
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      `audio_source aufile,${voice}`,
      'audio_player aubridge,nil',
      'module aubridge.so',
      'rtp_ports 30000-30100',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'accounts'), `<sip:phone@127.0.0.1:${sipPort}>;regint=0;answermode=auto\n`);
  const child = spawn('baresip', ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const sock = (await waitFor(
    () =>
      new Promise<net.Socket | null>((resolve) => {
        const s = net.connect(ctrlPort, '127.0.0.1', () => resolve(s));
        s.once('error', () => resolve(null));
      }),
    `baresip ctrl_tcp (${out.slice(-300)})`,
    8000,
    100,
  )) as net.Socket;
  const events: Array<Record<string, unknown>> = [];
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString();
    // netstrings: <len>:<json>,
    for (;;) {
      const colon = buf.indexOf(':');
      if (colon < 0) break;
      const len = Number(buf.slice(0, colon));
      if (buf.length < colon + 1 + len + 1) break;
      try {
        events.push(JSON.parse(buf.slice(colon + 1, colon + 1 + len)));
      } catch {
        // not JSON: ignore
      }
      buf = buf.slice(colon + len + 2);
    }
  });
  let token = 0;
  return {
    child,
    sipPort,
    events,
    command(command, params) {
      const json = JSON.stringify({ command, params, token: String(++token) });
      sock.write(`${Buffer.byteLength(json)}:${json},`);
    },
    async stop() {
      sock.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, delay(2000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

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
    await waitFor(() => got.length >= 4, 'four digits', 3000).catch(() => undefined);
    await delay(300);
    expect(got.map((g) => `${g.digit}:${g.method}`)).toEqual(['1:rfc4733', '9:rfc4733', '9:rfc4733', '#:rfc4733']);
    await hangup();
  });
});
