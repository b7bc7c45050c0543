/**
 * examples/Notify/"Doorbell with a picture to Telegram" in a real Node-RED (its core http
 * request node cannot load in jest's VM), from the file with only what its comment names
 * changed, and the bot token in Node-RED's environment as the comment says: a baresip panel
 * rings, the camera stand-in serves a picture, and a stand-in of Telegram's Bot API on
 * 127.0.0.1 (TELEGRAM_API, the local Bot API server setting) receives sendPhoto as
 * multipart/form-data with this ring's picture, byte for byte.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadExample, nodeOf, setAfterImport } from '../helpers/examples';
import { JPEG } from '../helpers/example-peers';
import { describeWithPeers } from '../helpers/peers';
import { freeSipPort, freeTcpPort } from '../helpers/ports';
import { delay, waitFor } from '../helpers/wait';
import { startBaresip, type Baresip } from '../peer/media-baresip';
import { ensureBuilt, prepareUserDir, startNodeRed, stopNodeRed, type Child } from './access-node-red-child';

jest.setTimeout(60000);

const TOKEN = '123456:TEST-token-never-in-the-flow';

interface Part {
  name: string;
  filename?: string;
  type?: string;
  data: Buffer;
}

/** multipart/form-data (RFC 7578) into its parts. */
function parts(body: Buffer, contentType: string): Part[] {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (!boundary) return [];
  const sep = Buffer.from(`--${boundary}`);
  const out: Part[] = [];
  let at = body.indexOf(sep);
  while (at >= 0) {
    const next = body.indexOf(sep, at + sep.length);
    if (next < 0) break;
    const chunk = body.subarray(at + sep.length + 2, next - 2); // CRLF after the boundary, before the next
    const head = chunk.indexOf('\r\n\r\n');
    const headers = chunk.subarray(0, head).toString('utf8');
    out.push({
      name: /name="([^"]*)"/.exec(headers)?.[1] ?? '',
      filename: /filename="([^"]*)"/.exec(headers)?.[1],
      type: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1],
      data: chunk.subarray(head + 4),
    });
    at = next;
  }
  return out;
}

function serve(handler: (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}

describeWithPeers(['baresip', 'sox'], 'Notify/Doorbell with a picture to Telegram', () => {
  let dir: string;
  let red: Child | null = null;
  const stops: Array<() => Promise<void>> = [];
  beforeAll(() => ensureBuilt(['nodes/intercom-snapshot.ts', 'nodes/intercom-door.ts', 'nodes/intercom-sip-account.ts']), 120000);
  afterEach(async () => {
    await stopNodeRed(red, 'SIGTERM');
    red = null;
    for (const s of stops.splice(0).reverse()) await s();
    rmSync(dir, { recursive: true, force: true });
  });

  test("each ring sends that ring's picture to the chat, the token only in the request line", async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'examples-notify-'));
    // the camera: a different picture for each ring (the JPEG comment tells them apart)
    let shot = 0;
    const pictures: Buffer[] = [];
    const camera = await serve((_req, _b, res) => {
      const pic = Buffer.from(JPEG);
      pic.write(String(++shot % 10), JPEG.indexOf('Lavc') + 4, 'latin1');
      pictures.push(pic);
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      res.end(pic);
    });
    stops.push(() => camera.close());
    const sent: Array<{ url: string; fields: Record<string, string>; photo?: Part }> = [];
    const telegram = await serve((req, body, res) => {
      const p = parts(body, String(req.headers['content-type']));
      sent.push({ url: req.url ?? '', fields: Object.fromEntries(p.filter((x) => !x.filename).map((x) => [x.name, x.data.toString('utf8')])), photo: p.find((x) => x.name === 'photo') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result: { message_id: sent.length } }));
    });
    stops.push(() => telegram.close());

    const sipPort = await freeSipPort();
    const ex = loadExample('Notify/Doorbell with a picture to Telegram.json');
    const chat = nodeOf(ex, 'change', 'Telegram chat');
    const creds = setAfterImport(ex, {
      doorbell: { allowedSources: '127.0.0.1', bindAddress: '127.0.0.1', bindPort: sipPort },
      'Front door': { snapshotUrl: `${camera.url}/snapshot.jpg` },
      'Telegram chat': { rules: [{ ...chat.rules[0], to: '424242' }] },
    });
    const uiPort = await freeTcpPort();
    prepareUserDir(dir, uiPort, ex.flow, { editor: true });
    writeFileSync(path.join(dir, 'flows_cred.json'), JSON.stringify(creds));
    red = startNodeRed(dir, { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API: telegram.url });
    await waitFor(() => red!.log.some((l) => /Started flows/.test(l)), 'Node-RED started the flows', 30000);

    const panel: Baresip = await startBaresip(mkdtempSync(path.join(dir, 'panel-')), undefined, [], 'auto');
    stops.push(() => panel.stop());
    for (let ring = 1; ring <= 2; ring++) {
      panel.command('dial', `sip:door@127.0.0.1:${sipPort}`);
      await waitFor(() => sent.length >= ring, `sendPhoto for ring ${ring} (${red!.log.slice(-5).join(' | ')})`, 15000);
      panel.command('hangup');
      // past the door's 3 s picture sharing: the next ring is another visitor
      if (ring === 1) await delay(3500);
    }
    expect(sent.map((s) => s.url)).toEqual([`/bot${TOKEN}/sendPhoto`, `/bot${TOKEN}/sendPhoto`]);
    for (const [i, s] of sent.entries()) {
      expect(s.fields.chat_id).toBe('424242');
      expect(s.fields.caption).toMatch(/phone/);
      expect(s.photo).toMatchObject({ filename: 'door.jpg', type: 'image/jpeg' });
      expect(s.photo!.data.equals(pictures[i])).toBe(true);
    }
    expect(pictures[0].equals(pictures[1])).toBe(false);
    // the token is in no log line
    expect(red!.log.join('\n')).not.toContain(TOKEN);
  });
});
