/**
 * DTMF carried in SIP INFO bodies (no RFC; the de-facto formats every PBX and panel uses):
 *   application/dtmf-relay   "Signal=5\r\nDuration=160\r\n"   (Cisco, Asterisk, BAS-IP)
 *   application/dtmf         "5"                               (a bare digit)
 * The SIP layer hands us the Content-Type and body; this is a pure function.
 */
import { IntercomError } from '../core/errors';
import { DTMF_EVENTS } from './rfc4733';

/** Why a body is no key press, as a stable code. */
export type InfoDtmfRefusal = 'noContentType' | 'noBody' | 'tooLarge' | 'notDigit' | 'twoSignals' | 'noSignal' | 'notDtmfType';
export type InfoDtmf = { ok: true; digit: string; durationMs?: number } | { ok: false; reason: InfoDtmfRefusal };

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
  if (typeof contentType !== 'string') return { ok: false, reason: 'noContentType' };
  const type = contentType.split(';')[0].trim().toLowerCase();
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (typeof text !== 'string') return { ok: false, reason: 'noBody' };
  if (text.length > MAX_BODY) return { ok: false, reason: 'tooLarge' };
  if (type === 'application/dtmf') {
    const digit = digitOf(text);
    return digit ? { ok: true, digit } : { ok: false, reason: 'notDigit' };
  }
  if (type === 'application/dtmf-relay') {
    let digit: string | undefined;
    let durationMs: number | undefined;
    for (const line of text.split(/\r?\n/)) {
      const m = /^\s*([A-Za-z-]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (!m) continue;
      const key = m[1].toLowerCase();
      if (key === 'signal') {
        if (digit !== undefined) return { ok: false, reason: 'twoSignals' };
        digit = digitOf(m[2]);
        if (!digit) return { ok: false, reason: 'notDigit' };
      } else if (key === 'duration' && /^\d{1,6}$/.test(m[2])) {
        durationMs = Number(m[2]);
      }
    }
    return digit ? { ok: true, digit, durationMs } : { ok: false, reason: 'noSignal' };
  }
  return { ok: false, reason: 'notDtmfType' };
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
