/** RFC 3261 §17 timers, driven by an injected clock so each timer is observed exactly. */
import type { Clock, TimerHandle } from '../../nodes/lib/sip/clock';
import { parseMessage, type SipRequest, type SipResponse } from '../../nodes/lib/sip/message';
import { TransactionLayer, type TransportLike } from '../../nodes/lib/sip/transactions';
import type { Remote } from '../../nodes/lib/sip/transport';

class FakeClock implements Clock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; id: object }> = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = {};
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: TimerHandle | undefined): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.length;
  }
}

class Wire implements TransportLike {
  sent: Array<{ at: number; data: string }> = [];
  constructor(readonly reliable: boolean, private clock: FakeClock) {}
  via(branch: string): string {
    return `SIP/2.0/${this.reliable ? 'TCP' : 'UDP'} 127.0.0.1:5062;branch=${branch};rport`;
  }
  send(data: string): void {
    this.sent.push({ at: this.clock.now(), data });
  }
  respond(_req: SipRequest, _from: Remote, data: string): void {
    this.sent.push({ at: this.clock.now(), data });
  }
  times(startsWith: string): number[] {
    return this.sent.filter((s) => s.data.startsWith(startsWith)).map((s) => s.at);
  }
}

const peer: Remote = { address: '127.0.0.1', port: 5070, protocol: 'udp' };
function spec(method: string) {
  return {
    method,
    uri: 'sip:door@127.0.0.1:5070',
    headers: [
      ['Max-Forwards', '70'],
      ['From', '<sip:nr@127.0.0.1>;tag=abc'],
      ['To', '<sip:door@127.0.0.1>'],
      ['Call-ID', 'call-1'],
      ['CSeq', `1 ${method}`],
    ] as Array<[string, string]>,
    remote: peer,
  };
}
function responseTo(data: string, status: number, toTag = 'xyz'): SipResponse {
  const req = parseMessage(data);
  if (!req.ok || req.message.kind !== 'request') throw new Error('bad request');
  const r = req.message;
  const raw = [
    `SIP/2.0 ${status} X`,
    `Via: ${r.vias[0].raw}`,
    `From: <sip:nr@127.0.0.1>;tag=abc`,
    `To: <sip:door@127.0.0.1>;tag=${toTag}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} ${r.cseqMethod}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const p = parseMessage(raw);
  if (!p.ok || p.message.kind !== 'response') throw new Error('bad response');
  return p.message;
}
function incoming(method: string, branch = 'z9hG4bKpeer1', cseqMethod = method): SipRequest {
  const raw = [
    `${method} sip:nr@127.0.0.1:5062 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}`,
    'From: <sip:door@127.0.0.1>;tag=p1',
    'To: <sip:nr@127.0.0.1>',
    'Call-ID: in-1',
    `CSeq: 7 ${cseqMethod}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const p = parseMessage(raw);
  if (!p.ok || p.message.kind !== 'request') throw new Error('bad');
  return p.message;
}

function setup(reliable = false) {
  const clock = new FakeClock();
  const wire = new Wire(reliable, clock);
  const layer = new TransactionLayer(wire, clock, { T1: 500, T2: 4000, T4: 5000 });
  return { clock, wire, layer };
}

describe('client INVITE transaction (RFC 3261 §17.1.1)', () => {
  test('Timer A retransmits at T1, 2T1, 4T1 ... and Timer B times out at 64*T1', () => {
    const { clock, wire, layer } = setup();
    let timedOut = 0;
    layer.sendRequest(spec('INVITE'), { onResponse: () => undefined, onTimeout: () => timedOut++ });
    clock.advance(40000);
    expect(wire.times('INVITE')).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(timedOut).toBe(1);
    expect(clock.pending).toBe(0);
  });

  test('a provisional response stops Timer A and Timer B', () => {
    const { clock, wire, layer } = setup();
    let timedOut = 0;
    const tx = layer.sendRequest(spec('INVITE'), { onResponse: () => undefined, onTimeout: () => timedOut++ });
    clock.advance(600);
    layer.handleResponse(responseTo(tx.data, 180));
    clock.advance(60000);
    expect(wire.times('INVITE')).toEqual([0, 500]);
    expect(timedOut).toBe(0);
  });

  test('a final non-2xx is ACKed (same branch) and re-ACKed on retransmission during Timer D', () => {
    const { clock, wire, layer } = setup();
    const got: number[] = [];
    const tx = layer.sendRequest(spec('INVITE'), { onResponse: (r) => got.push(r.status), onTimeout: () => undefined });
    const busy = responseTo(tx.data, 486);
    layer.handleResponse(busy);
    layer.handleResponse(busy);
    expect(got).toEqual([486]);
    const acks = wire.sent.filter((s) => s.data.startsWith('ACK'));
    expect(acks).toHaveLength(2);
    expect(acks[0].data).toContain(tx.branch);
    expect(acks[0].data).toContain('tag=xyz');
    clock.advance(32000);
    expect(tx.state).toBe('terminated');
  });

  test('no retransmission on a reliable transport, Timer B still applies', () => {
    const { clock, wire, layer } = setup(true);
    let timedOut = 0;
    layer.sendRequest(spec('INVITE'), { onResponse: () => undefined, onTimeout: () => timedOut++ });
    clock.advance(32000);
    expect(wire.times('INVITE')).toEqual([0]);
    expect(timedOut).toBe(1);
  });
});

