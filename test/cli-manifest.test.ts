// `manifest add` and `manifest check` through the built CLI: the file written byte for byte, what
// went over the network (a Hugging Face HEAD instead of a download when it suffices, the token only
// to its origin), and that a refused add downloads nothing and leaves the manifest as it was.
//
// Hugging Face is simulated by a small "hub" server on loopback in front of the test origin, which
// plays the CDN: like huggingface.co, the hub answers a HEAD on a resolve URL with a 302 to the CDN
// carrying X-Linked-Size and X-Linked-Etag, and a GET with the same redirect. modelhaul recognizes
// resolve URLs by their path on any host (mirrors use the same layout), which is what lets this
// run without the internet.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, type CliEvent, type CliResult } from './helpers/cli.js';
import { makeContent, sha256Hex } from './helpers/content.js';
import { startOrigin, type Origin } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

const KiB = 1024;

interface HubRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

interface Hub {
  url(path: string): string;
  requests: HubRequest[];
  /** What a HEAD on `path` answers besides the redirect: the X-Linked headers, or none. */
  linked(path: string, headers: OutgoingHttpHeaders): void;
  /** Where GET and HEAD on `path` redirect to. */
  redirect(path: string, location: string): void;
}

/** A stand-in for huggingface.co: resolve URLs redirect to the CDN, with X-Linked-* on request. */
async function startHub(t: TestContext): Promise<Hub> {
  const requests: HubRequest[] = [];
  const linked = new Map<string, OutgoingHttpHeaders>();
  const redirects = new Map<string, string>();
  const server = createServer((req: IncomingMessage, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization });
    const location = redirects.get(path);
    if (location === undefined) {
      res.writeHead(404, { 'Content-Length': 0 }).end();
      return;
    }
    const extra = req.method === 'HEAD' ? (linked.get(path) ?? {}) : {};
    res.writeHead(302, { Location: location, 'Content-Length': 0, ...extra }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path) => origin + path,
    requests,
    linked: (path, headers) => linked.set(path, headers),
    redirect: (path, location) => redirects.set(path, location),
  };
}

async function useOrigin(t: TestContext): Promise<Origin> {
  const origin = await startOrigin();
  t.after(() => origin.close());
  return origin;
}

function lastEvent(result: CliResult, name: string): CliEvent {
  const event = result.events.findLast((e) => e.event === name);
  assert.ok(event, `no ${name} event; exit ${result.code}; stderr:\n${result.stderr}`);
  return event;
}

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8')) as unknown;
}

test('manifest add creates the manifest from the URL alone, streaming the file to hash it, and install accepts it', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'manifest-add');
  const body = makeContent(200 * KiB, 21);
  origin.serve('/files/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf', body);
  const url = origin.url('/files/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf');
  const manifest = join(work, 'new', 'my-models.json');

  const result = await runCli(['manifest', 'add', url, '--manifest', manifest, '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(lastEvent(result, 'manifest-add').source, 'download');
  const expected = {
    schemaVersion: 1,
    name: 'my-models',
    artifacts: [
      {
        id: 'qwen2.5-0.5b-instruct-q4_k_m.gguf',
        kind: 'llm',
        label: 'Qwen2.5-0.5B-Instruct-Q4_K_M.gguf',
        url,
        size: body.length,
        sha256: sha256Hex(body),
        path: 'llm/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf',
      },
    ],
  };
  assert.equal(await readFile(manifest, 'utf8'), JSON.stringify(expected, null, 2) + '\n');
  const gets = origin.requestsFor('/files/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf');
  assert.deepEqual(gets.map((r) => r.method), ['GET'], 'a URL that is not a resolve URL gets no HEAD');
  assert.equal(gets[0]?.headers['accept-encoding'], 'identity');

  // The written manifest is one the engine installs from.
  const dir = join(work, 'models');
  const install = await runCli(['install', '--manifest', manifest, '--dir', dir, '--json', '--retry-delay', '0.05']);
  assert.equal(install.code, 0, install.stderr);
  assert.deepEqual(await readFile(join(dir, 'llm', 'Qwen2.5-0.5B-Instruct-Q4_K_M.gguf')), body);
});

