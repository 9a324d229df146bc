// Registries that want credentials: the real docker-registry with htpasswd (bcrypt) and with token
// auth against the ES256 token server in the test helpers. Credentials live in a Docker config file
// in a temp DOCKER_CONFIG, written by `modelhaul login` and read as docker and oras read it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI_PATH, type CliResult } from './helpers/cli.js';
import { registrySkipReason, useRegistry } from './helpers/registry.js';
import { assertSameFiles, pushArgs, runWithConfig, useInstalledBundle } from './helpers/oci-bundle.js';
import { eventsOf, headerValues, useOrigin } from './helpers/install-run.js';
import { startRegistryProxy } from './helpers/registry-proxy.js';
import { useTempDir } from './helpers/tmp.js';
import { RegistrySession } from '../src/oci/registry-session.js';
import { Dispatchers } from '../src/http/dispatchers.js';

/** `modelhaul login HOST -u USER --password-stdin` with the password written to its stdin. */
function login(host: string, user: string, password: string, dockerConfig: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, 'login', host, '-u', user, '--password-stdin'], {
      env: { ...process.env, DOCKER_CONFIG: dockerConfig },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.stdin.end(`${password}\n`);
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, events: [] }));
  });
}

interface DockerConfigJson {
  auths: Record<string, { auth: string } | undefined>;
  detachKeys?: string;
}

async function readDockerConfig(file: string): Promise<DockerConfigJson> {
  return JSON.parse(await readFile(file, 'utf8')) as DockerConfigJson;
}

function errorEvent(result: CliResult): Record<string, unknown> {
  const error = result.events.find((event) => event.event === 'error');
  assert.ok(error, `no error event; stderr: ${result.stderr}`);
  return error;
}

