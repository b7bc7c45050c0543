/**
 * 100 full redeploys of a door flow while calls are up: nothing may stay behind. The flow
 * holds everything that takes a resource: a SIP account on a fixed UDP port (a redeploy
 * must find it free again), calls with RTP both ways (two answered calls from a panel per
 * deploy, live when the next deploy comes), the DTMF node on them, a journal file, a door
 * that opens over HTTP on every answer, a camera whose grab on ring is still running
 * (ffmpeg against an RTSP server that never answers, when ffmpeg is installed), and a Home
 * Assistant connection whose broker and websocket never answer (reconnect timers).
 *
 * Counted before (after one warm-up deploy and unload) and after the 100 deploys: file
 * descriptors, handles (sockets, servers, child processes as Node counts them), timers
 * (every setTimeout/setInterval of the runtime and our code, unref'ed ones included, which
 * Node's own count leaves out), child processes, process listeners, and the package's
 * registries (accounts, shared MQTT clients). All must be back to what they were.
 */
import { isDeepStrictEqual } from 'node:util';
import { execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

// Every timer from here on is seen, unref'ed or not (Node's getActiveResourcesInfo lists
// only those that keep the process alive; SIP timers are unref'ed).
const liveTimers = new Set<unknown>();
const stacks = new Map<unknown, string>();
{
  const g = globalThis as any;
  const [st, si, ct, ci] = [g.setTimeout, g.setInterval, g.clearTimeout, g.clearInterval];
  g.setTimeout = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const h = st(
      (...a: unknown[]) => {
        liveTimers.delete(h);
        fn(...a);
      },
      ms,
      ...args,
    );
    liveTimers.add(h);
    if (process.env.TIMER_STACKS) stacks.set(h, `${ms} ms ` + String(new Error().stack).split('\n').slice(2, 7).join(' | '));
    return h;
  };
  g.setInterval = (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const h = si(fn, ms, ...args);
    liveTimers.add(h);
    return h;
  };
  g.clearTimeout = (h: unknown) => {
    liveTimers.delete(h);
    return ct(h);
  };
  g.clearInterval = (h: unknown) => {
    liveTimers.delete(h);
    return ci(h);
  };
}

import { getNode, helper } from '../helpers/node-red';
import { which } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { SipTransport } from '../../nodes/lib/sip/transport';
import { SipEndpoint } from '../../nodes/lib/sip/endpoint';
import { accountRegistry } from '../../nodes/lib/sip/account';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import { sharedClientCount } from '../../nodes/lib/door/mqtt-clients';
import type { Call } from '../../nodes/lib/sip/call';
import accountNode = require('../../nodes/intercom-sip-account');
import inNode = require('../../nodes/intercom-sip-in');
import callNode = require('../../nodes/intercom-sip-call');
import dtmfNode = require('../../nodes/intercom-dtmf');
import journalNode = require('../../nodes/intercom-journal');
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');
import snapshotNode = require('../../nodes/intercom-snapshot');
import haNode = require('../../nodes/intercom-home-assistant');

const switchNode = require('@node-red/nodes/core/function/10-switch.js');

const nodes = [switchNode, accountNode, inNode, callNode, dtmfNode, journalNode, doorNode, doorOpenNode, snapshotNode, haNode];
const DEPLOYS = Number(process.env.REDEPLOYS || 100);
jest.setTimeout(300_000);