test('manifest add appends with defaults guessed from the name and keeps the other top-level fields', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'manifest-append');
  const whisper = makeContent(30 * KiB, 22);
  const voice = makeContent(20 * KiB, 23);
  origin.serve('/ggerganov/whisper.cpp/raw/ggml-tiny.en.bin', whisper);
  origin.serve('/voices/en_US-lessac-medium.onnx', voice);
  const manifest = join(work, 'models.json');
  const existing = {
    $schema: 'https://example.com/modelhaul.schema.json',
    schemaVersion: 1,
    name: 'my-app',
    description: 'kept as written',
    artifacts: [
      { id: 'first', kind: 'other', label: 'First', url: origin.url('/first.bin'), size: 1, sha256: 'a'.repeat(64), path: 'other/first.bin' },
    ],
  };
  await writeFile(manifest, JSON.stringify(existing));

  const stt = await runCli(['manifest', 'add', origin.url('/ggerganov/whisper.cpp/raw/ggml-tiny.en.bin'), '-m', manifest]);
  assert.equal(stt.code, 0, stt.stderr);
  assert.match(stt.stdout, /Updated .*models\.json: added ggml-tiny\.en\.bin/);
  const tts = await runCli(['manifest', 'add', origin.url('/voices/en_US-lessac-medium.onnx'), '-m', manifest, '--id', 'voice', '--label', 'My voice', '--json']);
  assert.equal(tts.code, 0, tts.stderr);

  assert.deepEqual(await readJson(manifest), {
    ...existing,
    artifacts: [
      ...existing.artifacts,
      { id: 'ggml-tiny.en.bin', kind: 'stt', label: 'ggml-tiny.en.bin', url: origin.url('/ggerganov/whisper.cpp/raw/ggml-tiny.en.bin'), size: whisper.length, sha256: sha256Hex(whisper), path: 'stt/ggml-tiny.en.bin' },
      { id: 'voice', kind: 'tts', label: 'My voice', url: origin.url('/voices/en_US-lessac-medium.onnx'), size: voice.length, sha256: sha256Hex(voice), path: 'tts/en_US-lessac-medium.onnx' },
    ],
  });
});

test('manifest add refuses a duplicate id or path with exit 2 before downloading, leaving the file as it was', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'manifest-dup');
  origin.serve('/a/model.gguf', makeContent(10 * KiB, 24));
  origin.serve('/b/model.gguf', makeContent(10 * KiB, 25));
  const manifest = join(work, 'models.json');
  const first = await runCli(['manifest', 'add', origin.url('/a/model.gguf'), '-m', manifest]);
  assert.equal(first.code, 0, first.stderr);
  const before = await readFile(manifest);
  const requestsBefore = origin.requests.length;

  const sameId = await runCli(['manifest', 'add', origin.url('/b/model.gguf'), '-m', manifest, '--path', 'llm/other.gguf']);
  assert.equal(sameId.code, 2);
  assert.match(sameId.stderr, /already has an artifact with id "model\.gguf"/);
  const samePath = await runCli(['manifest', 'add', origin.url('/b/model.gguf'), '-m', manifest, '--id', 'other', '--path', 'LLM/Model.gguf']);
  assert.equal(samePath.code, 2);
  assert.match(samePath.stderr, /path "LLM\/Model\.gguf" collides with the path "llm\/model\.gguf" of artifact "model\.gguf"/);
  const badId = await runCli(['manifest', 'add', origin.url('/b/model.gguf'), '-m', manifest, '--id', 'Not Valid', '--path', 'llm/x.gguf']);
  assert.equal(badId.code, 2);
  assert.match(badId.stderr, /artifacts\[1\]\.id: must start with a lowercase letter/);
  const badKind = await runCli(['manifest', 'add', origin.url('/b/model.gguf'), '-m', manifest, '--kind', 'video']);
  assert.equal(badKind.code, 2);
  assert.match(badKind.stderr, /Allowed choices are stt, llm, tts, other/);
  const insecure = await runCli(['manifest', 'add', 'http://example.com/model.gguf', '-m', manifest, '--id', 'remote', '--path', 'llm/remote.gguf']);
  assert.equal(insecure.code, 2);
  assert.match(insecure.stderr, /INSECURE_URL/);

  assert.deepEqual(await readFile(manifest), before, 'a refused add changed the manifest');
  assert.equal(origin.requests.length, requestsBefore, 'a refused add made a request');
});