test('htpasswd: without credentials push and install say that credentials are needed and how to give them', { skip: registrySkipReason('htpasswd') }, async (t) => {
  const registry = await useRegistry(t, { kind: 'htpasswd', users: { alice: 'correct horse' } });
  const bundle = await useInstalledBundle(t);
  const config = await useTempDir(t, 'docker-config');
  const ref = `oci://${registry.host}/models/voice:1.0`;

  const push = await runWithConfig(pushArgs(ref, bundle), config);
  assert.equal(push.code, 1);
  const error = errorEvent(push);
  assert.equal(error.code, 'AUTH_REQUIRED');
  assert.equal(error.retryable, false);
  assert.match(String(error.message), /needs credentials/);
  assert.match(String(error.hint), new RegExp(`modelhaul login ${registry.host.replace(/\./g, '\\.')}`));
  assert.match(push.stderr, /hint: Log in with `modelhaul login/);

  const install = await runWithConfig(['install', '--manifest', ref, '--dir', join(bundle.root, 'x'), '--json'], config);
  assert.equal(install.code, 1);
  assert.equal(errorEvent(install).code, 'AUTH_REQUIRED');
  // The registry's own error code travels in the details.
  assert.equal((errorEvent(install).error as { details: { registryCodes: string } }).details.registryCodes, 'UNAUTHORIZED');
});

test('htpasswd: login refuses a wrong password and saves nothing; the right one is saved where docker reads it, then push, install and an OCI mirror work; after logout the mirror is skipped', { skip: registrySkipReason('htpasswd') }, async (t) => {
  const registry = await useRegistry(t, { kind: 'htpasswd', users: { alice: 'correct horse' } });
  const bundle = await useInstalledBundle(t);
  const config = await useTempDir(t, 'docker-config');
  const configFile = join(config, 'config.json');
  // Another registry's entry and a setting of docker's own must survive login and logout.
  await writeFile(configFile, JSON.stringify({ auths: { 'other.example:5000': { auth: Buffer.from('bob:pw').toString('base64') } }, detachKeys: 'ctrl-e,e' }));

  const wrong = await login(registry.host, 'alice', 'wrong', config);
  assert.equal(wrong.code, 1, wrong.stderr);
  assert.match(wrong.stderr, /AUTH_REQUIRED: .*refused the credentials/);
  assert.equal((await readDockerConfig(configFile)).auths[registry.host], undefined);

  const right = await login(registry.host, 'alice', 'correct horse', config);
  assert.equal(right.code, 0, right.stderr);
  const saved = await readDockerConfig(configFile);
  assert.equal(Buffer.from(saved.auths[registry.host]!.auth, 'base64').toString(), 'alice:correct horse');
  assert.ok(saved.auths['other.example:5000']);
  assert.equal(saved.detachKeys, 'ctrl-e,e');
  assert.equal((await stat(configFile)).mode & 0o777, 0o600);

  const ref = `oci://${registry.host}/models/voice:1.0`;
  const push = await runWithConfig(pushArgs(ref, bundle), config);
  assert.equal(push.code, 0, push.stderr);
  const dir = join(bundle.root, 'pulled');
  const install = await runWithConfig(['install', '--manifest', ref, '--dir', dir, '--json'], config);
  assert.equal(install.code, 0, install.stderr);
  await assertSameFiles(bundle, dir);
  // As a mirror of the manifest file, with the same credentials: the origin is not asked.
  const asked = bundle.origin.requests.length;
  const mirrored = await runWithConfig(['install', '--manifest', bundle.manifest, '--dir', join(bundle.root, 'mirrored'), '--mirror', ref, '--json'], config);
  assert.equal(mirrored.code, 0, mirrored.stderr);
  assert.deepEqual(Object.keys(eventsOf(mirrored, 'done')[0]!.bytesBySource as object), [ref]);
  assert.equal(bundle.origin.requests.length, asked);

  const logout = await runWithConfig(['logout', registry.host], config);
  assert.equal(logout.code, 0, logout.stderr);
  const after = await readDockerConfig(configFile);
  assert.equal(after.auths[registry.host], undefined);
  assert.ok(after.auths['other.example:5000']);
  const denied = await runWithConfig(['status', '--manifest', ref, '--dir', dir, '--json'], config);
  assert.equal(denied.code, 1);
  assert.equal(errorEvent(denied).code, 'AUTH_REQUIRED');
  // A mirror that wants credentials modelhaul does not have is skipped; the origin serves.
  const skipped = await runWithConfig(['install', '--manifest', bundle.manifest, '--dir', join(bundle.root, 'skipped'), '--mirror', ref, '--json'], config);
  assert.equal(skipped.code, 0, skipped.stderr);
  await assertSameFiles(bundle, join(bundle.root, 'skipped'));
  for (const artifact of bundle.artifacts) {
    const failover = eventsOf(skipped, 'failover', artifact.id);
    assert.deepEqual(failover.map((event) => [event.from, (event.error as { code: string }).code]), [[ref, 'AUTH_REQUIRED']]);
    assert.match(String((failover[0]!.error as { hint: string }).hint), /modelhaul login/);
  }
});

test('a blob redirected to a storage host is fetched there without the registry\'s Authorization', { skip: registrySkipReason('htpasswd') }, async (t) => {
  const registry = await useRegistry(t, { kind: 'htpasswd', users: { alice: 'correct horse' } });
  const bundle = await useInstalledBundle(t);
  const config = await useTempDir(t, 'docker-config');
  assert.equal((await login(registry.host, 'alice', 'correct horse', config)).code, 0);
  assert.equal((await runWithConfig(pushArgs(`oci://${registry.host}/models/voice:1.0`, bundle), config)).code, 0);
  // Another origin plays the storage host (a different port is a different origin).
  const storage = await useOrigin(t);
  const redirects = new Map<string, string>();
  for (const artifact of bundle.artifacts) {
    storage.serve(`/storage/${artifact.sha256}`, bundle.contents.get(artifact.id)!);
    redirects.set(`sha256:${artifact.sha256}`, storage.url(`/storage/${artifact.sha256}?X-Signature=abc`));
  }
  const proxy = await startRegistryProxy(registry.host, { redirectBlobs: redirects });
  t.after(() => proxy.close());
  assert.equal((await login(proxy.host, 'alice', 'correct horse', config)).code, 0);

  const dir = join(bundle.root, 'pulled');
  const install = await runWithConfig(['install', '--manifest', `oci://${proxy.host}/models/voice:1.0`, '--dir', dir, '--json'], config);
  assert.equal(install.code, 0, install.stderr);
  await assertSameFiles(bundle, dir);
  const fetched = storage.requests.filter((request) => request.path.startsWith('/storage/'));
  assert.equal(fetched.length, bundle.artifacts.length);
  for (const request of fetched) assert.deepEqual(headerValues(request, 'authorization'), [], 'no Authorization to the storage host');
  for (const start of eventsOf(install, 'start')) assert.equal(start.source, `oci://${proxy.host}/models/voice`);
  assert.ok(proxy.requests.filter((line) => line.includes('/blobs/sha256:')).length >= bundle.artifacts.length);
});

test('token auth: tokens are asked for with the repository scope, pull for install and pull,push for push', { skip: registrySkipReason('token') }, async (t) => {
  const registry = await useRegistry(t, { kind: 'token', users: { ci: { password: 's3cret' }, reader: { password: 'read-only', actions: ['pull'] } } });
  const tokens = registry.tokenServer!;
  const bundle = await useInstalledBundle(t);
  const config = await useTempDir(t, 'docker-config');
  const ref = `oci://${registry.host}/models/voice:1.0`;

  const anonymous = await runWithConfig(pushArgs(ref, bundle), config);
  assert.equal(anonymous.code, 1);
  assert.equal(errorEvent(anonymous).code, 'AUTH_REQUIRED');
  assert.match(String(errorEvent(anonymous).hint), /modelhaul login/);

  const wrong = await login(registry.host, 'ci', 'nope', config);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /AUTH_REQUIRED/);
  assert.equal((await login(registry.host, 'ci', 's3cret', config)).code, 0);
  assert.deepEqual(tokens.requests.at(-1), { user: 'ci', scopes: [], status: 200 });

  tokens.requests.length = 0;
  const push = await runWithConfig(pushArgs(ref, bundle), config);
  assert.equal(push.code, 0, push.stderr);
  assert.ok(tokens.requests.length >= 1);
  for (const request of tokens.requests) assert.deepEqual(request, { user: 'ci', scopes: ['repository:models/voice:pull,push'], status: 200 });

  tokens.requests.length = 0;
  const dir = join(bundle.root, 'pulled');
  const install = await runWithConfig(['install', '--manifest', ref, '--dir', dir, '--json'], config);
  assert.equal(install.code, 0, install.stderr);
  await assertSameFiles(bundle, dir);
  // Every file came from the registry (none fell back to its own URL), with pull-only tokens.
  for (const start of eventsOf(install, 'start')) assert.equal(start.source, `oci://${registry.host}/models/voice`);
  assert.ok(tokens.requests.length >= 1);
  for (const request of tokens.requests) assert.deepEqual(request, { user: 'ci', scopes: ['repository:models/voice:pull'], status: 200 });

  // A user who may only pull gets a token without push: the registry refuses the upload.
  const readerConfig = await useTempDir(t, 'docker-config-reader');
  assert.equal((await login(registry.host, 'reader', 'read-only', readerConfig)).code, 0);
  const refused = await runWithConfig(pushArgs(`oci://${registry.host}/models/voice:2.0`, bundle), readerConfig);
  assert.equal(refused.code, 1);
  const error = errorEvent(refused);
  assert.equal(error.code, 'AUTH_REQUIRED');
  assert.match(String(error.message), /refused the credentials/);
  assert.equal(eventsOf(refused, 'pushed').length, 0);
});

