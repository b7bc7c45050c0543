/**
 * Pieces of sipp UAC scenarios (XML) shared by the scenario tests: one caller's INVITE with
 * a G.711 offer, and requests inside its dialog. sipp fills the [bracketed] keywords.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { freeUdpPort } from './ports';

export interface Caller {
  user: string;
  display?: string;
}

export const fromHeader = (c: Caller): string =>
  `From: ${c.display ? `"${c.display}" ` : ''}<sip:${c.user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]`;

/** INVITE with PCMU (and telephone-event when `dtmf`), then the optional 100 and 180. */
export const inviteXml = (c: Caller, opts: { dtmf?: boolean } = {}): string => `<send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${fromHeader(c)}
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:${c.user}@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0${opts.dtmf ? ' 101' : ''}
      a=rtpmap:0 PCMU/8000${opts.dtmf ? '\n      a=rtpmap:101 telephone-event/8000' : ''}
    ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>`;

/** Runs one sipp UAC call of `xml` against 127.0.0.1:`port`; rejects with sipp's stderr on failure. */
export async function runSippUac(xml: string, o: { dir: string; port: number; service: string; timeoutS?: number }): Promise<void> {
  const f = path.join(o.dir, `uac-${Date.now()}.xml`);
  writeFileSync(f, xml);
  const [sipPort, mediaPort] = [await freeUdpPort(), await freeUdpPort()];
  const args = ['-sf', f, '-m', '1', '-i', '127.0.0.1', '-p', String(sipPort), '-mp', String(mediaPort), '-s', o.service, '-timeout', `${o.timeoutS ?? 10}s`, '-nostdin', `127.0.0.1:${o.port}`];
  const child = spawn('sipp', args, { cwd: o.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`sipp exited ${code}: ${stderr.slice(0, 500)}`);
}
