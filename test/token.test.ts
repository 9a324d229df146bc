// The access token goes to one origin only (docs/rules.md rule 12): HF_TOKEN and --token are
// sent as "Authorization: Bearer" to https://huggingface.co by default, or to the one origin
// --token-origin names, and never to another origin, not even one a redirect from the token's
// origin leads to (where Hugging Face sends its CDN links). Two real origins on loopback record
// every header they receive.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCli, writeManifest, type CliResult, type ManifestArtifact } from './helpers/cli.js';
import { makeContent, sha256Hex } from './helpers/content.js';
import { jsonInstallArgs, serveArtifact } from './helpers/served-artifact.js';
import { startOrigin, type Origin, type RecordedRequest } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

const ENV_TOKEN = 'hf_envTokenThatMustStayPrivate';
const FLAG_TOKEN = 'hf_flagTokenThatMustStayPrivate';

let a: Origin;
let b: Origin;

before(async () => {
  a = await startOrigin();
  b = await startOrigin();
});

after(async () => {
  await a.close();
  await b.close();
});

/**
 * Serves `body` on B at `/cdn/<id>.bin` and makes `/resolve/<id>.bin` on A redirect there, the way
 * huggingface.co/.../resolve/... redirects to its CDN. The manifest URL is A's.
 */
function redirectedArtifact(id: string, body: Buffer): ManifestArtifact {
  b.serve(`/cdn/${id}.bin`, body);
  a.always(`/resolve/${id}.bin`, { kind: 'redirect', status: 302, location: b.url(`/cdn/${id}.bin`) });
  return { id, kind: 'other', label: id, url: a.url(`/resolve/${id}.bin`), size: body.length, sha256: sha256Hex(body), path: `${id}.bin` };
}

/** Same-origin redirect: `/resolve/<id>.bin` on A to `/files/<id>.bin` on A. */
function sameOriginRedirect(id: string, body: Buffer): ManifestArtifact {
  a.serve(`/files/${id}.bin`, body);
  a.always(`/resolve/${id}.bin`, { kind: 'redirect', status: 302, location: `/files/${id}.bin` });
  return { id, kind: 'other', label: id, url: a.url(`/resolve/${id}.bin`), size: body.length, sha256: sha256Hex(body), path: `${id}.bin` };
}

async function install(t: Parameters<typeof useTempDir>[0], artifacts: ManifestArtifact[], env: NodeJS.ProcessEnv, ...extra: string[]): Promise<CliResult> {
  const dir = await useTempDir(t, 'token');
  const manifest = await writeManifest(dir, artifacts);
  const result = await runCli(jsonInstallArgs(manifest, `${dir}/models`, ...extra), { env: { HF_TOKEN: undefined, ...env } });
  assert.equal(result.code, 0, result.stderr);
  return result;
}

function authorizations(requests: RecordedRequest[]): Array<string | undefined> {
  return requests.map((request) => {
    const value = request.headers.authorization;
    return Array.isArray(value) ? value.join(', ') : value;
  });
}

function requestsTo(origin: Origin, ...paths: string[]): RecordedRequest[] {
  const requests = paths.flatMap((path) => origin.requestsFor(path));
  assert.ok(requests.length >= paths.length, `expected requests to ${paths.join(', ')}`);
  return requests;
}

function assertTokenNotPrinted(result: CliResult, ...tokens: string[]): void {
  for (const token of tokens) {
    assert.ok(!result.stdout.includes(token) && !result.stderr.includes(token), 'a token was printed');
  }
}

test('HF_TOKEN is sent to no loopback origin: by default it is for https://huggingface.co only', async (t) => {
  const artifacts = [serveArtifact(a, 'env-direct', makeContent(200_000, 1)), redirectedArtifact('env-redirected', makeContent(150_000, 2))];
  const result = await install(t, artifacts, { HF_TOKEN: ENV_TOKEN });
  const all = [...requestsTo(a, '/env-direct.bin', '/resolve/env-redirected.bin'), ...requestsTo(b, '/cdn/env-redirected.bin')];
  assert.deepEqual(authorizations(all), all.map(() => undefined));
  assertTokenNotPrinted(result, ENV_TOKEN);
});

test('--token with --token-origin A: A gets the token, B behind A\'s redirect does not', async (t) => {
  const artifacts = [
    serveArtifact(a, 'flag-direct', makeContent(250_000, 3)),
    redirectedArtifact('flag-redirected', makeContent(180_000, 4)),
    sameOriginRedirect('flag-same-origin', makeContent(120_000, 5)),
  ];
  // --token wins over HF_TOKEN.
  const result = await install(t, artifacts, { HF_TOKEN: ENV_TOKEN }, '--token', FLAG_TOKEN, '--token-origin', a.origin);
  const onA = requestsTo(a, '/flag-direct.bin', '/resolve/flag-redirected.bin', '/resolve/flag-same-origin.bin', '/files/flag-same-origin.bin');
  assert.deepEqual(authorizations(onA), onA.map(() => `Bearer ${FLAG_TOKEN}`));
  const onB = requestsTo(b, '/cdn/flag-redirected.bin');
  assert.deepEqual(authorizations(onB), onB.map(() => undefined));
  assertTokenNotPrinted(result, ENV_TOKEN, FLAG_TOKEN);
});

test('HF_TOKEN with --token-origin A: the same rule for the token from the environment', async (t) => {
  const artifacts = [serveArtifact(a, 'origin-direct', makeContent(100_000, 6)), redirectedArtifact('origin-redirected', makeContent(90_000, 7))];
  const result = await install(t, artifacts, { HF_TOKEN: ENV_TOKEN }, '--token-origin', `${a.origin}/`);
  const onA = requestsTo(a, '/origin-direct.bin', '/resolve/origin-redirected.bin');
  assert.deepEqual(authorizations(onA), onA.map(() => `Bearer ${ENV_TOKEN}`));
  const onB = requestsTo(b, '/cdn/origin-redirected.bin');
  assert.deepEqual(authorizations(onB), onB.map(() => undefined));
  assertTokenNotPrinted(result, ENV_TOKEN);
});

test('a --token-origin that is not an origin is a usage error: exit 2 naming the option, no stack trace, nothing sent', async (t) => {
  const dir = await useTempDir(t, 'token-origin');
  const manifest = await writeManifest(dir, [serveArtifact(a, 'bad-origin', makeContent(1024, 9))]);
  const before = a.requests.length;
  for (const args of [
    jsonInstallArgs(manifest, `${dir}/models`, '--token', FLAG_TOKEN, '--token-origin', 'foo'),
    ['manifest', 'add', a.url('/bad-origin.bin'), '-m', `${dir}/new.json`, '--token', FLAG_TOKEN, '--token-origin', 'foo'],
  ]) {
    const result = await runCli(args, { env: { HF_TOKEN: undefined } });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--token-origin/);
    assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  }
  assert.equal(a.requests.length, before, 'nothing was requested');
});
