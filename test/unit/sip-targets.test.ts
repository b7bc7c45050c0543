/** Where a dial target goes: URI, IP[:port], or a user at its binding or on the server. */
import { resolveTarget } from '../../nodes/lib/sip/targets';

const server = { address: '10.0.0.1', port: 5060, protocol: 'udp' as const };

describe('dial targets', () => {
  test('a sip: URI goes to its host, or to the server (the outbound proxy) when there is one', () => {
    expect(resolveTarget('sip:5588@192.168.1.65:5062', { protocol: 'udp' })).toEqual({ uri: 'sip:5588@192.168.1.65:5062', remote: { address: '192.168.1.65', port: 5062, protocol: 'udp' } });
    const viaServer = resolveTarget('sip:5588@pbx.local', { protocol: 'udp', server });
    expect(viaServer.remote).toBe(server);
  });

  test('IP[:port] is a P2P call straight to the panel', () => {
    expect(resolveTarget('192.168.1.65', { protocol: 'tcp' })).toEqual({ uri: 'sip:192.168.1.65', remote: { address: '192.168.1.65', port: 5060, protocol: 'tcp' } });
    expect(resolveTarget(' 192.168.1.65:5070 ', { protocol: 'udp' }).uri).toBe('sip:192.168.1.65:5070');
  });

  test('a number: its registered binding first, else on the server in its domain', () => {
    const binding = { uri: 'sip:panel@192.168.1.30:5060', remote: { address: '192.168.1.30', port: 5060, protocol: 'udp' as const } };
    expect(resolveTarget('panel', { protocol: 'udp', locate: (u) => (u === 'panel' ? binding : undefined) })).toBe(binding);
    expect(resolveTarget('5588', { protocol: 'udp', server, domain: 'fritz.box' })).toEqual({ uri: 'sip:5588@fritz.box', remote: server });
    expect(resolveTarget('5588', { protocol: 'udp', server }).uri).toBe('sip:5588@10.0.0.1');
  });

  test('a registrar has no server: a panel not registered now, or no panel of that name, says so', () => {
    const ctx = { protocol: 'udp' as const, locate: () => undefined, knows: (u: string) => u === 'phone1' };
    expect(() => resolveTarget('phone1', ctx)).toThrow(/^sip\.panelNotRegistered \(target="phone1"\)/);
    expect(() => resolveTarget('phone9', ctx)).toThrow(/^sip\.noSuchPanel \(target="phone9"\)/);
  });

  test.each([
    ['sip:', 'sip.notSipUri'],
    ['two words', 'sip.cannotDial'],
    ['5588', 'sip.noServerToDial'],
  ])('%j is refused with %s', (target, code) => {
    expect(() => resolveTarget(target, { protocol: 'udp' })).toThrow(new RegExp(`^${code.replace('.', '\\.')}`));
  });
});