describe('client non-INVITE transaction (RFC 3261 §17.1.2)', () => {
  test('Timer E doubles up to T2 and Timer F times out at 64*T1', () => {
    const { clock, wire, layer } = setup();
    let timedOut = 0;
    layer.sendRequest(spec('OPTIONS'), { onResponse: () => undefined, onTimeout: () => timedOut++ });
    clock.advance(33000);
    expect(wire.times('OPTIONS')).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(timedOut).toBe(1);
  });

  test('in Proceeding Timer E fires every T2', () => {
    const { clock, wire, layer } = setup();
    const tx = layer.sendRequest(spec('REGISTER'), { onResponse: () => undefined, onTimeout: () => undefined });
    layer.handleResponse(responseTo(tx.data, 100));
    clock.advance(10000);
    expect(wire.times('REGISTER')).toEqual([0, 500, 4500, 8500]);
  });

  test('Timer K absorbs retransmitted finals for T4', () => {
    const { clock, layer } = setup();
    const got: number[] = [];
    const tx = layer.sendRequest(spec('BYE'), { onResponse: (r) => got.push(r.status), onTimeout: () => undefined });
    const ok = responseTo(tx.data, 200);
    layer.handleResponse(ok);
    expect(layer.handleResponse(ok)).toBe(true);
    expect(got).toEqual([200]);
    clock.advance(5000);
    expect(layer.handleResponse(ok)).toBe(false);
  });
});

describe('server INVITE transaction (RFC 3261 §17.2.1)', () => {
  test('Timer G resends a 486 at T1 doubling to T2 until ACK; Timer I then ends it', () => {
    const { clock, wire, layer } = setup();
    const m = layer.handleRequest(incoming('INVITE'), peer);
    if (m.kind !== 'new') throw new Error('expected new');
    m.tx.respond(486, { toTag: 'me' });
    clock.advance(8000);
    expect(wire.times('SIP/2.0 486')).toEqual([0, 500, 1500, 3500, 7500]);
    const ack = layer.handleRequest(incoming('ACK', 'z9hG4bKpeer1', 'INVITE'), peer);
    expect(ack.kind).toBe('ack');
    clock.advance(10000);
    expect(wire.times('SIP/2.0 486')).toHaveLength(5);
    expect(m.tx.state).toBe('terminated');
  });

  test('Timer H gives up on a missing ACK after 64*T1', () => {
    const { clock, layer } = setup();
    const m = layer.handleRequest(incoming('INVITE'), peer);
    if (m.kind !== 'new') throw new Error('expected new');
    let gaveUp = 0;
    m.tx.onAckTimeout = () => gaveUp++;
    m.tx.respond(603, { toTag: 'me' });
    clock.advance(31999);
    expect(gaveUp).toBe(0);
    clock.advance(2);
    expect(gaveUp).toBe(1);
  });

  test('a 2xx is resent (Timer G, §13.3.1.4) until the ACK with a new branch arrives', () => {
    const { clock, wire, layer } = setup();
    const m = layer.handleRequest(incoming('INVITE'), peer);
    if (m.kind !== 'new') throw new Error('expected new');
    let acked = 0;
    m.tx.onAck = () => acked++;
    m.tx.respond(200, { toTag: 'me' });
    clock.advance(1600);
    expect(wire.times('SIP/2.0 200')).toEqual([0, 500, 1500]);
    const ack = layer.handleRequest(incoming('ACK', 'z9hG4bKother', 'INVITE'), peer);
    expect(ack).toMatchObject({ kind: 'ack', for2xx: true });
    expect(acked).toBe(1);
    clock.advance(10000);
    expect(wire.times('SIP/2.0 200')).toHaveLength(3);
  });

  test('a retransmitted INVITE replays the last provisional response', () => {
    const { wire, layer } = setup();
    const m = layer.handleRequest(incoming('INVITE'), peer);
    if (m.kind !== 'new') throw new Error('expected new');
    m.tx.respond(180, { toTag: 'me' });
    expect(layer.handleRequest(incoming('INVITE'), peer).kind).toBe('retransmission');
    expect(wire.times('SIP/2.0 180')).toHaveLength(2);
  });
});

describe('server non-INVITE transaction (RFC 3261 §17.2.2)', () => {
  test('Timer J keeps answering retransmissions for 64*T1, then forgets', () => {
    const { clock, wire, layer } = setup();
    const m = layer.handleRequest(incoming('OPTIONS'), peer);
    if (m.kind !== 'new') throw new Error('expected new');
    m.tx.respond(200);
    expect(layer.handleRequest(incoming('OPTIONS'), peer).kind).toBe('retransmission');
    expect(wire.times('SIP/2.0 200')).toHaveLength(2);
    clock.advance(32000);
    expect(layer.handleRequest(incoming('OPTIONS'), peer).kind).toBe('new');
  });
});
