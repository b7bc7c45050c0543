/**
 * A generic HTTP request as the door's open: method, URL, headers and body from the
 * configuration, with message fields filled in by template (template.ts), escaped for where
 * they land. The host is configuration only.
 */
import type { Credentials } from '../auth/digest';
import type { HttpClient } from '../http/client';
import { render } from './template';
import { OpenError } from './open-error';
import { templateScope, type ActionRunner, type HttpAction, type OpenContext, type Tally } from './action';
import { sendAndJudge } from './http-answer';

export interface HttpDeps {
  http: HttpClient;
  credentials?: Credentials;
  door: { id: string; name: string };
}

export class HttpRunner implements ActionRunner {
  constructor(
    private readonly a: HttpAction,
    private readonly deps: HttpDeps,
  ) {
    if (!/^https?:\/\//i.test(a.url)) throw new OpenError('door.urlNotHttp');
    // A message may fill the path and query, never the host: where a door command goes
    // (with its credentials) is configuration, not input.
    if (/^https?:\/\/[^/?#]*\{\{/i.test(a.url)) throw new OpenError('door.urlHostTemplate');
  }

  get idempotent(): boolean {
    return this.a.idempotent === true;
  }

  attempt(ctx: OpenContext, tally: Tally): Promise<number> {
    const a = this.a;
    const scope = templateScope(ctx, this.deps.door);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(a.headers ?? {})) headers[k.toLowerCase()] = render(v, scope, 'header');
    const json = /json/i.test(headers['content-type'] ?? '');
    const send = () =>
      this.deps.http.request({
        method: a.method,
        url: render(a.url, scope, 'url'),
        headers,
        body: a.body ? render(a.body, scope, json ? 'json' : 'none') : undefined,
        auth: a.auth ?? 'auto',
        credentials: a.auth === 'none' ? undefined : this.deps.credentials,
      });
    return sendAndJudge(send, this.idempotent, a.successMatch ? { kind: 'text', match: a.successMatch } : undefined, tally);
  }
}
