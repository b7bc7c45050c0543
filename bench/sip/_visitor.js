'use strict';
// A visitor's phone for the flood bench, run as its own process: INVITE → (100/180) → 200,
// timed with hrtime, then ACK and BYE. Prints one JSON line: { ok, failed, rtdMs: [...] }.
// Usage: node _visitor.js <port> <calls> <interval-ms>
const dgram = require('node:dgram');
const [port, calls, interval] = process.argv.slice(2).map(Number);
const s = dgram.createSocket('udp4');
const pending = new Map();
const out = { ok: 0, failed: 0, rtdMs: [] };

function invite(n, lport) {
  const id = `v${n}-${process.pid}@127.0.0.1`;
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
  const head = [`INVITE sip:door@127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${lport};branch=z9hG4bK${n}x${process.pid};rport`, `From: <sip:visitor@127.0.0.1:${lport}>;tag=t${n}`, `To: <sip:door@127.0.0.1:${port}>`, `Call-ID: ${id}`, 'CSeq: 1 INVITE', `Contact: <sip:visitor@127.0.0.1:${lport}>`, 'Max-Forwards: 70', 'Content-Type: application/sdp', `Content-Length: ${sdp.length}`];
  return { id, data: head.join('\r\n') + '\r\n\r\n' + sdp };
}

s.bind(0, '127.0.0.1', () => {
  const lport = s.address().port;
  s.on('message', (m) => {
    const t = m.toString();
    const id = /\r\nCall-ID: *(\S+)/i.exec(t)?.[1];
    const p = pending.get(id);
    if (!p || !/^SIP\/2\.0 200/.test(t) || !/CSeq: *1 INVITE/i.test(t)) return;
    if (p.done) return;
    p.done = true;
    clearTimeout(p.timer);
    out.rtdMs.push(Number(process.hrtime.bigint() - p.t0) / 1e6);
    out.ok++;
    const toTag = /\r\nTo: *[^\r]*;tag=([^;\r\s]+)/i.exec(t)?.[1];
    const common = (method, cseq) => [`${method} sip:door@127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${lport};branch=z9hG4bK${method}${p.n}x${process.pid}`, `From: <sip:visitor@127.0.0.1:${lport}>;tag=t${p.n}`, `To: <sip:door@127.0.0.1:${port}>;tag=${toTag}`, `Call-ID: ${id}`, `CSeq: ${cseq} ${method}`, 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n');
    s.send(common('ACK', 1), port, '127.0.0.1');
    s.send(common('BYE', 2), port, '127.0.0.1');
  });
  let n = 0;
  const next = () => {
    if (n >= calls) {
      setTimeout(() => {
        out.failed = calls - out.ok;
        process.stdout.write(JSON.stringify(out) + '\n');
        process.exit(0);
      }, 1000);
      return;
    }
    const { id, data } = invite(++n, lport);
    const p = { n, t0: process.hrtime.bigint(), done: false, timer: undefined };
    pending.set(id, p);
    s.send(data, port, '127.0.0.1');
    // one retransmission at T1 in case the flood cost us the packet (RFC 3261 Timer A)
    p.timer = setTimeout(() => !p.done && s.send(data, port, '127.0.0.1'), 500);
    setTimeout(next, interval);
  };
  next();
});
