/**
 * Media sockets send to address literals without dns.lookup (net/udp-lookup.ts): for our
 * own sockets and for a socket made elsewhere (werift's), and a host name still resolves.
 */
import * as dgram from 'node:dgram';
import { createMediaSocket, literalLookupOn } from '../../nodes/lib/net/udp-lookup';
import { waitFor } from '../helpers/wait';

// the module object dgram reads dns.lookup from (an `import * as` copy cannot be spied on)
const dns = require('node:dns') as typeof import('node:dns');

async function sink(): Promise<{ port: number; got: () => number; close: () => void }> {
  const s = dgram.createSocket('udp4');
  let n = 0;
  s.on('message', () => n++);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, got: () => n, close: () => s.close() };
}
// a busy machine may take more than a moment to resolve a name and deliver the datagram
const until = (f: () => boolean): Promise<boolean> => waitFor(f, 'the datagram at the sink', 2000, 10);

describe('UDP sends to literals skip dns.lookup', () => {
  afterEach(() => jest.restoreAllMocks());

  test.each([
    ['a media socket', (): dgram.Socket => createMediaSocket('udp4')],
    [
      'a socket made elsewhere, changed after',
      (): dgram.Socket => {
        const s = dgram.createSocket('udp4');
        expect(literalLookupOn(s)).toBe(true);
        expect(literalLookupOn(s)).toBe(true); // once is enough, twice changes nothing
        return s;
      },
    ],
  ])('%s: a literal goes out without a lookup, a name with one', async (_what, make) => {
    const to = await sink();
    // dgram takes dns.lookup when the socket is made: the spy goes in first
    const spy = jest.spyOn(dns, 'lookup');
    const s = make();
    try {
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
      spy.mockClear();
      s.send(Buffer.from('a'), to.port, '127.0.0.1');
      await until(() => to.got() === 1);
      expect(to.got()).toBe(1);
      expect(spy).not.toHaveBeenCalled();
      s.send(Buffer.from('b'), to.port, 'localhost');
      await until(() => to.got() === 2);
      expect(spy).toHaveBeenCalled();
      expect(to.got()).toBe(2);
    } finally {
      s.close();
      to.close();
    }
  });

  test('a plain socket does look a literal up (what the change removes)', async () => {
    const to = await sink();
    const spy = jest.spyOn(dns, 'lookup');
    const s = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
      spy.mockClear();
      s.send(Buffer.from('a'), to.port, '127.0.0.1');
      await until(() => to.got() === 1);
      expect(spy).toHaveBeenCalled();
    } finally {
      s.close();
      to.close();
    }
  });

  test('a socket without dgram’s usual shape is left alone', () => {
    expect(literalLookupOn({} as dgram.Socket)).toBe(false);
  });
});
