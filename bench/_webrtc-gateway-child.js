'use strict';
// The gateway under test, alone in its process so its CPU can be read from /proc: per call
// an RTP leg (the panel's) and a WebRTC leg (the browser's) bridged by the package's own
// bridge(), exactly what a forwarded panel call runs. The parent drives the SDP over IPC.
const { createCallMediaFactory } = require('../dist/nodes/lib/media/media-factory');
const { bridge } = require('../dist/nodes/lib/media/bridge');

// FAST=0: every packet on werift's own path (the gateway before its short path), to compare.
const factory = createCallMediaFactory({ rtp: { video: true, rtpTimeoutMs: 0 }, webrtc: { video: true, rtpTimeoutMs: 0, fastPath: process.env.FAST !== '0' } });
const calls = new Map();
const { monitorEventLoopDelay } = require('node:perf_hooks');
// LAG=1: watch this process's event loop too (its 5 ms timer costs CPU and wake-ups of its own)
const lag = monitorEventLoopDelay({ resolution: 5 });
if (process.env.LAG === '1') lag.enable();
process.on('message', async (m) => {
  try {
    if (m.cmd === 'open') {
      const panel = factory.create({ callId: m.id + 'p', direction: 'inbound', localAddress: '127.0.0.1', transport: 'udp' });
      const browser = factory.create({ callId: m.id + 'b', direction: 'outbound', localAddress: '127.0.0.1', transport: 'ws' });
      const answer = await panel.answer(m.panelOffer);
      const offer = await browser.offer();
      calls.set(m.id, { panel, browser });
      process.send({ id: m.id, answer, offer });
    } else if (m.cmd === 'answer') {
      const c = calls.get(m.id);
      await c.browser.setRemoteAnswer(m.sdp);
      c.bridge = bridge(c.panel, c.browser);
      process.send({ id: m.id, ok: true });
    } else if (m.cmd === 'hangup') {
      const c = calls.get(m.id);
      calls.delete(m.id);
      c?.bridge?.unbridge();
      await Promise.all([c?.panel.close(), c?.browser.close()]);
      process.send({ id: m.id, ok: true });
    } else if (m.cmd === 'lag') {
      if (process.env.LAG !== '1') return process.send({ id: m.id, off: true });
      process.send({ id: m.id, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 });
      lag.reset();
    } else if (m.cmd === 'close') {
      if (process.env.DEBUG) for (const [id, c] of calls) console.error('[gateway]', id, 'panel video', JSON.stringify(c.panel.videoStats), 'browser', JSON.stringify(c.browser.stats));
      await Promise.all([...calls.values()].flatMap((c) => [c.panel.close(), c.browser.close()]));
      process.send({ id: m.id, ok: true });
      process.exit(0);
    }
  } catch (err) {
    process.send({ id: m.id, error: String(err && err.stack) });
  }
});
process.send({ ready: true });
