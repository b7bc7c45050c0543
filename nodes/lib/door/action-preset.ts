/**
 * A vendor preset over HTTP (presets.ts): the documented request for the device, with
 * Basic/Digest as it asks, or the vendor's own login step first (BAS-IP token, Grandstream
 * challenge, vendor-auth.ts).
 */
import type { Credentials } from '../auth/digest';
import type { AuthMode, HttpClient, HttpResult } from '../http/client';
import { redactUrl } from '../http/redact';
import { fillTemplate, findPreset, presetParams, type Preset } from './presets';
import { BasIpSession, gdsChallenge } from './vendor-auth';
import { OpenError } from './open-error';
import type { ActionRunner, OpenContext, PresetAction, Tally } from './action';
import { sendAndJudge } from './http-answer';

export interface PresetDeps {
  http: HttpClient;
  credentials?: Credentials;
  /** Grandstream's remote PIN */
  pin?: string;
  timeoutMs: number;
  now: () => number;
}

export class PresetRunner implements ActionRunner {
  private readonly preset: Preset;
  private readonly base: string;
  private basip: BasIpSession | undefined;

  constructor(
    private readonly a: PresetAction,
    private readonly deps: PresetDeps,
  ) {
    const preset = findPreset(a.preset);
    if (!preset) throw new OpenError('door.unknownPreset', { preset: a.preset });
    this.preset = preset;
    this.base = a.baseUrl.replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+$/i.test(this.base)) throw new OpenError('door.hostNotHttp', { host: redactUrl(a.baseUrl) });
  }

  get idempotent(): boolean {
    return this.preset.idempotent;
  }

  attempt(_ctx: OpenContext, tally: Tally): Promise<number> {
    return sendAndJudge(() => this.request(tally), this.idempotent, this.preset.success, tally);
  }

  private async request(tally: Tally): Promise<HttpResult> {
    const { http, credentials: creds, timeoutMs, now } = this.deps;
    const preset = this.preset;
    const params = presetParams({
      relay: this.a.relay ?? 1,
      pulseSeconds: this.a.pulseSeconds ?? 2,
      userId: this.a.userId,
      user: creds?.user ?? '',
      password: creds?.password ?? '',
    });
    if (preset.auth === 'basip-token') {
      if (!creds) throw new OpenError('door.needsCredentials', { vendor: 'BAS-IP' });
      this.basip ??= new BasIpSession(http, this.base, creds, now);
      const res = await this.basip.request(preset.open.method, fillTemplate(preset.open.path, params, true), timeoutMs);
      tally.requests += res.loginRequests;
      return res;
    }
    if (preset.auth === 'gds-challenge') {
      if (!creds) throw new OpenError('door.needsCredentials', { vendor: 'Grandstream GDS' });
      const t = now();
      const ch = await gdsChallenge(http, this.base, creds, this.deps.pin ?? '', timeoutMs);
      tally.requests += ch.requests;
      const path = fillTemplate(preset.open.path, { ...params, authcode: ch.authcode, idcode: ch.idcode }, true);
      return http.request({ method: preset.open.method, url: this.base + path, timeoutMs: Math.max(1, timeoutMs - (now() - t)) });
    }
    const headers: Record<string, string> = {};
    if (preset.open.contentType) headers['content-type'] = preset.open.contentType;
    return http.request({
      method: preset.open.method,
      url: this.base + fillTemplate(preset.open.path, params, true),
      headers,
      body: preset.open.body === undefined ? undefined : fillTemplate(preset.open.body, params, false),
      auth: preset.auth as AuthMode,
      credentials: preset.auth === 'none' ? undefined : creds,
    });
  }
}
