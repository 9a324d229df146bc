// Publishing a bundle to a real registry (Debian's docker-registry, CNCF distribution 2.8) and
// installing it from there: the round trip, what the registry holds, skipped blobs, a manifest
// whose bytes were changed on the way, and a registry that is down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { registrySkipReason, useRegistry } from './helpers/registry.js';
import { startRegistryProxy } from './helpers/registry-proxy.js';
import { assertSameFiles, pushArgs, useInstalledBundle, VOICE_FILES } from './helpers/oci-bundle.js';
import { eventsOf } from './helpers/install-run.js';

const skip = registrySkipReason();

test('push then install from the registry: an OCI artifact with raw layers, installed byte for byte from its blobs', { skip }, async (t) => {
  const registry = await useRegistry(t);
  const bundle = await useInstalledBundle(t);
  const ref = `oci://${registry.host}/models/voice:1.0`;

  const pushed = await runCli(pushArgs(ref, bundle));
  assert.equal(pushed.code, 0, pushed.stderr);
  const done = eventsOf(pushed, 'done')[0]!;
  assert.match(String(done.digest), /^sha256:[a-f0-9]{64}$/);
  assert.deepEqual(eventsOf(pushed, 'uploaded').map((event) => event.id), ['config', 'tts-voice', 'tts-voice-config']);
  const pushedEvent = eventsOf(pushed, 'pushed')[0]!;
  assert.equal(pushedEvent.digest, done.digest);

  // What the registry holds is an OCI artifact that oras and ModelPack tools read.
  const response = await fetch(`${registry.origin}/v2/models/voice/manifests/1.0`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(response.headers.get('content-type'), 'application/vnd.oci.image.manifest.v1+json');
  const image = (await response.json()) as {
    artifactType: string;
    config: { mediaType: string; digest: string };
    layers: Array<{ mediaType: string; digest: string; size: number; annotations: Record<string, string> }>;
  };
  assert.equal(image.artifactType, 'application/vnd.modelhaul.bundle.v1+json');
  assert.equal(image.config.mediaType, 'application/vnd.modelhaul.bundle.v1+json');
  const [weights, config] = image.layers;
  assert.equal(weights?.mediaType, 'application/vnd.cncf.model.weight.v1.raw');
  assert.equal(config?.mediaType, 'application/vnd.cncf.model.weight.config.v1.raw');
  for (const [index, artifact] of bundle.artifacts.entries()) {
    const layer = image.layers[index]!;
    assert.equal(layer.digest, `sha256:${artifact.sha256}`);
    assert.equal(layer.size, artifact.size);
    assert.equal(layer.annotations['org.opencontainers.image.title'], artifact.path.split('/').pop());
    assert.equal(layer.annotations['org.cncf.model.filepath'], artifact.path);
    assert.equal(layer.annotations['io.modelhaul.artifact.id'], artifact.id);
    assert.equal(layer.annotations['io.modelhaul.artifact.kind'], artifact.kind);
    assert.equal(layer.annotations['io.modelhaul.artifact.label'], artifact.label);
  }
  // The config blob is the modelhaul manifest itself.
  const configBlob = (await (await fetch(`${registry.origin}/v2/models/voice/blobs/${image.config.digest}`)).json()) as { name: string; artifacts: unknown[] };
  assert.equal(configBlob.name, 'test-bundle');
  assert.deepEqual(configBlob.artifacts, bundle.artifacts);

  // The origin the files came from is gone: every byte must come from the registry.
  await bundle.origin.close();
  const dir = join(bundle.root, 'pulled');
  const pulled = await runCli(['install', '--manifest', ref, '--dir', dir, '--json']);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.deepEqual(eventsOf(pulled, 'installed').map((event) => event.id).sort(), ['tts-voice', 'tts-voice-config']);
  const source = `oci://${registry.host}/models/voice`;
  for (const start of eventsOf(pulled, 'start')) assert.equal(start.source, source);
  assert.deepEqual(eventsOf(pulled, 'done')[0]!.bytesBySource, { [source]: bundle.artifacts.reduce((sum, artifact) => sum + artifact.size, 0) });
  await assertSameFiles(bundle, dir);
  const verified = await runCli(['verify', '--manifest', ref, '--dir', dir]);
  assert.equal(verified.code, 0, verified.stderr);

  // By digest too: the reference printed by push names exactly this bundle.
  const byDigest = await runCli(['status', '--manifest', `oci://${registry.host}/models/voice@${String(done.digest)}`, '--dir', dir, '--json']);
  assert.equal(byDigest.code, 0, byDigest.stderr);
  assert.equal((JSON.parse(byDigest.stdout) as { complete: boolean }).complete, true);
});

test('blobs the registry has are not sent again; pushing the same bundle twice gives the same digest', { skip }, async (t) => {
  const registry = await useRegistry(t);
  const bundle = await useInstalledBundle(t);
  const first = await runCli(pushArgs(`oci://${registry.host}/models/voice:1.0`, bundle));
  assert.equal(first.code, 0, first.stderr);

  const proxy = await startRegistryProxy(registry.host);
  t.after(() => proxy.close());
  const second = await runCli(pushArgs(`oci://${proxy.host}/models/voice:1.1`, bundle));
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(eventsOf(second, 'skipped').map((event) => event.id), ['config', 'tts-voice', 'tts-voice-config']);
  assert.deepEqual(eventsOf(second, 'uploaded'), []);
  assert.equal(eventsOf(second, 'done')[0]!.bytesSent, 0);
  assert.deepEqual(proxy.requests.filter((line) => !line.startsWith('HEAD ')), ['PUT /v2/models/voice/manifests/1.1']);
  assert.equal(eventsOf(second, 'done')[0]!.digest, eventsOf(first, 'done')[0]!.digest);
});

test('a bundle sharing a file with one already pushed uploads only the files that are new', { skip }, async (t) => {
  const registry = await useRegistry(t);
  const voice = await useInstalledBundle(t);
  assert.equal((await runCli(pushArgs(`oci://${registry.host}/models/voice:1.0`, voice))).code, 0);
  // Same voice model (same seed and size), another config file.
  const other = await useInstalledBundle(t, [VOICE_FILES[0]!, { id: 'tts-voice-config', size: 999, path: 'tts/voice.onnx.json', kind: 'tts' }], 'test-bundle', 1);
  const pushed = await runCli(pushArgs(`oci://${registry.host}/models/voice:2.0`, other));
  assert.equal(pushed.code, 0, pushed.stderr);
  assert.deepEqual(eventsOf(pushed, 'skipped').map((event) => event.id), ['tts-voice']);
  assert.deepEqual(eventsOf(pushed, 'uploaded').map((event) => event.id), ['config', 'tts-voice-config']);
});

test('a blob the registry lacks is fetched from the artifact\'s own URL instead, with a failover event', { skip }, async (t) => {
  const registry = await useRegistry(t);
  const bundle = await useInstalledBundle(t);
  assert.equal((await runCli(pushArgs(`oci://${registry.host}/models/voice:1.0`, bundle))).code, 0);
  const [model, config] = bundle.artifacts;
  const deleted = await fetch(`${registry.origin}/v2/models/voice/blobs/sha256:${model!.sha256}`, { method: 'DELETE' });
  assert.equal(deleted.status, 202);

  const dir = join(bundle.root, 'pulled');
  const pulled = await runCli(['install', '--manifest', `oci://${registry.host}/models/voice:1.0`, '--dir', dir, '--json']);
  assert.equal(pulled.code, 0, pulled.stderr);
  await assertSameFiles(bundle, dir);
  const failover = eventsOf(pulled, 'failover', model!.id)[0]!;
  assert.equal(failover.from, `oci://${registry.host}/models/voice`);
  assert.equal(failover.to, bundle.origin.url('/').replace(/\/$/, ''));
  assert.equal((failover.error as { code: string }).code, 'HTTP_STATUS');
  const done = eventsOf(pulled, 'done')[0]!;
  assert.deepEqual(done.bytesBySource, { [`oci://${registry.host}/models/voice`]: config!.size, [String(failover.to)]: model!.size });
});

test('a manifest whose bytes do not match the pinned digest or Docker-Content-Digest is refused; nothing is installed', { skip }, async (t) => {
  const registry = await useRegistry(t);
  const bundle = await useInstalledBundle(t);
  const pushed = await runCli(pushArgs(`oci://${registry.host}/models/voice:1.0`, bundle));
  assert.equal(pushed.code, 0, pushed.stderr);
  const digest = String(eventsOf(pushed, 'done')[0]!.digest);
  const proxy = await startRegistryProxy(registry.host, { tamperManifests: true });
  t.after(() => proxy.close());

  for (const ref of [`oci://${proxy.host}/models/voice@${digest}`, `oci://${proxy.host}/models/voice:1.0`]) {
    const dir = join(bundle.root, 'tampered');
    const result = await runCli(['install', '--manifest', ref, '--dir', dir, '--json']);
    assert.equal(result.code, 1, result.stderr);
    const error = result.events.find((event) => event.event === 'error')!;
    assert.equal(error.code, 'CHECKSUM_MISMATCH', result.stderr);
    assert.match(result.stderr, /does not have the digest/);
    assert.equal((error.error as { details: { expected: string } }).details.expected, digest);
    assert.equal(result.events.some((event) => event.event === 'plan'), false);
  }
});

test('an unknown tag is NOT_FOUND with the registry\'s own code; a registry that is down gives a retryable NETWORK error naming it', { skip }, async (t) => {
  const registry = await useRegistry(t);
  const bundle = await useInstalledBundle(t);
  const unknown = await runCli(['install', '--manifest', `oci://${registry.host}/models/voice:nope`, '--dir', join(bundle.root, 'x'), '--json']);
  assert.equal(unknown.code, 2, 'a tag that is not there is bad usage, like a manifest file that is not there');
  const notFound = unknown.events.find((event) => event.event === 'error')!;
  assert.equal(notFound.code, 'NOT_FOUND');
  assert.match(String((notFound.error as { details: { registryCodes: string } }).details.registryCodes), /NAME_UNKNOWN|MANIFEST_UNKNOWN/);

  await registry.kill();
  const install = await runCli(['install', '--manifest', `oci://${registry.host}/models/voice:1.0`, '--dir', join(bundle.root, 'x'), '--json']);
  assert.equal(install.code, 1);
  const error = install.events.find((event) => event.event === 'error')!;
  assert.equal(error.code, 'NETWORK');
  assert.equal(error.retryable, true);
  assert.match(String(error.message), new RegExp(registry.host.replace(/\./g, '\\.')));

  const push = await runCli(pushArgs(`oci://${registry.host}/models/voice:1.0`, bundle, '--retries', '0'));
  assert.equal(push.code, 1);
  const pushError = push.events.find((event) => event.event === 'error')!;
  assert.equal(pushError.code, 'NETWORK');
  assert.equal(pushError.retryable, true);
});

test('push refuses a bundle whose files are not all installed and verified, naming them', { skip }, async (t) => {
  const registry = await useRegistry(t);
  const bundle = await useInstalledBundle(t);
  const { appendFile } = await import('node:fs/promises');
  await appendFile(join(bundle.dir, 'tts', 'voice.onnx.json'), ' ');
  const result = await runCli(pushArgs(`oci://${registry.host}/models/voice:1.0`, bundle));
  assert.equal(result.code, 2, 'nothing was pushed: the bundle named is not there to push');
  const error = result.events.find((event) => event.event === 'error')!;
  assert.equal(error.code, 'NOT_FOUND');
  assert.match(String(error.message), /tts-voice-config \(changed\)/);
  assert.doesNotMatch(String(error.message), /tts-voice \(/);
  // Nothing reached the registry.
  assert.equal((await fetch(`${registry.origin}/v2/models/voice/tags/list`)).status, 404);
});
