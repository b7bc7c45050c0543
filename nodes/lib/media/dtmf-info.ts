/**
 * DTMF carried in SIP INFO bodies (no RFC; the de-facto formats every PBX and panel uses):
 *   application/dtmf-relay   "Signal=5\r\nDuration=160\r\n"   (Cisco, Asterisk, BAS-IP)
 *   application/dtmf         "5"                               (a bare digit)
 * The SIP layer hands us the Content-Type and body; this is a pure function.
 */
import { IntercomError } from '../core/errors';
import { DTMF_EVENTS } from './rfc4733';

export type InfoDtmf = { ok: true; digit: string; durationMs?: number } | { ok: false; reason: string };

const MAX_BODY = 1024;

function digitOf(text: string): string | undefined {
  const t = text.trim().toUpperCase();
  if (t.length === 1 && DTMF_EVENTS.includes(t)) return t;
  // Some senders use the RFC 4733 event number: 10 = *, 11 = #, 12-15 = A-D.
  if (/^\d{1,2}$/.test(t)) {
    const n = Number(t);
    if (n <= 15) return DTMF_EVENTS[n];
  }
  return undefined;
}

export function parseInfoDtmf(contentType: unknown, body: unknown): InfoDtmf {
  if (typeof contentType !== 'string') return { ok: false, reason: 'no Content-Type' };
  const type = contentType.split(';')[0].trim().toLowerCase();
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (typeof text !== 'string') return { ok: false, reason: 'no body' };
  if (text.length > MAX_BODY) return { ok: false, reason: 'body too large' };
  if (type === 'application/dtmf') {
    const digit = digitOf(text);
    return digit ? { ok: true, digit } : { ok: false, reason: `not a DTMF digit: ${JSON.stringify(text.slice(0, 20))}` };
  }
  if (type === 'application/dtmf-relay') {
    let digit: string | undefined;
    let durationMs: number | undefined;
    for (const line of text.split(/\r?\n/)) {
      const m = /^\s*([A-Za-z-]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (!m) continue;
      const key = m[1].toLowerCase();
      if (key === 'signal') {
        if (digit !== undefined) return { ok: false, reason: 'two Signal lines' };
        digit = digitOf(m[2]);
        if (!digit) return { ok: false, reason: `not a DTMF digit: ${JSON.stringify(m[2].slice(0, 20))}` };
      } else if (key === 'duration' && /^\d{1,6}$/.test(m[2])) {
        durationMs = Number(m[2]);
      }
    }
    return digit ? { ok: true, digit, durationMs } : { ok: false, reason: 'no Signal= line' };
  }
  return { ok: false, reason: `not a DTMF content type: ${type.slice(0, 60)}` };
}

/**
 * The INFO body for sending one key (the account's "SIP INFO" DTMF mode): the
 * application/dtmf-relay form, which every panel and PBX that takes INFO understands.
 */
export function buildInfoDtmf(digit: string, durationMs = 160): { contentType: string; body: string } {
  const d = typeof digit === 'string' ? digit.toUpperCase() : '';
  if (d.length !== 1 || !DTMF_EVENTS.includes(d)) throw new IntercomError('media.notDtmfDigit', { digit: String(digit).slice(0, 20) });
  const ms = Math.min(Math.max(Math.round(durationMs), 40), 5000);
  return { contentType: 'application/dtmf-relay', body: `Signal=${d}\r\nDuration=${ms}\r\n` };
}
