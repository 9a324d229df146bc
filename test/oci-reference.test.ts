// The small parts of the registry client on their own: references, WWW-Authenticate challenges,
// the token cache, and credentials from a real Docker config file in a temp dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBundleReference, parseOciReference, registryOrigin } from '../src/oci/reference.js';
import { parseChallenges } from '../src/oci/challenge.js';
import { TokenCache } from '../src/oci/token-cache.js';
import { readRegistryCredentials, removeRegistryCredentials, saveRegistryCredentials } from '../src/oci/docker-config.js';
import { InstallError } from '../src/errors.js';
import { useTempDir } from './helpers/tmp.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

test('registry references: host and port, nested repositories, tag, digest, and latest by default', () => {
  assert.deepEqual(parseOciReference('oci://127.0.0.1:5000/models/voice-assistant:1.0'), {
    kind: 'registry', registry: '127.0.0.1:5000', repository: 'models/voice-assistant', tag: '1.0', digest: undefined, text: 'oci://127.0.0.1:5000/models/voice-assistant:1.0',
  });
  const pinned = parseOciReference(`oci://Registry.Example.com/a/b/c@${DIGEST}`);
  assert.equal(pinned.registry, 'registry.example.com');
  assert.equal(pinned.repository, 'a/b/c');
  assert.equal(pinned.tag, undefined);
  assert.equal(pinned.digest, DIGEST);
  assert.equal(parseOciReference('oci://[::1]:5000/m').tag, 'latest');
  assert.equal(parseOciReference(`oci://h/m:v2@${DIGEST}`).tag, 'v2');
});

test('bad registry references are MANIFEST_INVALID with the reason', () => {
  for (const [text, reason] of [
    ['oci://host', /registry host and a repository/],
    ['oci:///repo', /registry host and a repository/],
    ['oci://host/Models:1', /repository "Models"/],
    ['oci://host/m:-bad', /tag "-bad"/],
    ['oci://host/m@sha256:xyz', /digest "sha256:xyz"/],
    ['oci://ho st/m', /not a host name/],
  ] as const) {
    assert.throws(() => parseOciReference(text), (error: unknown) => error instanceof InstallError && error.code === 'MANIFEST_INVALID' && reason.test(error.message), text);
  }
});

test('image-layout references: a path, then an optional tag or digest after its last part', () => {
  assert.deepEqual(parseBundleReference('oci-layout:/media/usb/models'), { kind: 'layout', path: '/media/usb/models', tag: undefined, digest: undefined, text: 'oci-layout:/media/usb/models' });
  const tagged = parseBundleReference('oci-layout:./usb/models:1.0');
  assert.equal(tagged.kind === 'layout' && tagged.path, './usb/models');
  assert.equal(tagged.tag, '1.0');
  assert.equal(parseBundleReference(`oci-layout:models@${DIGEST}`).digest, DIGEST);
});

test('registries are reached over https, except on loopback or with --allow-http', () => {
  assert.equal(registryOrigin('registry.example.com', false), 'https://registry.example.com');
  assert.equal(registryOrigin('192.0.2.1:5000', false), 'https://192.0.2.1:5000');
  assert.equal(registryOrigin('192.0.2.1:5000', true), 'http://192.0.2.1:5000');
  assert.equal(registryOrigin('127.0.0.1:5000', false), 'http://127.0.0.1:5000');
  assert.equal(registryOrigin('localhost:5000', false), 'http://localhost:5000');
  assert.equal(registryOrigin('[::1]:5000', false), 'http://[::1]:5000');
});

test('WWW-Authenticate: Bearer with quoted parameters, Basic, several challenges, escapes and errors', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:m/v:pull,push",error="insufficient_scope"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:m/v:pull,push', error: 'insufficient_scope' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.deepEqual(parseChallenges('Basic realm="a, b", Bearer realm="r", service=s'), [
    { scheme: 'basic', params: { realm: 'a, b' } },
    { scheme: 'bearer', params: { realm: 'r', service: 's' } },
  ]);
  assert.deepEqual(parseChallenges('Bearer realm="say \\"hi\\""'), [{ scheme: 'bearer', params: { realm: 'say "hi"' } }]);
  assert.deepEqual(parseChallenges(undefined), []);
  // An unterminated quoted string ends the parse; what came before is kept.
  assert.deepEqual(parseChallenges('Bearer realm="r", service="unterminated'), [{ scheme: 'bearer', params: { realm: 'r' } }]);
});

