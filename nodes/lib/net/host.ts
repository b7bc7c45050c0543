/**
 * Addresses as users type them into a dialog: an IP address to listen on, a host name,
 * `host[:port]` of a server, a URL of a device or a broker, a list of allowed sources.
 * Rules for core/fields.ts forms, used at deploy and (bundled) in the editor; each throws
 * an IntercomError naming the field.
 */
import { IntercomError } from '../core/errors';
import { isEmpty, textOf, type Check } from '../core/fields';
import { ipVersion, parseCidrList } from './cidr';

/**
 * A DNS host name (RFC 1123 §2.1: labels of letters, digits and hyphens, not starting or
 * ending with a hyphen, at most 63 each and 253 in all; underscores as container and
 * add-on names have them). A name of digits and dots only must be an IPv4 address
 * instead: RFC 1123 says a host name never has the dotted-decimal form.
 */
export function isHostName(text: string): boolean {
  if (!text || text.length > 253) return false;
  if (/^[\d.]+$/.test(text)) return false;
  return text.split('.').every((l) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l));
}

/** An IP address (v4, or v6 with or without brackets) or a host name. */
export function isHost(text: string): boolean {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (bare !== text) return ipVersion(bare) === 6;
  return ipVersion(text) !== 0 || isHostName(text);
}

export interface HostPort {
  host: string;
  port?: number;
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address; undefined when it is none of them. */
export function parseHostPort(text: string): HostPort | undefined {
  const t = text.trim();
  if (ipVersion(t) === 6) return { host: t };
  const m = /^(\[[^\]]*\]|[^:[\]\s]+)(?::(\d{1,5}))?$/.exec(t);
  if (!m || !isHost(m[1])) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

/** An IP address to listen on (0.0.0.0 or :: for every interface). */
export const ipAddress: Check = (v, field) => {
  if (isEmpty(v)) return;
  const t = textOf(v);
  if (ipVersion(t) === 0) throw new IntercomError('setting.ip', { field, value: t.slice(0, 60) });
};

/** A host name or an IP address. */
export const host: Check = (v, field) => {
  if (isEmpty(v)) return;
  const t = textOf(v);
  if (!isHost(t)) throw new IntercomError('setting.host', { field, value: t.slice(0, 60) });
};

/** `host[:port]` with a port from 1 to 65535. */
export const hostPort: Check = (v, field) => {
  if (isEmpty(v)) return;
  const t = textOf(v);
  if (!parseHostPort(t)) throw new IntercomError('setting.hostPort', { field, value: t.slice(0, 60) });
};

/** Addresses and CIDR blocks separated by commas, semicolons or spaces: every entry must be one. */
export const cidrList: Check = (v, field) => {
  if (isEmpty(v)) return;
  const { invalid } = parseCidrList(String(v));
  if (invalid.length) throw new IntercomError('setting.cidrList', { field, entries: invalid.join(', ').slice(0, 120), count: invalid.length });
};

export interface UrlParts {
  scheme: string;
  host: string;
  port?: number;
  /** the path, query and fragment as written */
  rest: string;
}

/** `scheme://[user[:password]@]host[:port][/path][?query][#fragment]` with a valid host and port. */
export function parseUrl(text: string): UrlParts | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:[^@/?#\s]*@)?(\[[^\]]*\]|[^:/?#\s[\]]*)(?::(\d{1,5}))?([/?#][^\s]*)?$/.exec(text.trim());
  if (!m || !isHost(m[2])) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { scheme: m[1].toLowerCase(), host: m[2].replace(/^\[|\]$/g, ''), port, rest: m[4] ?? '' };
}

export interface UrlRule {
  /** schemes allowed, lower case: ['http', 'https'] */
  schemes: readonly string[];
  /** only scheme://host[:port], a trailing '/' allowed (a device's base URL) */
  originOnly?: boolean;
  /** the path and query may hold {{msg.*}} templates (a message never chooses the host) */
  templates?: boolean;
}

/** A URL of one of the schemes; the code tells what was wrong. */
export function url(rule: UrlRule): Check {
  return (v, field) => {
    if (isEmpty(v)) return;
    const raw = textOf(v);
    // A template may hold spaces ({{ msg.call.from.user }}); the URL around it may not.
    const t = rule.templates ? raw.replace(/\{\{[^{}]*\}\}/g, 'x') : raw;
    const value = raw.slice(0, 80);
    const schemes = rule.schemes.map((s) => `${s}://`).join(', ');
    if (rule.templates && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*\{\{/i.test(raw)) throw new IntercomError('setting.urlHostTemplate', { field });
    const u = parseUrl(t);
    if (!u) {
      const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(t)?.[1]?.toLowerCase();
      throw new IntercomError(scheme && rule.schemes.includes(scheme) ? 'setting.urlHost' : 'setting.url', { field, schemes, value });
    }
    if (!rule.schemes.includes(u.scheme)) throw new IntercomError('setting.url', { field, schemes, value });
    if (rule.originOnly && u.rest !== '' && u.rest !== '/') throw new IntercomError('setting.urlOrigin', { field, value });
  };
}
