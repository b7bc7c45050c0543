/** The account's settings through the one settings policy: empty = default, else valid or an error naming the field. */
import { IntercomError } from '../../nodes/lib/core/errors';
import { accountConfig, registrarAccounts } from '../../nodes/lib/sip/account-config';

function refusal(fn: () => unknown): { code: string; params: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IntercomError);
    return { code: (err as IntercomError).code, params: (err as IntercomError).params };
  }
  throw new Error('did not throw');
}

describe('account settings', () => {
  test('empty settings are the defaults, seconds become milliseconds', () => {
    expect(accountConfig({ id: 'n1', bindPort: '', expires: '', ringTimeout: '', noAnswerTimeout: '', rtpTimeout: '' }, {})).toMatchObject({
      name: 'n1',
      mode: 'p2p',
      protocol: 'udp',
      bindAddress: '0.0.0.0',
      bindPort: 5060,
      user: 'door',
      expires: 600,
      ringTimeoutMs: 120_000,
      noAnswerTimeoutMs: 60_000,
      rtpTimeoutMs: 30_000,
      dtmfSend: 'rfc4733',
      maxInboundCalls: 16,
      perSourceCalls: 4,
      perSourceRate: 60,
      acceptUsers: [],
    });
  });

  test('flood limits and the users answered, as the editor stores them', () => {
    expect(accountConfig({ id: 'n', maxCalls: '4', sourceCalls: '2', sourceRate: '30', acceptUsers: ' door, 1  100 ' }, {})).toMatchObject({ maxInboundCalls: 4, perSourceCalls: 2, perSourceRate: 30, acceptUsers: ['door', '1', '100'] });
    expect(refusal(() => accountConfig({ id: 'n', acceptUsers: 'door, <sip:x>' }, {}))).toEqual({ code: 'sip.badAcceptUser', params: { user: '<sip:x>' } });
  });

  test('a password is kept for client mode only: P2P, registrar and listen never send it', () => {
    expect(accountConfig({ id: 'n', mode: 'client', server: 'pbx' }, { password: 'pw' }).password).toBe('pw');
    for (const mode of ['p2p', 'registrar', 'listen']) expect(accountConfig({ id: 'n', mode }, { password: 'pw' }).password).toBeUndefined();
  });

  test('values the editor stores as text are taken', () => {
    const c = accountConfig({ id: 'n', mode: 'client', transport: 'tcp', bindPort: '5062', expires: '3600', ringTimeout: '0', rtpTimeout: '1.5', dtmfSend: 'info', server: ' pbx:5060 ' }, { password: 'pw' });
    expect(c).toMatchObject({ mode: 'client', protocol: 'tcp', bindPort: 5062, expires: 3600, ringTimeoutMs: 0, rtpTimeoutMs: 1500, dtmfSend: 'info', server: 'pbx:5060', password: 'pw' });
  });

  test.each([
    [{ bindPort: '99999' }, 'setting.integer', 'bindPort'],
    [{ bindPort: '50.5' }, 'setting.integer', 'bindPort'],
    [{ mode: 'client', server: 'pbx', expires: '10' }, 'setting.integer', 'expires'],
    [{ ringTimeout: 'soon' }, 'setting.number', 'ringTimeout'],
    [{ noAnswerTimeout: '0' }, 'setting.number', 'noAnswerTimeout'],
    [{ rtpTimeout: '-1' }, 'setting.number', 'rtpTimeout'],
    [{ mode: 'server' }, 'setting.choice', 'mode'],
    [{ transport: 'tls' }, 'setting.choice', 'transport'],
    [{ dtmfSend: 'inband' }, 'setting.choice', 'dtmfSend'],
    [{ maxCalls: '0' }, 'setting.integer', 'maxCalls'],
    [{ sourceCalls: 'many' }, 'setting.integer', 'sourceCalls'],
    [{ sourceRate: '1.5' }, 'setting.integer', 'sourceRate'],
    [{ rtpPortMin: '80' }, 'setting.integer', 'rtpPortMin'],
    [{ rtpPortMax: '70000' }, 'setting.integer', 'rtpPortMax'],
    [{ rtpPortMin: '10001', rtpPortMax: '10002' }, 'sip.rtpPortRange', 'rtpPortMax'],
    [{ rtpPortMin: '20000', rtpPortMax: '10000' }, 'sip.rtpPortRange', 'rtpPortMax'],
  ])('%j is refused as %s naming %s (nothing is clamped or replaced)', (bad, code, field) => {
    expect(refusal(() => accountConfig({ id: 'n', ...bad }, {}))).toMatchObject({ code, params: { field } });
  });

  test('the RTP port range a container publishes: empty is 16384-32766, one even/odd pair is enough', () => {
    expect(accountConfig({ id: 'n' }, {})).toMatchObject({ rtpPortMin: 16384, rtpPortMax: 32766 });
    expect(accountConfig({ id: 'n', rtpPortMin: '10000', rtpPortMax: '10100' }, {})).toMatchObject({ rtpPortMin: 10000, rtpPortMax: 10100 });
    expect(accountConfig({ id: 'n', rtpPortMin: '10001', rtpPortMax: '10003' }, {})).toMatchObject({ rtpPortMin: 10001, rtpPortMax: 10003 });
  });

  test('rows other modes hide are neither checked nor used: the expiry and server of a P2P account', () => {
    expect(accountConfig({ id: 'n', mode: 'p2p', expires: '10', server: 'pbx', authUser: 'x' }, {})).toMatchObject({ expires: 600, server: undefined, authUser: undefined });
  });

  test('registrar panels: "user [CIDR]" lines with user:password credentials; a panel without a password is refused', () => {
    expect(registrarAccounts('panel1 192.168.1.20\npanel2', 'panel1:a, panel2:b:c')).toEqual([
      { user: 'panel1', password: 'a', allowedSources: '192.168.1.20' },
      { user: 'panel2', password: 'b:c', allowedSources: '' },
    ]);
    expect(refusal(() => registrarAccounts('panel1\npanel3', 'panel1:a'))).toEqual({ code: 'sip.registrarNoPassword', params: { user: 'panel3' } });
    expect(accountConfig({ id: 'n', mode: 'registrar', registrarUsers: 'p' }, { registrarPasswords: 'p:x' }).registrarAccounts).toEqual([{ user: 'p', password: 'x', allowedSources: '' }]);
  });
});

