'use strict';
// The floor under a pure-Node WebRTC gateway: per call two UDP sockets and the package's
// own SRTP (AEAD_AES_128_GCM, what werift and rtpengine negotiate with the stand-in
// browser): the panel's RTP is sealed and sent on, the browser's SRTP is opened and sent
// back. No ICE, DTLS, RTCP, jitter, bridge or call around it: what is left of a gateway
// when everything but the per-packet primitives is taken away.
const { SrtpContext } = require('../dist/nodes/lib/media/srtp');
const { createMediaSocket } = require('../dist/nodes/lib/net/udp-lookup');

const key = Buffer.alloc(16, 7);
const salt = Buffer.alloc(12, 9);
const calls = new Map();
const bind = () =>
  new Promise((resolve) => {
    // the gateway's own sockets send to literals without dns.lookup: so does its floor
    const s = createMediaSocket('udp4');
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
process.on('message', async (m) => {
  if (m.cmd === 'open') {
    const panel = await bind();
    const browser = await bind();
    const tx = new SrtpContext('AEAD_AES_128_GCM', key, salt);
    const rx = new SrtpContext('AEAD_AES_128_GCM', key, salt);
    const c = { panel, browser, to: m.browser, back: undefined };
    panel.on('message', (b, from) => {
      c.back = from.port;
      browser.send(tx.protect(b), c.to, '127.0.0.1');
    });
    browser.on('message', (b) => {
      const plain = rx.unprotect(b);
      if (plain && c.back) panel.send(plain, c.back, '127.0.0.1');
    });
    calls.set(m.id, c);
    process.send({ id: m.id, panelPort: panel.address().port, browserPort: browser.address().port });
  } else if (m.cmd === 'close') {
    for (const c of calls.values()) {
      c.panel.close();
      c.browser.close();
    }
    process.send({ id: m.id, ok: true });
    process.exit(0);
  }
});
process.send({ ready: true });
