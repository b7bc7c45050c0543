/**
 * The HTTP plumbing of the door page, on Node's own request/response (Node-RED's httpNode
 * hands an express request, which is one): a JSON body read with a size cap (the page is
 * the only client; anything bigger is not it), answers with the headers every answer of
 * the page carries, and the page's files served from an allow-list, never from a path the
 * request spells.
 */
import { promises as fsp } from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';

export const MAX_BODY = 8 * 1024;

/** The request's JSON object body; undefined when it is missing, too big or not an object. */
export async function readJson(req: http.IncomingMessage & { body?: unknown }): Promise<Record<string, unknown> | undefined> {
  // A body parser in httpNodeMiddleware may have read the stream already.
  if (req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) return req.body as Record<string, unknown>;
  if (req.readableEnded) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) return undefined;
      chunks.push(c as Buffer);
    }
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Headers of every answer: nothing sniffed, nothing cached, no referrer leaves the page. */
export function baseHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store', ...extra };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const data = JSON.stringify(body);
  res.writeHead(status, baseHeaders({ 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(data)), ...extra }));
  res.end(data);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

/** The files of one directory, read once each; only names on the list (or under it, for a library) are served. */
export class StaticFiles {
  private readonly cache = new Map<string, Buffer>();
  constructor(private readonly dir: string) {}

  /** The file at `rel` (a relative path), or undefined when it is outside the directory, not a known type or missing. */
  async read(rel: string): Promise<{ body: Buffer; type: string } | undefined> {
    const type = TYPES[path.extname(rel).toLowerCase()];
    if (!type || rel.includes('\0')) return undefined;
    const file = path.resolve(this.dir, '.' + path.posix.normalize('/' + rel));
    if (!file.startsWith(this.dir + path.sep)) return undefined;
    let body = this.cache.get(file);
    if (!body) {
      try {
        body = await fsp.readFile(file);
      } catch {
        return undefined;
      }
      if (this.cache.size < 500) this.cache.set(file, body);
    }
    return { body, type };
  }
}

export function sendFile(res: http.ServerResponse, file: { body: Buffer; type: string }, headers: Record<string, string>): void {
  res.writeHead(200, { ...baseHeaders(), 'Content-Type': file.type, 'Content-Length': String(file.body.length), ...headers });
  res.end(file.body);
}