describe('SIP over WebSocket settings (browsers)', () => {
  test('off unless chosen; Node-RED server with the default path; own port with its default port', () => {
    expect(accountConfig({ id: 'n' }, {}).websocket).toBeUndefined();
    expect(accountConfig({ id: 'n', wsOn: 'off', wsPath: '/x' }, {}).websocket).toBeUndefined();
    expect(accountConfig({ id: 'n', wsOn: 'node-red', wsPath: '' }, {}).websocket).toEqual({ on: 'node-red', path: '/sip', port: undefined, origins: [] });
    expect(accountConfig({ id: 'n', wsOn: 'port', wsPort: '', wsOrigins: 'https://ha.local:8123, *' }, {}).websocket).toEqual({ on: 'port', path: '/sip', port: 5066, origins: ['https://ha.local:8123', '*'] });
  });

  test.each([
    [{ wsOn: 'sometimes' }, 'setting.choice', 'wsOn'],
    [{ wsOn: 'node-red', wsPath: 'sip' }, 'sip.badWsPath', 'wsPath'],
    [{ wsOn: 'node-red', wsPath: '/a b' }, 'sip.badWsPath', 'wsPath'],
    [{ wsOn: 'port', wsPort: '70000' }, 'setting.integer', 'wsPort'],
    [{ wsOn: 'node-red', wsOrigins: 'ha.local:8123' }, 'sip.badWsOrigin', 'wsOrigins'],
    [{ wsOn: 'node-red', wsOrigins: 'https://ha.local/path' }, 'sip.badWsOrigin', 'wsOrigins'],
  ])('%j is refused naming its field', (def, code, field) => {
    expect(() => accountConfig({ id: 'n', ...def }, {})).toThrow(expect.objectContaining({ code, params: expect.objectContaining({ field }) }));
  });
});