test('manifest add fails cleanly on an HTTP error and creates no manifest', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'manifest-404');
  const manifest = join(work, 'models.json');
  const result = await runCli(['manifest', 'add', origin.url('/missing.gguf'), '-m', manifest, '--json']);
  assert.equal(result.code, 1);
  const error = lastEvent(result, 'error');
  assert.equal(error.code, 'HTTP_STATUS');
  await assert.rejects(readFile(manifest), { code: 'ENOENT' });
});

test('manifest add on a URL without a file name names each option it needs, once, with exit 2', async (t) => {
  const work = await useTempDir(t, 'manifest-no-name');
  const manifest = join(work, 'models.json');
  const bare = await runCli(['manifest', 'add', 'http://127.0.0.1:9/models/', '-m', manifest]);
  assert.equal(bare.code, 2, bare.stderr);
  assert.match(bare.stderr, /^ {2}hint: Pass --id, --label and --path\.$/m);
  const withId = await runCli(['manifest', 'add', 'http://127.0.0.1:9/models/', '-m', manifest, '--id', 'x']);
  assert.equal(withId.code, 2, withId.stderr);
  assert.match(withId.stderr, /^ {2}hint: Pass --label and --path\.$/m);
  await assert.rejects(readFile(manifest), { code: 'ENOENT' });
});