test('the token cache keys by realm, service and scope, and forgets a token before it expires', () => {
  let now = 0;
  const cache = new TokenCache(() => now);
  const pull = { realm: 'https://a/token', service: 's', scope: 'repository:m:pull' };
  cache.set(pull, 't1', 300);
  assert.equal(cache.get(pull), 't1');
  assert.equal(cache.get({ ...pull, scope: 'repository:m:pull,push' }), undefined);
  assert.equal(cache.get({ ...pull, service: 'other' }), undefined);
  assert.equal(cache.get({ ...pull, realm: 'https://b/token' }), undefined);
  now = 289_000;
  assert.equal(cache.get(pull), 't1');
  now = 291_000; // within the last ten seconds: not sent any more
  assert.equal(cache.get(pull), undefined);
  cache.set(pull, 't2');
  cache.delete(pull);
  assert.equal(cache.get(pull), undefined);
});

test('Docker config: auths by host or URL key; a missing helper named for the registry and identity tokens refused with a coded error', async (t) => {
  const dir = await useTempDir(t, 'docker-config');
  const env = { DOCKER_CONFIG: dir };
  const auth = (value: string): string => Buffer.from(value).toString('base64');
  assert.equal(await readRegistryCredentials('r.example', env), undefined, 'no file: anonymous');
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    auths: {
      'https://r.example/v1/': { auth: auth('alice:pa:ss') },
      'store.example': {},
      'token.example': { identitytoken: 'x' },
    },
    credsStore: 'desktop',
    credHelpers: { 'helper.example': 'ecr-login' },
  }));
  const found = await readRegistryCredentials('r.example', env);
  assert.equal(found?.username, 'alice');
  assert.equal(found?.password, 'pa:ss');
  assert.equal(await readRegistryCredentials('elsewhere.example', env), undefined);
  // The default store is not installed here: anonymous, like a registry without an entry.
  assert.equal(await readRegistryCredentials('store.example', env), undefined);
  for (const [host, pattern] of [['helper.example', /docker-credential-ecr-login .*is not installed/], ['token.example', /identity token/]] as const) {
    await assert.rejects(readRegistryCredentials(host, env), (error: unknown) => error instanceof InstallError && error.code === 'AUTH_REQUIRED' && pattern.test(error.message), host);
  }

  await saveRegistryCredentials('r.example', { username: 'bob', password: 'pw' }, env);
  assert.equal((await readRegistryCredentials('r.example', env))?.username, 'bob');
  assert.equal(await removeRegistryCredentials('r.example', env), true);
  assert.equal(await readRegistryCredentials('r.example', env), undefined);
  assert.equal(await removeRegistryCredentials('r.example', env), false);

  await writeFile(join(dir, 'config.json'), '{ not json');
  await assert.rejects(readRegistryCredentials('r.example', env), (error: unknown) => error instanceof InstallError && error.code === 'FILESYSTEM');
});

test('push and login: a bad reference or a missing password is bad usage, exit 2, without a stack trace', async (t) => {
  const { runCli } = await import('./helpers/cli.js');
  const dir = await useTempDir(t, 'oci-usage');
  const badReference = await runCli(['push', 'oci://127.0.0.1:5000/Models:1', '--bundle', 'voice-assistant', '--dir', dir]);
  assert.equal(badReference.code, 2, badReference.stderr);
  assert.match(badReference.stderr, /MANIFEST_INVALID: oci:\/\/127\.0\.0\.1:5000\/Models:1: repository "Models"/);
  assert.doesNotMatch(badReference.stderr, /^\s+at /m);

  const noPassword = await runCli(['login', '127.0.0.1:5000', '-u', 'alice'], { env: { DOCKER_CONFIG: dir } });
  assert.equal(noPassword.code, 2, noPassword.stderr);
  assert.match(noPassword.stderr, /--password-stdin/);
});
