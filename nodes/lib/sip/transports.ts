/**
 * The transports of one account as one: its UDP or TCP transport (the account's address,
 * Contact and SDP) plus, when configured, SIP over WebSocket for browsers (RFC 7118).
 * Requests and responses go out on the transport the peer is reached by (`remote.protocol`),
 * each with its own Via and its own retransmission rule (UDP retransmits, TCP and WebSocket
 * do not, RFC 3261 §17.1.1.2), so a panel on UDP and a page on WebSocket share one
 * endpoint, one registrar and one call table.
 */
import { EventEmitter } from 'node:events';
import type { SipRequest } from './message';
import type { TransportLike } from './transactions';
import type { Protocol, Remote, SipTransport, TransportStats } from './transport';
import type { SipWsTransport } from './ws-transport';

/** What the endpoint needs of its transport(s). */
export interface EndpointTransport extends TransportLike, EventEmitter {
  readonly protocol: Protocol;
  readonly host: string;
  readonly port: number;
  /** the counters of the account's UDP/TCP transport */
  readonly stats: TransportStats;
  /** drop the new INVITEs of a source far past any caller's pace, unread, for `ms` */
  mute(remote: Remote, ms: number): void;
}

export class TransportSet extends EventEmitter implements EndpointTransport {
  constructor(readonly primary: SipTransport, readonly ws?: SipWsTransport) {
    super();
    for (const t of [primary, ws]) {
      t?.on('request', (req: SipRequest, remote: Remote) => this.emit('request', req, remote));
      t?.on('response', (res: unknown, remote: Remote) => this.emit('response', res, remote));
    }
  }

  get protocol(): Protocol {
    return this.primary.protocol;
  }
  get host(): string {
    return this.primary.host;
  }
  get port(): number {
    return this.primary.port;
  }
  get reliable(): boolean {
    return this.primary.reliable;
  }
  get stats(): SipTransport['stats'] {
    return this.primary.stats;
  }

  private pick(remote?: Remote): SipTransport | SipWsTransport {
    return this.ws && remote && (remote.protocol === 'ws' || remote.protocol === 'wss') ? this.ws : this.primary;
  }

  reliableTo(remote: Remote): boolean {
    return this.pick(remote).reliable;
  }

  via(branch: string, remote?: Remote): string {
    return this.pick(remote).via(branch);
  }

  send(data: string, remote: Remote): void {
    this.pick(remote).send(data, remote);
  }

  mute(remote: Remote, ms: number): void {
    this.pick(remote).mute(remote, ms);
  }

  respond(req: SipRequest, from: Remote, data: string): void {
    this.pick(from).respond(req, from, data);
  }
}
