/**
 * Real peer: sipp (a UAC) calls a tiny raw-UDP UAS written here, whose SDP answer comes from
 * our call media. sipp then plays the RFC 4733 captures Debian ships (payload type 101),
 * its own play_dtmf events (payload type 96) and SIP INFO digits; we must report exactly
 * the digits sent, once each.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRtpMediaFactory, type RtpCallMedia } from '../../nodes/lib/media/call-media';
import type { DtmfEvent } from '../../nodes/lib/media/port';
import { describeWithPeers } from '../helpers/peers';
import { freeUdpPort } from '../helpers/ports';
import { SipStub } from './media-sip-stub';

const PCAP = '/usr/share/sip-tester';

function scenario(sdpEvents: string, middle: string): string {
  const dialog = `Call-ID: [call_id]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="media dtmf">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 ${sdpEvents}
      a=rtpmap:0 PCMU/8000
      a=rtpmap:${sdpEvents} telephone-event/8000
      a=fmtp:${sdpEvents} 0-15
    ]]></send>
  <recv response="100" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${dialog}
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  ${middle}
  <send retrans="500"><![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${dialog}
      CSeq: 9 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  <recv response="200"/>
</scenario>`;
}

const pcap = (name: string): string => `<nop><action><exec play_pcap_audio="${PCAP}/dtmf_2833_${name}.pcap"/></action></nop>
  <pause milliseconds="400"/>`;

function info(cseq: number, type: string, body: string): string {
  return `<send retrans="500"><![CDATA[
      INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      Call-ID: [call_id]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      CSeq: ${cseq} INFO
      Max-Forwards: 70
      Content-Type: ${type}
      Content-Length: [len]

      ${body}
    ]]></send>
  <recv response="200"/>
  <pause milliseconds="100"/>`;
}

describeWithPeers(['sipp'], 'DTMF from sipp into our call media', () => {
  jest.setTimeout(30000);
  let dir: string;
  let stub: SipStub;
  let media: RtpCallMedia;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sipp-dtmf-'));
    stub = await SipStub.open();
    media = createRtpMediaFactory({ rtcpIntervalMs: 0 }).create({ callId: 'sipp', direction: 'inbound', localAddress: '127.0.0.1' });
  });
  afterEach(async () => {
    await media.close();
    await stub.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function runSipp(xml: string): Promise<DtmfEvent[]> {
    const got: DtmfEvent[] = [];
    media.on('dtmf', (e: DtmfEvent) => got.push(e));
    const { ended } = stub.serve(media);
    const file = path.join(dir, 'uac.xml');
    writeFileSync(file, xml);
    const [sipPort, mediaPort] = [await freeUdpPort(), await freeUdpPort()];
    const child = spawn('sipp', ['-sf', file, '-m', '1', '-i', '127.0.0.1', '-p', String(sipPort), '-mp', String(mediaPort), '-s', 'door', '-timeout', '25s', '-nostdin', `127.0.0.1:${stub.port}`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    if (code !== 0) throw new Error(`sipp exited ${code}: ${stderr.slice(0, 500)} ${stub.log.join(',')}`);
    await ended;
    return got;
  }

  test('every Debian dtmf_2833_*.pcap (PT 101), 0-9, star, pound → exactly those twelve digits', async () => {
    const files = ['1', '9', 'pound', '0', '2', '3', '4', '5', '6', '7', '8', 'star'];
    const got = await runSipp(scenario('101', files.map(pcap).join('\n  ')));
    expect(got.map((g) => g.digit).join('')).toBe('19#02345678*');
    expect(got.every((g) => g.method === 'rfc4733')).toBe(true);
    // The captures carry a 280 ms press (duration 2240 at 8 kHz).
    expect(got.map((g) => g.durationMs)).toEqual(new Array(12).fill(280));
  });

  test('sipp play_dtmf (PT 96) with "99" and SIP INFO in both body formats', async () => {
    const middle = [
      '<nop><action><exec play_dtmf="2998"/></action></nop>',
      // sipp sends each digit for 250 ms with gaps: 400 ms a digit.
      '<pause milliseconds="2200"/>',
      info(2, 'application/dtmf-relay', 'Signal=5\nDuration=160'),
      info(3, 'application/dtmf', '#'),
    ].join('\n  ');
    const got = await runSipp(scenario('96', middle));
    expect(media.negotiated?.telephoneEvent).toBe(96);
    expect(got.map((g) => `${g.digit}:${g.method}`)).toEqual(['2:rfc4733', '9:rfc4733', '9:rfc4733', '8:rfc4733', '5:info', '#:info']);
  });
});
