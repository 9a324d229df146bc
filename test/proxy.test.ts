// HTTP_PROXY, HTTPS_PROXY and NO_PROXY, through a real proxy in a process of its own
// (test/fixtures/forward-proxy.ts) on loopback: the install goes through the proxy the environment
// names for each URL's scheme (the proxy's log shows the target), NO_PROXY bypasses it, and a
// download cut off behind the proxy resumes through it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { runCli, writeManifest, type CliEvent, type ManifestArtifact } from './helpers/cli.js';
import { makeContent, sha256Hex } from './helpers/content.js';
import { jsonInstallArgs, serveArtifact } from './helpers/served-artifact.js';
import { defaultEtag, startOrigin, type Origin } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

const PROXY = fileURLToPath(new URL('fixtures/forward-proxy.ts', import.meta.url));
/** A self-signed certificate for 127.0.0.1, valid until 2126, made for these tests only. */
const CERT_PATH = fileURLToPath(new URL('fixtures/tls/loopback-cert.pem', import.meta.url));
const KEY_PATH = fileURLToPath(new URL('fixtures/tls/loopback-key.pem', import.meta.url));
/** Nothing listens on the discard port: a proxy there fails every connection. */
const DEAD_PROXY = 'http://127.0.0.1:9';
/** Every proxy variable unset, lowercase ones too (proxy-from-env prefers those). */
const NO_PROXY_ENV = {
  HTTP_PROXY: undefined,
  HTTPS_PROXY: undefined,
  ALL_PROXY: undefined,
  NO_PROXY: undefined,
  http_proxy: undefined,
  https_proxy: undefined,
  all_proxy: undefined,
  no_proxy: undefined,
};

interface ProxyLogEntry {
  method: string;
  target: string;
  range?: string;
}

interface ProxyProcess {
  url: string;
  log: ProxyLogEntry[];
}

let proxyChild: ChildProcess;
let proxy: ProxyProcess;
let origin: Origin;

before(async () => {
  proxyChild = spawn(process.execPath, ['--import', 'tsx', PROXY], { stdio: ['ignore', 'pipe', 'inherit'] });
  const log: ProxyLogEntry[] = [];
  const lines = createInterface({ input: proxyChild.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    proxyChild.once('exit', (code) => reject(new Error(`the proxy exited with ${code}`)));
    lines.on('line', (line) => {
      const listening = /^listening (\d+)$/.exec(line);
      if (listening) resolve(Number(listening[1]));
      else log.push(JSON.parse(line) as ProxyLogEntry);
    });
  });
  proxy = { url: `http://127.0.0.1:${port}`, log };
  origin = await startOrigin();
});

after(async () => {
  proxyChild.kill('SIGKILL');
  await origin.close();
});

/** Proxy log entries for requests to `host:port`, either as a CONNECT tunnel or absolute-form. */
function entriesFor(hostPort: string): ProxyLogEntry[] {
  return proxy.log.filter((entry) => entry.target === hostPort || entry.target.startsWith(`http://${hostPort}/`));
}

async function manifestFor(t: Parameters<typeof useTempDir>[0], artifacts: ManifestArtifact[]): Promise<{ manifest: string; dir: string }> {
  const dir = await useTempDir(t, 'proxy');
  return { manifest: await writeManifest(dir, artifacts), dir: `${dir}/models` };
}

test('HTTP_PROXY carries http downloads, and the proxy sees each target', async (t) => {
  const artifacts = [serveArtifact(origin, 'via-proxy-a', makeContent(1_500_000, 1)), serveArtifact(origin, 'via-proxy-b', makeContent(700_000, 2))];
  const { manifest, dir } = await manifestFor(t, artifacts);
  const logBefore = proxy.log.length;
  const result = await runCli(jsonInstallArgs(manifest, dir), { env: { ...NO_PROXY_ENV, HTTP_PROXY: proxy.url, HTTPS_PROXY: DEAD_PROXY } });
  assert.equal(result.code, 0, result.stderr);
  const seen = proxy.log.slice(logBefore);
  assert.ok(seen.length > 0, 'the proxy received nothing');
  const originHost = new URL(origin.origin).host;
  assert.ok(seen.every((entry) => entry.target === originHost || entry.target.startsWith(`${origin.origin}/`)), JSON.stringify(seen));
  assert.equal(origin.requestsFor('/via-proxy-a.bin').length > 0 && origin.requestsFor('/via-proxy-b.bin').length > 0, true);
});

test('a proxy that is down fails the install: the variable is really used', async (t) => {
  const artifacts = [serveArtifact(origin, 'dead-proxy', makeContent(10_000, 3))];
  const { manifest, dir } = await manifestFor(t, artifacts);
  const result = await runCli(jsonInstallArgs(manifest, dir, '--retries', '0'), { env: { ...NO_PROXY_ENV, HTTP_PROXY: DEAD_PROXY } });
  assert.equal(result.code, 1, result.stderr);
  assert.equal(origin.requestsFor('/dead-proxy.bin').length, 0, 'the request went around the proxy');
  const failed = result.events.find((event) => event.event === 'failed');
  assert.equal(failed?.code, 'NETWORK');
});

