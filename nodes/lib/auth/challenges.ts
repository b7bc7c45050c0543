/**
 * The authentication header grammar shared by HTTP (RFC 7235 §2.1, §4.1) and SIP (RFC 3261
 * §25.1 uses the same auth-param syntax): a header holds challenges, each a scheme followed
 * by comma-separated auth-params whose values are tokens or quoted strings (RFC 7230 §3.2.6).
 * A token that is not followed by "=" starts the next challenge. Never throws: garbage ends
 * the list, keeping what was read before it.
 */

export interface ParsedChallenge {
  /** lower case */
  scheme: string;
  /** names lower case, values unquoted */
  params: Record<string, string>;
}

const TOKEN = /[A-Za-z0-9!#$%&'*+.^_`|~-]+/y;
const SPACE = /[\s,]/;

/** Every challenge of one or more WWW-Authenticate (Proxy-Authenticate) values, in order. */
export function parseChallenges(header: string | string[] | undefined): ParsedChallenge[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  const out: ParsedChallenge[] = [];
  for (const value of values) read(value, out, undefined);
  return out;
}

/**
 * The auth-params of one credentials or challenge body (`realm="x", nonce=abc`), without
 * its scheme. A stray token inside does not end the list: every name=value pair counts.
 */
export function parseAuthParams(body: string): Record<string, string> {
  const params: Record<string, string> = {};
  read(body, [], params);
  return params;
}

/** A quoted-string (RFC 7230 §3.2.6): backslash before `"` and `\`. */
export function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, (x) => '\\' + x) + '"';
}

/** Reads `value` into challenges, or, with `into`, every param into one object. */
function read(value: string, out: ParsedChallenge[], into: Record<string, string> | undefined): void {
  let current: Record<string, string> | undefined = into;
  let i = 0;
  for (;;) {
    while (i < value.length && SPACE.test(value[i])) i++;
    if (i >= value.length) return;
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(value);
    if (!m) return;
    i = TOKEN.lastIndex;
    let j = i;
    while (j < value.length && (value[j] === ' ' || value[j] === '\t')) j++;
    if (value[j] !== '=') {
      if (!into) {
        current = {};
        out.push({ scheme: m[0].toLowerCase(), params: current });
      }
      continue;
    }
    i = j + 1;
    while (i < value.length && (value[i] === ' ' || value[i] === '\t')) i++;
    let v = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        v += value[i++];
      }
      i++;
    } else {
      while (i < value.length && !SPACE.test(value[i])) v += value[i++];
      // token68 padding ("abc==") is not a param: skip its trailing "="s
      while (value[i] === '=') i++;
    }
    if (current) current[m[0].toLowerCase()] = v;
  }
}