test('token auth: a cached token the registry refuses as invalid_token is dropped and a fresh one fetched', { skip: registrySkipReason('token') }, async (t) => {
  const registry = await useRegistry(t, { kind: 'token', users: { ci: { password: 's3cret' } } });
  const tokens = registry.tokenServer!;
  const dispatchers = new Dispatchers({ stallTimeoutMs: 5000 });
  t.after(() => dispatchers.close());
  const session = new RegistrySession({
    registry: registry.host,
    repository: 'models/voice',
    allowHttp: false,
    credentials: { username: 'ci', password: 's3cret' },
    dispatchers,
    signal: new AbortController().signal,
    userAgent: 'modelhaul-test',
  });
  const ask = async (): Promise<number> => {
    const response = await session.send({ method: 'GET', url: session.repositoryPath('tags/list'), subject: 'tags' });
    response.body.resume();
    return response.status;
  };
  // The token service hands out a token that is already expired, though it says it lasts 300 s.
  tokens.issueExpired = true;
  assert.equal(await ask(), 401);
  assert.equal(tokens.requests.length, 1);
  // The cached token is refused (invalid_token): modelhaul fetches a fresh one and goes on.
  tokens.issueExpired = false;
  assert.equal(await ask(), 404); // authorized: the repository does not exist yet
  assert.equal(tokens.requests.length, 2);
  assert.equal(await ask(), 404);
  assert.equal(tokens.requests.length, 2, 'a good token is reused from the cache');
});

test('credential helpers: one that is installed gives the credentials, as for docker; one that is not gets AUTH_REQUIRED naming it', { skip: registrySkipReason('htpasswd') }, async (t) => {
  const registry = await useRegistry(t, { kind: 'htpasswd', users: { alice: 'correct horse' } });
  const bundle = await useInstalledBundle(t);
  const config = await useTempDir(t, 'docker-config');
  // A helper speaking docker's protocol: the registry on stdin, JSON on stdout, or "not found".
  const bin = join(config, 'bin');
  await mkdir(bin);
  const helper = join(bin, 'docker-credential-modelhaul-test');
  await writeFile(helper, `#!/bin/sh
read -r host
if [ "$1" = get ] && [ "$host" = "${registry.host}" ]; then
  printf '{"ServerURL":"%s","Username":"alice","Secret":"correct horse"}' "$host"
else
  echo "credentials not found in native keychain"; exit 1
fi
`, { mode: 0o755 });
  const env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
  await writeFile(join(config, 'config.json'), JSON.stringify({ credsStore: 'modelhaul-test' }));
  const ref = `oci://${registry.host}/models/voice:1.0`;
  const pushed = await runWithConfig(pushArgs(ref, bundle), config, { env });
  assert.equal(pushed.code, 0, pushed.stderr);
  const dir = join(bundle.root, 'pulled');
  const installed = await runWithConfig(['install', '--manifest', ref, '--dir', dir, '--json'], config, { env });
  assert.equal(installed.code, 0, installed.stderr);
  await assertSameFiles(bundle, dir);

  // credHelpers names a helper for this registry that is not installed.
  await writeFile(join(config, 'config.json'), JSON.stringify({ credsStore: 'modelhaul-test', credHelpers: { [registry.host]: 'secretservice' } }));
  const missing = await runWithConfig(['install', '--manifest', ref, '--dir', join(bundle.root, 'x'), '--json'], config, { env });
  assert.equal(missing.code, 1);
  const error = errorEvent(missing);
  assert.equal(error.code, 'AUTH_REQUIRED');
  assert.match(String(error.message), /docker-credential-secretservice .*is not installed/);
  assert.match(String(error.hint), /modelhaul login/);
});
