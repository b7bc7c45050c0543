/**
 * Bridge between two real peers: sipp as the panel (PCMA, playing the Debian g711a.pcap
 * speech capture) and baresip as the phone (PCMU only, sending its own tone). Our two call
 * legs are bridged; baresip records what it hears (sndfile module), so we check that the
 * panel's audio really reached the phone, translated from A-law to μ-law, and that
 * packets flowed both ways.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { bridge } from '../../nodes/lib/media/bridge';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import { decodeWav } from '../../nodes/lib/media/wav';
import { describeWithPeers } from '../helpers/peers';
import { freeUdpPort } from '../helpers/ports';
import { waitFor } from '../helpers/wait';
import { startBaresip } from './media-baresip';
import { SipStub } from './media-sip-stub';

const panelScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="panel">
  <send retrans="500"><![CDATA[
      INVITE sip:door@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: panel <sip:panel@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:door@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:panel@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=panel 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8
      a=rtpmap:8 PCMA/8000
    ]]></send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
  <send><![CDATA[
      ACK sip:door@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: panel <sip:panel@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:door@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  <pause milliseconds="1000"/>
  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>
  <pause milliseconds="7500"/>
  <send retrans="500"><![CDATA[
      BYE sip:door@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: panel <sip:panel@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:door@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  <recv response="200"/>
</scenario>`;

function rms(pcm: Int16Array): number {
  let s = 0;
  for (const v of pcm) s += v * v;
  return Math.sqrt(s / Math.max(1, pcm.length));
}

describeWithPeers(['sipp', 'baresip', 'sox'], 'bridge: sipp panel (PCMA) ↔ our two legs ↔ baresip phone (PCMU)', () => {
  jest.setTimeout(40000);
  test('panel audio reaches the phone translated, phone audio reaches the panel, both counted', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bridge-'));
    const rec = path.join(dir, 'rec');
    execFileSync('mkdir', ['-p', rec]);
    const phone = await startBaresip(dir, undefined, ['module sndfile.so', `snd_path ${rec}`]);
    const factory = createRtpMediaFactory({ rtcpIntervalMs: 0 });
    const panelLeg = factory.create({ callId: 'panel', direction: 'inbound', localAddress: '127.0.0.1' });
    const phoneLeg = createRtpMediaFactory({ rtcpIntervalMs: 0, codecs: ['PCMU'] }).create({ callId: 'phone', direction: 'outbound', localAddress: '127.0.0.1' });
    const uas = await SipStub.open();
    const uac = await SipStub.open();
    try {
      // The phone leg first (as a forward would), then the panel calls in.
      const hangupPhone = await uac.invite(phoneLeg, { user: 'phone', port: phone.sipPort });
      await waitFor(() => phone.events.some((e) => e.type === 'CALL_ESTABLISHED'), 'phone answered', 8000);
      expect(phoneLeg.law).toBe('PCMU');
      const { ended } = uas.serve(panelLeg);
      const br = bridge(panelLeg, phoneLeg);
      const file = path.join(dir, 'panel.xml');
      writeFileSync(file, panelScenario);
      const [sipPort, mediaPort] = [await freeUdpPort(), await freeUdpPort()];
      const sipp = spawn('sipp', ['-sf', file, '-m', '1', '-i', '127.0.0.1', '-p', String(sipPort), '-mp', String(mediaPort), '-timeout', '30s', '-nostdin', `127.0.0.1:${uas.port}`], { cwd: dir, stdio: 'ignore' });
      const code = await new Promise<number | null>((r) => sipp.on('exit', r));
      expect(code).toBe(0);
      await ended;
      expect(panelLeg.law).toBe('PCMA');
      // g711a.pcap holds 236 packets; baresip sends 50 packets/s for the ~8.5 s call.
      expect(br.counts.aToB).toBeGreaterThan(200);
      expect(br.counts.bToA).toBeGreaterThan(300);
      br.unbridge();
      await hangupPhone();
      // the phone closes the call (and its recordings) on our BYE
      await waitFor(() => phone.events.some((e) => e.type === 'CALL_CLOSED'), 'the phone hung up', 8000);
      await phone.stop(); // flushes the recordings
      const decoded = readdirSync(rec).filter((f) => /dec\.wav$/.test(f));
      expect(decoded.length).toBeGreaterThan(0);
      const heard = decodeWav(readFileSync(path.join(rec, decoded[0])));
      // Speech from the panel, not silence: loud 1 s stretches while the pcap played.
      const loudSeconds = Array.from({ length: Math.floor(heard.length / 8000) }, (_, i) => rms(heard.subarray(i * 8000, (i + 1) * 8000))).filter((r) => r > 500).length;
      expect(loudSeconds).toBeGreaterThanOrEqual(4);
    } finally {
      await panelLeg.close();
      await phoneLeg.close();
      await uas.close();
      await uac.close();
      await phone.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
