/**
 * A per-account SIP trace for support: every message in and out with a timestamp, in a
 * bounded ring, with credentials masked so a user can hand it over safely.
 */
import type { Remote } from './transport';

export interface TraceEntry {
  at: string;
  direction: 'in' | 'out';
  remote: string;
  message: string;
}

/** Digest responses and any password-like parameter are replaced; the rest stays readable. */
export function maskSecrets(message: string, secrets: string[] = []): string {
  let m = message.replace(/\b(response|cnonce|password|auth_pass|secret)\s*=\s*("[^"]*"|[^,\s;]+)/gi, '$1="***"');
  for (const s of secrets) if (s && s.length >= 3) m = m.split(s).join('***');
  return m;
}

export class SipTrace {
  enabled = false;
  private ring: TraceEntry[] = [];
  constructor(private max = 2000, private secrets: () => string[] = () => []) {}

  record(direction: 'in' | 'out', data: string, remote: Remote): void {
    if (!this.enabled) return;
    this.ring.push({ at: new Date().toISOString(), direction, remote: `${remote.protocol}:${remote.address}:${remote.port}`, message: maskSecrets(data, this.secrets()) });
    if (this.ring.length > this.max) this.ring.splice(0, this.ring.length - this.max);
  }

  clear(): void {
    this.ring = [];
  }

  /** Plain text in the usual "direction remote time / message" layout of SIP traces. */
  text(): string {
    return this.ring.map((e) => `${e.at} ${e.direction === 'in' ? '<<' : '>>'} ${e.remote}\n${e.message.trimEnd()}\n`).join('\n');
  }

  get size(): number {
    return this.ring.length;
  }
}
