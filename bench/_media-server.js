'use strict';
// Child process for bench/media-dtmf.js: our call media only, so its CPU can be read from
// /proc without the load generator's. Reads one JSON offer per line on stdin, answers with
// one JSON line {answer} on stdout; "close" ends every call and the process.
const readline = require('node:readline');
const { createRtpMediaFactory } = require('../dist/nodes/lib/media/call-media');

const factory = createRtpMediaFactory({ rtcpIntervalMs: 5000, inband: process.env.INBAND || 'auto', sendSilence: process.env.SILENCE !== 'off' });
const calls = [];
let digits = 0;
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  if (line === 'close') {
    await Promise.all(calls.map((c) => c.close()));
    process.stdout.write(JSON.stringify({ closed: true, digits }) + '\n');
    process.exit(0);
  }
  const { offer } = JSON.parse(line);
  const media = factory.create({ callId: String(calls.length), direction: 'inbound', localAddress: '127.0.0.1' });
  media.on('dtmf', () => digits++);
  calls.push(media);
  const answer = await media.answer(offer);
  process.stdout.write(JSON.stringify({ answer }) + '\n');
});
