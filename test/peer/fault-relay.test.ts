/**
 * The door relay goes away and comes back, seen through intercom-door + intercom-door-open
 * in Node-RED with the door's default settings (5 s deadline, 2 retries when nothing was
 * delivered, 1 s minimum interval), against a Shelly stand-in on a fixed loopback port:
 *   - relay process gone (connection refused): a failed result and a red status that say
 *     "unreachable", well inside the deadline;
 *   - relay hung (takes the connection, never answers): failed at the deadline (the door's
 *     timeout bounds the whole open), and the command that may have reached the relay is
 *     not sent again, even by an idempotent preset;
 *   - relay back: a panel pressing "open" every 250 ms gets the door open < 2 s later, and
 *     no open from the outage reaches the relay late (each request there is one the flow
 *     was told succeeded).
 */
import * as net from 'node:net';
import { getNode, helper } from '../helpers/node-red';
import { freeTcpPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startVendor, type VendorServer } from './door-vendors';
import doorNode = require('../../nodes/intercom-door');
import doorOpenNode = require('../../nodes/intercom-door-open');

jest.setTimeout(60_000);
const creds = { user: 'admin', password: 'relay-pw' };

describe('door relay down and back', () => {
  let port: number;
  let relay: VendorServer | null = null;
  let hung: net.Server | null = null;
  const results: Array<{ at: number; payload: string; door: any }> = [];
  const statuses: Array<{ at: number; fill: string; text: string }> = [];

  beforeAll(async () => {
    port = await freeTcpPort();
    relay = await startVendor('shelly-gen1', creds, port);
    await new Promise<void>((r) => helper.startServer(() => r()));
    await helper.load(
      [doorNode, doorOpenNode],
      [
        { id: 'd1', type: 'intercom-door', name: 'Gate', openKind: 'preset', preset: 'shelly-gen1', host: `http://127.0.0.1:${port}`, relay: 1, pulse: 2 },
        { id: 'o1', type: 'intercom-door-open', door: 'd1', wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
      { d1: creds },
    );
    getNode('out').on('input', (m: any) => results.push({ at: Date.now(), payload: m.payload, door: m.door }));
    const o = getNode('o1');
    const status = o.status.bind(o);
    o.status = (s: any) => {
      statuses.push({ at: Date.now(), fill: s.fill, text: s.text });
      return status(s);
    };
  });
  afterAll(async () => {
    await helper.unload();
    await new Promise((r) => helper.stopServer(r));
    await relay?.close();
    await new Promise<void>((r) => (hung ? hung.close(() => r()) : r()));
  });

  const open = async (): Promise<{ at: number; payload: string; door: any; tookMs: number }> => {
    const n = results.length;
    const t = Date.now();
    getNode('o1').receive({ topic: 'open', payload: 'go' });
    await waitFor(() => results.length > n, 'the open result', 15_000, 5);
    return { ...results[n], tookMs: results[n].at - t };
  };

  test('up: opens', async () => {
    const r = await open();
    expect(r.payload).toBe('ok');
    expect(relay!.opens).toHaveLength(1);
  });

  test('relay process gone: "unreachable" at once, in the result and the status', async () => {
    await relay!.close();
    relay = null;
    await delay(1100); // past the minimum interval
    const r = await open();
    expect(r.payload).toBe('failed');
    expect(r.door.outcome).toBe('failed');
    expect(String(r.door.error)).toMatch(/unreachable \(ECONNREFUSED\)/);
    expect(r.tookMs).toBeLessThan(2000); // refused is known at once; two quick retries, then the answer
    expect(statuses[statuses.length - 1]).toMatchObject({ fill: 'red' });
    expect(statuses[statuses.length - 1].text).toMatch(/^failed: .*unreachable/);
  });

  test('relay hung: failed at the deadline, the command sent once', async () => {
    let connections = 0;
    const sockets = new Set<net.Socket>();
    hung = net.createServer((s) => {
      connections++;
      sockets.add(s);
      s.on('error', () => undefined);
      s.resume(); // read the request, never answer
    });
    await new Promise<void>((r) => hung!.listen(port, '127.0.0.1', () => r()));
    try {
      await delay(1100);
      const r = await open();
      expect(r.payload).toBe('failed');
      // the door's 5 s bound the whole open: no further try after a try that may have arrived
      expect(r.tookMs).toBeGreaterThanOrEqual(4500);
      expect(r.tookMs).toBeLessThan(6000);
      expect(String(r.door.error)).toMatch(/no complete answer from 127\.0\.0\.1:\d+ within the deadline/);
      expect(connections).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((res) => hung!.close(() => res()));
      hung = null;
    }
  });

  test('relay back: the door opens < 2 s later, and nothing from the outage arrives late', async () => {
    const downFrom = results.length;
    let pressing = true;
    const presses = (async () => {
      while (pressing) {
        getNode('o1').receive({ topic: 'open', payload: 'go' });
        await delay(250);
      }
    })();
    let backAt = 0;
    try {
      await delay(1500); // the panel presses while the relay is still away
      backAt = Date.now();
      relay = await startVendor('shelly-gen1', creds, port);
      await waitFor(() => results.slice(downFrom).some((r) => r.payload === 'ok' && r.at >= backAt), 'an open after the relay is back', 10_000, 5);
    } finally {
      pressing = false;
      await presses;
    }
    const firstOk = results.slice(downFrom).find((r) => r.payload === 'ok')!;
    await delay(3000); // anything still in flight lands now
    const oks = results.slice(downFrom).filter((r) => r.payload === 'ok').length;
    const failedDuringOutage = results.slice(downFrom).filter((r) => r.payload === 'failed' && r.at < backAt).length;
    if (process.env.FAULT_VERBOSE) console.log(`relay back: first open ${firstOk.at - backAt} ms after it listened again; ${failedDuringOutage} failed during the outage, ${oks} ok after`);
    expect(firstOk.at - backAt).toBeLessThan(2000);
    expect(failedDuringOutage).toBeGreaterThan(0);
    // every open command the relay got since it came back is one the flow saw succeed
    // (presses while one is in flight join it: one request, several ok answers)
    expect(relay.opens.length).toBeGreaterThanOrEqual(1);
    expect(relay.opens.length).toBeLessThanOrEqual(oks);
    expect(statuses[statuses.length - 1].fill).toMatch(/green|yellow/);
  });
});
