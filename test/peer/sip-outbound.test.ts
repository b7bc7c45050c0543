/** Calls we place, against sipp playing the PBX or the called phone. */
import { execFileSync } from 'node:child_process';
import { describeWithPeers, which } from '../helpers/peers';
import { freeSipPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { type Call, onCallTopics } from '../../nodes/lib/sip/call';
import { killAll, scenario, sipp, startEndpoint } from './sip-harness';

jest.setTimeout(30000);

/** sipp has bound its port (ss lists the socket): our INVITE is not sent into nothing. */
async function sippListening(port: number, protocol: 'udp' | 'tcp' = 'udp'): Promise<unknown> {
  if (!which('ss')) return delay(300); // no ss here: the old guess
  return waitFor(() => execFileSync('ss', [protocol === 'tcp' ? '-Hlnt' : '-Hlnu', `sport = :${port}`], { encoding: 'utf8' }).includes(`:${port} `), `sipp listening on ${protocol} ${port}`, 10_000, 20);
}

function topics(call: Call): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  onCallTopics(call, (t, p) => out.push([t, p]));
  return out;
}

describeWithPeers(['sipp'], 'outbound SIP calls against sipp', () => {
  afterEach(() => killAll());

  for (const protocol of ['udp', 'tcp'] as const) {
    test(`${protocol}: digest-challenged INVITE is answered, the far end hangs up`, async () => {
      const s = await startEndpoint({ protocol, credentials: { user: 'panel', password: 's3cret' } });
      const pbxPort = await freeSipPort();
      const run = sipp(['-sf', scenario('uas-auth-bye'), '-t', protocol === 'tcp' ? 't1' : 'u1', '-m', '1', '-p', String(pbxPort)]);
      await sippListening(pbxPort, protocol);
      const call = s.ep.dial(`sip:flat1@127.0.0.1:${pbxPort}`);
      const seen = topics(call);
      const r = await run;
      await waitFor(() => call.isEnded, 'call ended');
      await s.ep.close();
      await s.transport.close();
      expect(r.errors).toBe('');
      expect(r.code).toBe(0);
      expect(seen.map(([t]) => t)).toEqual(['progress', 'answered', 'ended']);
      expect(call.info.reason).toBe('remote-bye');
    });
  }

  test('wrong password: the PBX refuses, the call ends with 403', async () => {
    const s = await startEndpoint({ credentials: { user: 'panel', password: 'wrong' } });
    const pbxPort = await freeSipPort();
    const run = sipp(['-sf', scenario('uas-auth-bye'), '-m', '1', '-p', String(pbxPort)]);
    await sippListening(pbxPort);
    const call = s.ep.dial(`sip:flat1@127.0.0.1:${pbxPort}`);
    await run;
    await waitFor(() => call.isEnded, 'call ended');
    await s.ep.close();
    await s.transport.close();
    expect(call.info).toMatchObject({ state: 'ended', status: 403 });
  });

  test('busy: 486 ends the call with that status', async () => {
    const s = await startEndpoint();
    const pbxPort = await freeSipPort();
    const run = sipp(['-sf', scenario('uas-486'), '-m', '1', '-p', String(pbxPort)]);
    await sippListening(pbxPort);
    const call = s.ep.dial(`127.0.0.1:${pbxPort}`);
    const r = await run;
    await waitFor(() => call.isEnded, 'call ended');
    await s.ep.close();
    await s.transport.close();
    expect(r.code).toBe(0);
    expect(call.info).toMatchObject({ reason: 'rejected', status: 486 });
  });

  test('no answer: the no-answer timeout CANCELs the ringing call (CANCEL, 487, ACK)', async () => {
    const s = await startEndpoint();
    const pbxPort = await freeSipPort();
    const run = sipp(['-sf', scenario('uas-ring-cancel'), '-m', '1', '-p', String(pbxPort)]);
    await sippListening(pbxPort);
    const call = s.ep.dial(`sip:flat1@127.0.0.1:${pbxPort}`, { noAnswerTimeoutMs: 500 });
    const r = await run;
    await waitFor(() => call.isEnded, 'call ended');
    await s.ep.close();
    await s.transport.close();
    expect(r.errors).toBe('');
    expect(r.code).toBe(0);
    expect(call.info).toMatchObject({ reason: 'no-answer', status: 487 });
  });

  test('we call, sipp answers (built-in UAS), we hang up with BYE', async () => {
    const s = await startEndpoint();
    const pbxPort = await freeSipPort();
    const run = sipp(['-sn', 'uas', '-m', '1', '-p', String(pbxPort)]);
    await sippListening(pbxPort);
    const call = s.ep.dial(`sip:flat1@127.0.0.1:${pbxPort}`);
    await waitFor(() => call.state === 'answered', 'answered');
    call.hangup();
    const r = await run;
    await s.ep.close();
    await s.transport.close();
    expect(r.code).toBe(0);
    expect(call.info.reason).toBe('local-bye');
  });
});
