/**
 * Prompt playback into a real peer: baresip answers our call, we play the shipped
 * "enter-pin" prompt, and baresip's own recording of what it heard (sndfile) must carry
 * the prompt: the same loud/quiet pattern, at real-time pace.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRtpMediaFactory } from '../../nodes/lib/media/call-media';
import { loadAudio } from '../../nodes/lib/media/prompts';
import { decodeWav } from '../../nodes/lib/media/wav';
import { describeWithPeers } from '../helpers/peers';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip } from './media-baresip';
import { SipStub } from './media-sip-stub';

/** 1 for each 100 ms window louder than `threshold` RMS, else 0. */
function envelope(pcm: Int16Array, threshold = 800): number[] {
  const out: number[] = [];
  for (let i = 0; i + 800 <= pcm.length; i += 800) {
    let s = 0;
    for (let k = i; k < i + 800; k++) s += pcm[k] * pcm[k];
    out.push(Math.sqrt(s / 800) > threshold ? 1 : 0);
  }
  return out;
}

describeWithPeers(['baresip', 'sox'], 'prompt playback into baresip', () => {
  jest.setTimeout(30000);
  test('baresip hears the shipped "enter-pin" prompt, paced in real time', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'play-'));
    const rec = path.join(dir, 'rec');
    execFileSync('mkdir', ['-p', rec]);
    const phone = await startBaresip(dir, undefined, ['module sndfile.so', `snd_path ${rec}`]);
    const media = createRtpMediaFactory({ rtcpIntervalMs: 0, codecs: ['PCMA'] }).create({ callId: 'play', direction: 'outbound', localAddress: '127.0.0.1' });
    const stub = await SipStub.open();
    try {
      const hangup = await stub.invite(media, { user: 'phone', port: phone.sipPort });
      await waitFor(() => phone.events.some((e) => e.type === 'CALL_ESTABLISHED'), 'answered', 8000);
      const prompt = await loadAudio('enter-pin');
      const t0 = Date.now();
      await media.play('enter-pin');
      const took = Date.now() - t0;
      const seconds = prompt.length / 8000;
      // 20 ms packets on a real-time clock: the prompt takes its own length to send.
      expect(took).toBeGreaterThan(seconds * 1000 - 100);
      expect(took).toBeLessThan(seconds * 1000 + 400);
      await delay(300);
      await hangup();
      // the phone closes the call (and its recording) on our BYE
      await waitFor(() => phone.events.some((e) => e.type === 'CALL_CLOSED'), 'the phone hung up', 8000);
      await phone.stop();
      const file = readdirSync(rec).find((f) => /dec\.wav$/.test(f));
      expect(file).toBeDefined();
      const heard = envelope(decodeWav(readFileSync(path.join(rec, file!))));
      const sent = envelope(prompt);
      // Find the prompt's loud/quiet pattern in the recording (it starts after some silence).
      let best = 0;
      for (let off = 0; off + sent.length <= heard.length; off++) {
        let same = 0;
        for (let i = 0; i < sent.length; i++) if (heard[off + i] === sent[i]) same++;
        best = Math.max(best, same / sent.length);
      }
      expect(sent.filter((x) => x).length).toBeGreaterThan(10);
      expect(best).toBeGreaterThan(0.85);
    } finally {
      await media.close();
      await stub.close();
      await phone.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
