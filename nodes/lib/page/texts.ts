/**
 * The words of the door page in the visitor's language: the `page` section of the page
 * node's catalog (locales/<lang>/intercom-door-page.json, as the build writes it), for
 * the language the browser asks for first among those the package has (Accept-Language,
 * RFC 9110 §12.5.4), else en-US. The page shows nothing but these texts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export type PageTexts = Record<string, unknown>;

export class PageCatalog {
  private readonly cache = new Map<string, PageTexts>();
  private readonly languages: string[];

  constructor(private readonly localesDir: string, private readonly type = 'intercom-door-page') {
    this.languages = existsSync(localesDir) ? readdirSync(localesDir).filter((d) => existsSync(path.join(localesDir, d, `${type}.json`))) : [];
  }

  /** The language to answer in: the first of the browser's that we have, by q-value. */
  pick(acceptLanguage: string | undefined): string {
    const asked = (acceptLanguage ?? '')
      .split(',')
      .map((part, i) => {
        const [tag, ...params] = part.trim().split(';');
        const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find(Boolean);
        return { tag: tag.trim().toLowerCase(), q: q === undefined ? 1 : Number(q), i };
      })
      .filter((a) => a.tag && a.tag !== '*' && a.q > 0)
      .sort((a, b) => b.q - a.q || a.i - b.i);
    for (const { tag } of asked) {
      const exact = this.languages.find((l) => l.toLowerCase() === tag);
      if (exact) return exact;
      const base = tag.split('-')[0];
      const near = this.languages.find((l) => l.toLowerCase().split('-')[0] === base);
      if (near) return near;
    }
    return this.languages.includes('en-US') ? 'en-US' : (this.languages[0] ?? 'en-US');
  }

  texts(lang: string): PageTexts {
    let t = this.cache.get(lang);
    if (!t) {
      const file = path.join(this.localesDir, lang, `${this.type}.json`);
      const catalog = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>) : {};
      t = (catalog[this.type]?.page as PageTexts | undefined) ?? {};
      this.cache.set(lang, t);
    }
    return t;
  }
}