function children(): number {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

function census() {
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  // the census itself runs in a timer-free moment; jest's own are the same before and after
  return {
    fds: readdirSync('/proc/self/fd').length,
    resources,
    timers: liveTimers.size,
    children: children(),
    processListeners: process.eventNames().reduce((n, e) => n + process.listenerCount(e), 0),
    account: accountRegistry.get('door') ? 1 : 0,
    mqttClients: sharedClientCount(),
  };
}

describe(`${DEPLOYS} redeploys with live calls`, () => {
  let dir: string;
  let sipPort: number;
  let panelTransport: SipTransport;
  let panel: SipEndpoint;
  let relay: http.Server;
  let relayHits = 0;
  let silent: net.Server;
  const silentSockets = new Set<net.Socket>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'redeploy-'));
    sipPort = await freeSipPort();
    relay = http.createServer((_req, res) => {
      relayHits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ison":true}');
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    // takes connections and never says a word: an RTSP camera, an MQTT broker, HA, all hung
    silent = net.createServer((s) => {
      silentSockets.add(s);
      s.on('close', () => silentSockets.delete(s));
      s.on('error', () => undefined);
      s.resume();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    panelTransport = new SipTransport({ protocol: 'udp', host: '127.0.0.1', port: await freeSipPort() });
    await panelTransport.start();
    // the panel's own transactions linger briefly (T1 20 ms: Timer J 1.3 s), so what is left
    // after the settling time is the flow's, not the stand-in's
    panel = new SipEndpoint({ transport: panelTransport, mediaFactory: createRtpMediaFactory({ rtcpIntervalMs: 1000 }), mode: 'p2p', user: 'panel', timers: { T1: 20 } });
    await new Promise<void>((r) => helper.startServer(() => r()));
  });
  afterAll(async () => {
    await helper.unload().catch(() => undefined);
    await new Promise((r) => helper.stopServer(r));
    await panel.close();
    await panelTransport.close();
    for (const s of silentSockets) s.destroy();
    await new Promise((r) => silent.close(r));
    await new Promise((r) => relay.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  function flow(n: number) {
    const silentPort = (silent.address() as net.AddressInfo).port;
    const relayPort = (relay.address() as net.AddressInfo).port;
    const camera = which('ffmpeg') ? { camera: 'rtsp', rtspUrl: `rtsp://127.0.0.1:${silentPort}/door` } : { camera: 'http', snapshotUrl: `http://127.0.0.1:${silentPort}/snap.jpg` };
    return [
      { id: 'acc', type: 'intercom-sip-account', name: 'door', note: `deploy ${n}`, mode: 'p2p', transport: 'udp', bindAddress: '127.0.0.1', bindPort: sipPort, user: 'door', allowedSources: '127.0.0.1' },
      { id: 'in', type: 'intercom-sip-in', account: 'acc', wires: [['sw', 'j', 'snap', 'dtmf']] },
      { id: 'sw', type: 'switch', property: 'topic', rules: [{ t: 'eq', v: 'ring', vt: 'str' }, { t: 'eq', v: 'answered', vt: 'str' }], checkall: 'false', outputs: 2, wires: [['answerCall'], ['openDoor']] },
      { id: 'answerCall', type: 'intercom-sip-call', account: 'acc', action: 'answer', wires: [[]] },
      { id: 'dtmf', type: 'intercom-dtmf', mode: 'digit', wires: [[]] },
      { id: 'j', type: 'intercom-journal', file: path.join(dir, 'events.jsonl'), wires: [[]] },
      { id: 'door', type: 'intercom-door', name: 'Gate', openKind: 'preset', preset: 'shelly-gen1', host: `http://127.0.0.1:${relayPort}`, minInterval: 0, ...camera },
      { id: 'openDoor', type: 'intercom-door-open', door: 'door', wires: [[]] },
      { id: 'snap', type: 'intercom-snapshot', door: 'door', wires: [[]] },
      { id: 'ha', type: 'intercom-home-assistant', name: 'HA', broker: `mqtt://127.0.0.1:${silentPort}`, haUrl: `http://127.0.0.1:${silentPort}`, baseTopic: 'intercom', discoveryPrefix: 'homeassistant' },
    ];
  }
  const creds = { ha: { token: 'not-a-real-token' } };

  /** Two calls from the panel, answered by the flow, with RTP flowing. */
  async function liveCalls(): Promise<Call[]> {
    const calls = [panel.dial(`sip:door@127.0.0.1:${sipPort}`), panel.dial(`sip:door@127.0.0.1:${sipPort}`)];
    await Promise.all(calls.map((c) => new Promise<void>((resolve, reject) => {
      c.once('answered', () => resolve());
      c.once('ended', (e) => reject(new Error(`call ended before it was answered: ${JSON.stringify(e)}`)));
    })));
    await delay(60); // a few packets each way
    return calls;
  }

  async function settle(): Promise<ReturnType<typeof census>> {
    await waitFor(() => panel.activeCalls.length === 0, "the panel's calls to end", 10_000);
    await waitFor(() => children() === 0, 'no child process', 10_000);
    await delay(1500); // closes that finish on their own (sockets, TIME_WAIT-free UDP, grabs killed)
    (globalThis as { gc?: () => void }).gc?.();
    return census();
  }

  test('no leaked port, socket, timer, child process or listener', async () => {
    // warm-up: modules loaded, Node-RED's own once-only state created
    await helper.load(nodes, flow(0), creds);
    await (getNode('acc') as any).ready;
    await liveCalls();
    await helper.unload();
    const before = await settle();

    let ended = 0;
    let grabsCut = 0; // deploys that found a camera grab (ffmpeg) still running
    for (let n = 1; n <= DEPLOYS; n++) {
      if (children() > 0) grabsCut++;
      if (n === 1) await helper.load(nodes, flow(n), creds);
      else await helper.setFlows(flow(n), 'full', creds);
      await (getNode('acc') as any).ready;
      const calls = await liveCalls();
      calls.forEach((c) => c.once('ended', () => ended++));
    }
    await helper.unload();
    await settle();
    // a timer or socket that is only finishing (a close on a busy machine) goes within seconds; a leak stays
    await waitFor(() => isDeepStrictEqual(census(), before), 'everything back to where it was', 10_000).catch(() => undefined);
    const after = census();

    // the port the account used is free: the last deploy left nothing on it
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(sipPort, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => probe.close(() => r()));

    const lines = readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
    if (process.env.TIMER_STACKS) for (const h of liveTimers) console.log(stacks.get(h));
    console.log(`${DEPLOYS} redeploys with live calls: before ${JSON.stringify(before)}\nafter ${JSON.stringify(after)}\n${ended} live calls ended by redeploys, ${grabsCut} deploys cut a running camera grab, ${relayHits} door opens, ${lines.length} journal lines`);
    expect(ended).toBe(2 * DEPLOYS);
    expect(relayHits).toBeGreaterThan(DEPLOYS / 2); // an open may be cut by the next deploy
    if (which('ffmpeg')) expect(grabsCut).toBeGreaterThanOrEqual(DEPLOYS - 1);
    expect(after).toEqual(before);
  });
});