test('HTTPS_PROXY tunnels https downloads with CONNECT (and HTTP_PROXY is not used for them)', async (t) => {
  const body = makeContent(1_200_000, 4);
  const https = await startHttpsOrigin(body);
  t.after(() => https.close());
  const artifacts: ManifestArtifact[] = [
    { id: 'tls-model', kind: 'other', label: 'Model over https', url: `${https.origin}/tls-model.bin`, size: body.length, sha256: sha256Hex(body), path: 'tls-model.bin' },
  ];
  const { manifest, dir } = await manifestFor(t, artifacts);
  const logBefore = proxy.log.length;
  const result = await runCli(jsonInstallArgs(manifest, dir), {
    env: { ...NO_PROXY_ENV, HTTPS_PROXY: proxy.url, HTTP_PROXY: DEAD_PROXY, NODE_EXTRA_CA_CERTS: CERT_PATH },
  });
  assert.equal(result.code, 0, result.stderr);
  const seen = proxy.log.slice(logBefore);
  assert.deepEqual(new Set(seen.map((entry) => `${entry.method} ${entry.target}`)), new Set([`CONNECT ${new URL(https.origin).host}`]));
  assert.ok(https.requests > 0);
});

test('NO_PROXY=127.0.0.1 bypasses the proxy', async (t) => {
  const artifacts = [serveArtifact(origin, 'no-proxy', makeContent(800_000, 5))];
  const { manifest, dir } = await manifestFor(t, artifacts);
  const logBefore = proxy.log.length;
  const result = await runCli(jsonInstallArgs(manifest, dir), { env: { ...NO_PROXY_ENV, HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(proxy.log.slice(logBefore), [], 'the proxy was used although NO_PROXY names the host');
  assert.ok(origin.requestsFor('/no-proxy.bin').length > 0);
});

test('a download cut off behind the proxy resumes through it with a Range request', async (t) => {
  const body = makeContent(4_000_000, 6);
  const artifacts = [serveArtifact(origin, 'cut-behind-proxy', body)];
  origin.script('/cut-behind-proxy.bin', { kind: 'truncate', afterBytes: 1_500_000 });
  t.after(() => origin.clear('/cut-behind-proxy.bin'));
  const { manifest, dir } = await manifestFor(t, artifacts);
  const logBefore = proxy.log.length;
  const result = await runCli(jsonInstallArgs(manifest, dir, '--connections', '1'), { env: { ...NO_PROXY_ENV, HTTP_PROXY: proxy.url } });
  assert.equal(result.code, 0, result.stderr);

  const starts = result.events.filter((event: CliEvent) => event.event === 'start');
  assert.equal(starts.length, 2, JSON.stringify(starts));
  const resumedAt = starts[1]?.offset;
  assert.ok(typeof resumedAt === 'number' && resumedAt > 0, `the second attempt started at ${String(resumedAt)}`);
  const requests = origin.requestsFor('/cut-behind-proxy.bin');
  assert.equal(requests.length, 2);
  assert.equal(requests[0]?.range, undefined);
  assert.equal(requests[1]?.range, `bytes=${resumedAt}-`);
  assert.equal(requests[1]?.ifRange, defaultEtag(body));
  assert.equal(requests[1]?.status, 206);
  assert.ok(origin.bytesSent('/cut-behind-proxy.bin') <= body.length + 1_500_000 - resumedAt, 'bytes were downloaded twice');
  // The first tunnel died with the cut connection; the resume came through a new one.
  assert.ok(entriesFor(new URL(origin.origin).host).length >= 2 && proxy.log.length - logBefore >= 2);
  const installed = result.events.find((event) => event.event === 'installed');
  assert.equal(installed?.sha256, sha256Hex(body));
});

test('the proxy fixture also forwards absolute-form requests', async () => {
  const body = makeContent(50_000, 7);
  serveArtifact(origin, 'absolute-form', body);
  const proxyUrl = new URL(proxy.url);
  const received = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = httpRequest({ host: proxyUrl.hostname, port: proxyUrl.port, path: origin.url('/absolute-form.bin'), headers: { range: 'bytes=100-' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(received.status, 206);
  assert.deepEqual(received.body, body.subarray(100));
  assert.deepEqual(proxy.log.at(-1), { method: 'GET', target: origin.url('/absolute-form.bin'), range: 'bytes=100-' });
});

/** A minimal https file server for one file: strong ETag, single `bytes=N-` ranges with If-Range. */
async function startHttpsOrigin(body: Buffer): Promise<{ origin: string; requests: number; close(): Promise<void> }> {
  const etag = defaultEtag(body);
  const state = { requests: 0 };
  const server = createHttpsServer({ key: readFileSync(KEY_PATH), cert: readFileSync(CERT_PATH) }, (req, res) => {
    state.requests++;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const first = range && (ifRange === undefined || ifRange === etag) ? Number(range[1]) : undefined;
    const headers = { ETag: etag, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
    if (first === undefined) {
      res.writeHead(200, { ...headers, 'Content-Length': body.length }).end(body);
    } else if (first >= body.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}`, 'Content-Length': 0 }).end();
    } else {
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${first}-${body.length - 1}/${body.length}`, 'Content-Length': body.length - first });
      res.end(body.subarray(first));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
