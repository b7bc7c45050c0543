/**
 * The install path the README gives while the package is not on the npm registry: `npm pack`,
 * then Node-RED's palette manager, Install → "upload module tgz". This posts the tarball to
 * the editor's own endpoint (POST /nodes, multipart field "tarball", what the upload button
 * sends) of a fresh Node-RED 4 and 5, and proves the nodes load without a restart.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkRegistration } from '../helpers/package-contract';
import { NodeRedInstance, Packed, Runtime, describeWithRuntime, nodeRed4, nodeRed5, packPackage, rmDir, settingsJs, startNodeRed } from '../helpers/package';

jest.setTimeout(180000);

let packed: Packed | undefined;
beforeAll(() => {
  packed = packPackage();
}, 120000);
afterAll(() => rmDir(packed?.dir));

/** POST /nodes with the tarball as the palette manager's upload does. */
function upload(url: string, file: string): Promise<{ status: number; body: string }> {
  const boundary = '----intercom' + Date.now().toString(16);
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="tarball"; filename="${path.basename(file)}"\r\nContent-Type: application/gzip\r\n\r\n`),
    fs.readFileSync(file),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/nodes`, { method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': body.length, 'Node-RED-API-Version': 'v2' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function uploadOn(runtime: Runtime | string): void {
  describeWithRuntime(runtime, 'palette upload', (rt) => {
    let nr: NodeRedInstance | undefined;
    let dir: string | undefined;
    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(tmpdir(), 'nrsi-upload-'));
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true }, null, 2));
      fs.writeFileSync(path.join(dir, 'settings.js'), settingsJs());
      nr = await startNodeRed(rt, dir);
    }, 90000);
    afterAll(async () => {
      await nr?.stop();
      rmDir(dir);
    });

    test('the packed tarball uploaded in the palette manager installs and every node loads, no restart', async () => {
      const r = await upload(nr!.url, packed!.tarball);
      expect([r.status, r.body.slice(0, 300)]).toEqual([200, expect.stringContaining('node-red-contrib-sip-intercom')]);
      expect(await checkRegistration(nr!)).toEqual([]);
    });
  });
}

uploadOn(nodeRed4());
uploadOn(nodeRed5());
