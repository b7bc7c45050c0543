'use strict';
// Writes a pcap file of one G.711 µ-law RTP stream (20 ms packets) for sipp's
// play_pcap_audio: sipp replays the UDP payloads with the capture's timing to the port
// the callee's SDP names. Usage: writePcmuPcap(file, seconds)
const fs = require('node:fs');

function writePcmuPcap(file, seconds = 1) {
  const packets = Math.round(seconds * 50);
  const parts = [];
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0); // magic, microsecond timestamps
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(65535, 16); // snaplen
  g.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  parts.push(g);
  for (let i = 0; i < packets; i++) {
    const rtp = Buffer.alloc(12 + 160, 0xff);
    rtp[0] = 0x80;
    rtp[1] = i === 0 ? 0x80 : 0x00; // marker on the first, PT 0 (PCMU)
    rtp.writeUInt16BE(i & 0xffff, 2);
    rtp.writeUInt32BE(i * 160, 4);
    rtp.writeUInt32BE(0x5eed, 8);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(6000, 0);
    udp.writeUInt16BE(6002, 2);
    udp.writeUInt16BE(8 + rtp.length, 4);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + 8 + rtp.length, 2);
    ip[8] = 64;
    ip[9] = 17; // UDP
    ip.set([127, 0, 0, 1], 12);
    ip.set([127, 0, 0, 1], 16);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += ip.readUInt16BE(k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const frame = Buffer.concat([eth, ip, udp, rtp]);
    const h = Buffer.alloc(16);
    const us = i * 20000;
    h.writeUInt32LE(Math.floor(us / 1e6), 0);
    h.writeUInt32LE(us % 1e6, 4);
    h.writeUInt32LE(frame.length, 8);
    h.writeUInt32LE(frame.length, 12);
    parts.push(h, frame);
  }
  fs.writeFileSync(file, Buffer.concat(parts));
}

module.exports = { writePcmuPcap };