test('manifest add on a resolve URL uses X-Linked-Size and X-Linked-Etag from a HEAD and downloads nothing', async (t) => {
  const cdn = await useOrigin(t);
  const hub = await startHub(t);
  const work = await useTempDir(t, 'manifest-hf');
  const body = makeContent(64 * KiB, 26);
  cdn.serve('/cdn/blob', body);
  const resolve = '/ggerganov/whisper.cpp/resolve/main/ggml-base.en.bin';
  hub.redirect(resolve, cdn.url('/cdn/blob'));
  hub.linked(resolve, { 'X-Linked-Size': String(body.length), 'X-Linked-Etag': `"${sha256Hex(body)}"`, ETag: '"a-git-blob-id"' });
  const manifest = join(work, 'models.json');

  const result = await runCli(['manifest', 'add', hub.url(resolve), '-m', manifest, '--token', 'hf_secret', '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(lastEvent(result, 'manifest-add').source, 'linked-headers');
  assert.deepEqual(hub.requests, [{ method: 'HEAD', path: resolve, authorization: 'Bearer hf_secret' }]);
  assert.equal(cdn.requests.length, 0, 'the CDN was asked for the file although the HEAD had everything');
  const written = (await readJson(manifest)) as { artifacts: Array<Record<string, unknown>> };
  assert.deepEqual(written.artifacts, [
    { id: 'ggml-base.en.bin', kind: 'stt', label: 'ggml-base.en.bin', url: hub.url(resolve), size: body.length, sha256: sha256Hex(body), path: 'stt/ggml-base.en.bin' },
  ]);
  assert.match(result.stdout, /"sha256":"[0-9a-f]{64}"/);
});

test('manifest add on a resolve URL without linked headers downloads via the redirect; the token never reaches the CDN', async (t) => {
  const cdn = await useOrigin(t);
  const hub = await startHub(t);
  const work = await useTempDir(t, 'manifest-hf-fallback');
  const body = makeContent(80 * KiB, 27);
  cdn.serve('/cdn/config.json', body);
  const resolve = '/rhasspy/piper-voices/resolve/v1.0.0/en/voice.onnx.json';
  hub.redirect(resolve, cdn.url('/cdn/config.json'));
  // A file not stored with LFS: the linked ETag is a 40-digit git blob id, not a SHA-256.
  hub.linked(resolve, { 'X-Linked-Size': String(body.length), 'X-Linked-Etag': `"${'b'.repeat(40)}"` });
  const manifest = join(work, 'models.json');

  const result = await runCli(['manifest', 'add', hub.url(resolve), '-m', manifest, '--token', 'hf_secret', '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(lastEvent(result, 'manifest-add').source, 'download');
  assert.deepEqual(hub.requests.map((r) => [r.method, r.authorization]), [
    ['HEAD', 'Bearer hf_secret'],
    ['GET', 'Bearer hf_secret'],
  ]);
  const cdnRequests = cdn.requestsFor('/cdn/config.json');
  assert.deepEqual(cdnRequests.map((r) => r.method), ['GET'], 'the HEAD followed the redirect to another origin');
  assert.equal(cdnRequests[0]?.headers.authorization, undefined, 'the token was sent to the CDN');
  const written = (await readJson(manifest)) as { artifacts: Array<Record<string, unknown>> };
  assert.equal(written.artifacts[0]?.sha256, sha256Hex(body));
  assert.equal(written.artifacts[0]?.size, body.length);
  assert.equal(written.artifacts[0]?.kind, 'tts');
});

test('manifest add --file hashes the local copy and makes no request', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'manifest-file');
  const body = makeContent(40 * KiB, 28);
  const local = join(work, 'downloads', 'model.bin');
  await mkdir(join(work, 'downloads'));
  await writeFile(local, body);
  const manifest = join(work, 'models.json');

  const result = await runCli(['manifest', 'add', origin.url('/model.bin'), '-m', manifest, '--file', local, '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(lastEvent(result, 'manifest-add').source, 'file');
  const written = (await readJson(manifest)) as { artifacts: Array<Record<string, unknown>> };
  assert.equal(written.artifacts[0]?.sha256, sha256Hex(body));
  assert.equal(written.artifacts[0]?.size, body.length);
  assert.equal(written.artifacts[0]?.kind, 'other');
  assert.equal(origin.requests.length, 0);

  const missing = await runCli(['manifest', 'add', origin.url('/x.bin'), '-m', manifest, '--file', join(work, 'absent.bin')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /No file at/);
});

test('manifest check prints a summary for a valid manifest and the field at fault otherwise', async (t) => {
  const work = await useTempDir(t, 'manifest-check');
  const good = join(work, 'good.json');
  const artifacts = [
    { id: 'a', kind: 'llm', label: 'A', url: 'https://example.com/a.gguf', size: 1_500_000, sha256: 'a'.repeat(64), path: 'llm/a.gguf' },
    { id: 'b', kind: 'stt', label: 'B', url: 'https://example.com/b.bin', size: 500_000, sha256: 'b'.repeat(64), path: 'stt/b.bin' },
  ];
  await writeFile(good, JSON.stringify({ schemaVersion: 1, name: 'good', artifacts }));
  const ok = await runCli(['manifest', 'check', good]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /valid manifest: good, 2 artifacts, 2\.00 MB \(2000000 bytes\)/);
  const okJson = await runCli(['manifest', 'check', good, '--json']);
  assert.deepEqual(lastEvent(okJson, 'manifest-check'), { event: 'manifest-check', ok: true, file: good, name: 'good', artifactCount: 2, totalSize: 2_000_000 });

  const bad = join(work, 'bad.json');
  await writeFile(bad, JSON.stringify({ schemaVersion: 1, name: 'bad', artifacts: [{ ...artifacts[0], sha256: 'xyz' }] }));
  const invalid = await runCli(['manifest', 'check', bad]);
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /MANIFEST_INVALID.*artifacts\[0\]\.sha256: expected 64 hex characters/);
  const invalidJson = await runCli(['manifest', 'check', bad, '--json']);
  assert.equal(invalidJson.code, 2);
  assert.equal(lastEvent(invalidJson, 'error').code, 'MANIFEST_INVALID');

  const missing = await runCli(['manifest', 'check', join(work, 'absent.json')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /manifest file not found/);
});
