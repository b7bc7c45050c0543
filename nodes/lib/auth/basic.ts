/**
 * HTTP Basic authentication (RFC 7617): user-id ":" password, UTF-8 (§2.1), base64. Sent
 * only where a door asks for it or is configured for it; the HTTP client never falls back
 * to Basic for a device that should speak Digest.
 */
import type { Credentials } from './digest';
import { parseChallenges } from './challenges';

/** The Authorization value for `c` (RFC 7617 §2). */
export function basicAuthorization(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.user}:${c.password}`, 'utf8').toString('base64');
}

/** The server side: the credentials of a Basic Authorization value, or undefined. */
export function parseBasicAuthorization(value: string): Credentials | undefined {
  const m = /^\s*Basic\s+([A-Za-z0-9+/]+=*)\s*$/i.exec(value);
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  // §2: the user-id cannot contain a colon, the password can.
  const i = text.indexOf(':');
  return i < 0 ? undefined : { user: text.slice(0, i), password: text.slice(i + 1) };
}

/** Does one of the WWW-Authenticate values offer Basic? */
export function hasBasicChallenge(header: string | string[] | undefined): boolean {
  return parseChallenges(header).some((c) => c.scheme === 'basic');
}
