import type * as os from 'node:os';
import { advertisedAddress, firstHost, primaryAddress, routeSourceAddress } from '../../nodes/lib/sip/local-address';

const v4 = (address: string, internal = false): os.NetworkInterfaceInfo =>
  ({ address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: `${address}/24` }) as os.NetworkInterfaceInfo;

describe('the address an account advertises when it listens on every interface', () => {
  test('a Home Assistant OS style host: the LAN, not the hassio or docker bridge listed first', () => {
    const host = { lo: [v4('127.0.0.1', true)], hassio: [v4('172.30.32.1')], docker0: [v4('172.17.0.1')], enp1s0: [v4('192.168.1.10')] };
    expect(primaryAddress(host)).toBe('192.168.1.10');
  });

  test('only bridges: one of them rather than loopback; nothing at all: loopback', () => {
    expect(primaryAddress({ docker0: [v4('172.17.0.1')] })).toBe('172.17.0.1');
    expect(primaryAddress({ lo: [v4('127.0.0.1', true)] })).toBe('127.0.0.1');
  });

  test('the kernel route towards a peer names our source address without sending anything', async () => {
    expect(await routeSourceAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(await routeSourceAddress('not-an-ip')).toBeUndefined();
  });

  test('the first single host of an allowed-sources list', () => {
    expect(firstHost('10.0.0.0/8, 127.0.0.1')).toBe('127.0.0.1');
    expect(firstHost('192.168.1.20/32')).toBe('192.168.1.20');
    expect(firstHost('10.0.0.0/8')).toBeUndefined();
  });

  test('bound to 0.0.0.0 with a loopback panel: the route answer wins over the first LAN address', async () => {
    // The heuristic alone would pick the LAN address of this fake host; the panel at
    // 127.0.0.1 is reached from 127.0.0.1, and that is what SIP and SDP must carry.
    const lanHost = { enp1s0: [v4('192.168.1.10')] };
    expect(await advertisedAddress({ bindAddress: '0.0.0.0', allowedSources: '127.0.0.1' }, lanHost)).toBe('127.0.0.1');
    expect(await advertisedAddress({ bindAddress: '0.0.0.0', server: '127.0.0.1' }, lanHost)).toBe('127.0.0.1');
    expect(await advertisedAddress({ bindAddress: '0.0.0.0', allowedSources: '10.0.0.0/8' }, lanHost)).toBe('192.168.1.10');
  });

  test('an explicit public address or a bound address is taken as it is', async () => {
    expect(await advertisedAddress({ bindAddress: '0.0.0.0', publicAddress: '203.0.113.7', allowedSources: '127.0.0.1' })).toBe('203.0.113.7');
    expect(await advertisedAddress({ bindAddress: '127.0.0.1', allowedSources: '10.1.1.1' })).toBe('127.0.0.1');
  });
});
