// OCI bundles as mirrors of a manifest read from a file: `--mirror oci://HOST/REPO:TAG` (and
// `@sha256:`), `MODELHAUL_MIRRORS`, the manifest's `mirrors` with `oci-layout:PATH:TAG`. One real
// registry (Debian's docker-registry) for the whole file, filled once: the bundle under a tag, an
// older version of it without one file, and a copy in another repository missing one blob.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { runCli, writeManifest, type CliResult, type ManifestArtifact } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { findFreePort } from './helpers/free-port.js';
import { assertExit, eventsOf, summarize } from './helpers/install-run.js';
import { startOrigin, type Origin } from './helpers/origin.js';
import { registrySkipReason, startRegistry, type Registry } from './helpers/registry.js';
import { startRegistryProxy } from './helpers/registry-proxy.js';
import { jsonInstallArgs, serveArtifact } from './helpers/served-artifact.js';
import { makeTempDir, removeTempDir, useTempDir } from './helpers/tmp.js';
import { straceSkipReason, straceWrapper } from './helpers/traced-cli.js';

const skip = registrySkipReason();
const MiB = 1024 * 1024;

let registry: Registry;
let origin: Origin;
let work: string;
let manifest: string;
let artifacts: ManifestArtifact[];
const bodies = new Map<string, Buffer>();
/** The image digest `push` printed for `models/voice:1.0`. */
let pushedDigest: string;
/** An image-layout folder (a USB copy) holding the bundle as `1.0`. */
let usb: string;

before(async () => {
  if (skip) return;
  [registry, origin, work] = await Promise.all([startRegistry(), startOrigin(), makeTempDir('oci-mirrors')]);
  const files: Array<[string, number, string]> = [
    ['stt-model', 2 * MiB + 5, 'stt/model.bin'],
    ['tts-voice', MiB + 3, 'tts/voice.onnx'],
    ['tts-voice-config', 2_345, 'tts/voice.onnx.json'],
  ];
  artifacts = files.map(([id, size, path], index) => {
    const body = makeContent(size, 700 + index);
    bodies.set(id, body);
    return serveArtifact(origin, id, body, { path });
  });
  manifest = await writeManifest(work, artifacts);
  const seed = join(work, 'seed');
  assertExit(await runCli(jsonInstallArgs(manifest, seed)), 0);
  const push = async (target: string, manifestFile = manifest): Promise<CliResult> => {
    const pushed = await runCli(['push', target, '--manifest', manifestFile, '--dir', seed, '--json']);
    assertExit(pushed, 0);
    return pushed;
  };
  pushedDigest = String(eventsOf(await push(`oci://${registry.host}/models/voice:1.0`), 'done')[0]!.digest);
  // An older version of the bundle, without the voice's config file.
  const older = join(work, 'older');
  await mkdir(older);
  await push(`oci://${registry.host}/models/voice:0.9`, await writeManifest(older, artifacts.slice(0, 2)));
  // A copy whose repository lost the voice's blob (its manifest still lists it).
  await push(`oci://${registry.host}/models/gappy:1.0`);
  const deleted = await fetch(`${registry.origin}/v2/models/gappy/blobs/sha256:${artifacts[1]!.sha256}`, { method: 'DELETE' });
  assert.equal(deleted.status, 202);
  usb = join(work, 'usb');
  await push(`oci-layout:${usb}:1.0`);
  origin.requests.length = 0;
});

after(async () => {
  if (skip) return;
  await Promise.all([registry.stop(), origin.close()]);
  await removeTempDir(work);
});

/** Requests the origin got for artifact files since `since`. */
function originFilesAsked(since: number): string[] {
  return origin.requests.slice(since).map((request) => request.path).sort();
}

async function install(t: TestContext, manifestFile: string, extra: string[], env: Record<string, string | undefined> = {}): Promise<{ dir: string; result: CliResult }> {
  const dir = join(await useTempDir(t, 'oci-mirror'), 'models');
  const result = await runCli(jsonInstallArgs(manifestFile, dir, ...extra), { env: { MODELHAUL_MIRRORS: undefined, ...env } });
  return { dir, result };
}

async function assertFiles(dir: string, ids = artifacts.map((artifact) => artifact.id)): Promise<void> {
  for (const artifact of artifacts.filter((a) => ids.includes(a.id))) {
    assert.ok((await readFile(join(dir, ...artifact.path.split('/')))).equals(bodies.get(artifact.id)!), artifact.path);
  }
}

function failovers(result: CliResult, id: string): Array<[unknown, unknown, unknown]> {
  return eventsOf(result, 'failover', id).map((event) => [event.from, event.to, (event.error as { code?: unknown }).code]);
}

const total = (): number => artifacts.reduce((sum, artifact) => sum + artifact.size, 0);

test('--mirror oci://HOST/REPO:TAG serves every file of a manifest read from a file; the origin is never asked; the bundle is read once', { skip }, async (t) => {
  const proxy = await startRegistryProxy(registry.host);
  t.after(() => proxy.close());
  const mirror = `oci://${proxy.host}/models/voice:1.0`;
  const asked = origin.requests.length;
  const { dir, result } = await install(t, manifest, ['--mirror', mirror]);
  assertExit(result, 0);
  await assertFiles(dir);
  assert.deepEqual(originFilesAsked(asked), [], 'no artifact was asked of the origin');
  for (const artifact of artifacts) assert.equal(eventsOf(result, 'start', artifact.id)[0]?.source, mirror, summarize(result));
  assert.deepEqual(eventsOf(result, 'done')[0]!.bytesBySource, { [mirror]: total() });
  // One manifest read for all three files (they start together), then one GET per blob.
  assert.deepEqual(proxy.requests.filter((line) => line.includes('/manifests/')), ['GET /v2/models/voice/manifests/1.0']);
  assert.deepEqual(proxy.requests.filter((line) => line.includes('/blobs/')).sort(), artifacts.map((a) => `GET /v2/models/voice/blobs/sha256:${a.sha256}`).sort());

  // The same from MODELHAUL_MIRRORS, pinned by the digest push printed.
  const pinned = `oci://${registry.host}/models/voice@${pushedDigest}`;
  const fromEnv = await install(t, manifest, [], { MODELHAUL_MIRRORS: pinned });
  assertExit(fromEnv.result, 0);
  await assertFiles(fromEnv.dir);
  assert.deepEqual(originFilesAsked(asked), []);
  assert.deepEqual(eventsOf(fromEnv.result, 'done')[0]!.bytesBySource, { [pinned]: total() });
});

test('an OCI mirror that is down, lacks the tag or serves a damaged manifest is skipped, one that is restarting is retried; the install succeeds', { skip }, async (t) => {
  const down = `oci://127.0.0.1:${await findFreePort()}/models/voice:1.0`;
  const asked = origin.requests.length;
  const { dir, result } = await install(t, manifest, ['--mirror', down]);
  assertExit(result, 0);
  await assertFiles(dir);
  for (const artifact of artifacts) {
    assert.deepEqual(failovers(result, artifact.id), [[down, origin.origin, 'NETWORK']], summarize(result));
    // Network trouble is retried on the mirror first (twice, as for any source with a fallback).
    assert.equal(eventsOf(result, 'retry', artifact.id).length, 2, summarize(result));
  }
  assert.deepEqual(originFilesAsked(asked), artifacts.map((a) => `/${a.id}.bin`).sort());

  // A registry that is restarting (503 for the manifest): retried on it, read afresh, then it serves.
  const restarting = await startRegistryProxy(registry.host, { unavailableManifests: 1 });
  t.after(() => restarting.close());
  const back = `oci://${restarting.host}/models/voice:1.0`;
  const retried = await install(t, manifest, ['--mirror', back]);
  assertExit(retried.result, 0);
  await assertFiles(retried.dir);
  assert.deepEqual(eventsOf(retried.result, 'failover'), []);
  for (const artifact of artifacts) assert.equal(eventsOf(retried.result, 'retry', artifact.id).length, 1, summarize(retried.result));
  assert.deepEqual(restarting.requests.filter((line) => line.includes('/manifests/')), ['GET /v2/models/voice/manifests/1.0', 'GET /v2/models/voice/manifests/1.0']);
  assert.deepEqual(eventsOf(retried.result, 'done')[0]!.bytesBySource, { [back]: total() });

  // A tag the registry does not have: asked once for all files, no retry. A manifest whose bytes
  // are not what the registry announced: that mirror cannot be used. The next mirror serves.
  const proxy = await startRegistryProxy(registry.host);
  const tampering = await startRegistryProxy(registry.host, { tamperManifests: true });
  t.after(() => Promise.all([proxy.close(), tampering.close()]));
  const missing = `oci://${proxy.host}/models/voice:2.0`;
  const tampered = `oci://${tampering.host}/models/voice:1.0`;
  const good = `oci://${registry.host}/models/voice:1.0`;
  const next = await install(t, manifest, ['--mirror', missing, '--mirror', tampered, '--mirror', good]);
  assertExit(next.result, 0);
  await assertFiles(next.dir);
  for (const artifact of artifacts) {
    assert.deepEqual(failovers(next.result, artifact.id), [[missing, tampered, 'NOT_FOUND'], [tampered, good, 'SOURCE_INVALID']]);
    assert.equal(eventsOf(next.result, 'retry', artifact.id).length, 0);
  }
  const reason = (eventsOf(next.result, 'failover', artifacts[0]!.id)[1]!.error as { message: string }).message;
  assert.match(reason, new RegExp(`^mirror ${tampered} cannot be used: The manifest of ${tampered} does not have the digest`));
  assert.deepEqual(proxy.requests, ['GET /v2/models/voice/manifests/2.0']);
  assert.deepEqual(tampering.requests, ['GET /v2/models/voice/manifests/1.0']);
  assert.deepEqual(eventsOf(next.result, 'done')[0]!.bytesBySource, { [good]: total() });
});

test('a registry mirror lacking one file fails over for that file only (not in the bundle, or its blob gone); the bundle installed from comes before the mirrors', { skip }, async (t) => {
  const [model, voice, config] = artifacts as [ManifestArtifact, ManifestArtifact, ManifestArtifact];
  const older = `oci://${registry.host}/models/voice:0.9`;
  let asked = origin.requests.length;
  const first = await install(t, manifest, ['--mirror', older]);
  assertExit(first.result, 0);
  await assertFiles(first.dir);
  assert.deepEqual(failovers(first.result, config.id), [[older, origin.origin, 'NOT_FOUND']]);
  assert.deepEqual(failovers(first.result, model.id), []);
  assert.deepEqual(failovers(first.result, voice.id), []);
  assert.deepEqual(originFilesAsked(asked), [`/${config.id}.bin`]);
  assert.deepEqual(eventsOf(first.result, 'done')[0]!.bytesBySource, { [older]: model.size + voice.size, [origin.origin]: config.size });

  const gappy = `oci://${registry.host}/models/gappy:1.0`;
  asked = origin.requests.length;
  const second = await install(t, manifest, ['--mirror', gappy]);
  assertExit(second.result, 0);
  await assertFiles(second.dir);
  assert.deepEqual(failovers(second.result, voice.id), [[gappy, origin.origin, 'HTTP_STATUS']]);
  assert.deepEqual(originFilesAsked(asked), [`/${voice.id}.bin`]);
  assert.deepEqual(eventsOf(second.result, 'done')[0]!.bytesBySource, { [gappy]: model.size + config.size, [origin.origin]: voice.size });

  // Installed from that registry bundle itself (--manifest oci://), it is tried first; an OCI
  // mirror comes next, before the origin, which is not asked at all.
  const folder = `oci-layout:${usb}:1.0`;
  asked = origin.requests.length;
  const third = await install(t, gappy, ['--mirror', gappy, '--mirror', folder]);
  assertExit(third.result, 0);
  await assertFiles(third.dir);
  const bundleSource = `oci://${registry.host}/models/gappy`;
  assert.deepEqual(failovers(third.result, voice.id), [[bundleSource, folder, 'HTTP_STATUS']], 'the same bundle as a mirror is not asked again');
  assert.deepEqual(originFilesAsked(asked), []);
  assert.deepEqual(eventsOf(third.result, 'done')[0]!.bytesBySource, { [bundleSource]: model.size + config.size, [folder]: voice.size });
});

test("the manifest's mirrors: an image-layout folder (a USB copy written by push) serves an install whose origin is gone", { skip }, async (t) => {
  const dir = await useTempDir(t, 'oci-usb');
  // The same files, at an origin where nothing listens any more.
  const gone = `http://127.0.0.1:${await findFreePort()}`;
  const offline = join(dir, 'offline.json');
  const folder = `oci-layout:${usb}:1.0`;
  await writeFile(
    offline,
    JSON.stringify({ schemaVersion: 1, name: 'test-bundle', mirrors: [`oci-layout:${join(work, 'no-usb')}:1.0`, folder], artifacts: artifacts.map((a) => ({ ...a, url: `${gone}${new URL(a.url).pathname}` })) }),
  );
  const { dir: installed, result } = await install(t, offline, []);
  assertExit(result, 0);
  await assertFiles(installed);
  for (const artifact of artifacts) {
    // A folder that is not there (the stick is not plugged in) is skipped without a retry.
    assert.deepEqual(failovers(result, artifact.id), [[`oci-layout:${join(work, 'no-usb')}:1.0`, folder, 'NOT_FOUND']], summarize(result));
    assert.equal(eventsOf(result, 'start', artifact.id)[0]?.source, folder);
  }
  assert.deepEqual(eventsOf(result, 'done')[0]!.bytesBySource, { [folder]: total() });
});

test("a USB copy that fails to read in the middle of a blob (EIO) is that folder's failure: retried, then the next source serves the file", { skip: skip ?? straceSkipReason() }, async (t) => {
  const dir = join(await useTempDir(t, 'oci-usb-eio'), 'models');
  const folder = `oci-layout:${usb}:1.0`;
  const model = artifacts[0]!;
  const blob = join(usb, 'blobs', 'sha256', model.sha256);
  // The kernel fails every read of that one blob after the first on each thread: a stick whose
  // flash gives out part-way through the file.
  const wrapper = straceWrapper({ log: join(dir, '..', 'strace.log'), trace: 'read,pread64', inject: ['read,pread64:error=EIO:when=2+'], paths: [blob] });
  const asked = origin.requests.length;
  const result = await runCli(jsonInstallArgs(manifest, dir, '--mirror', folder, '--retries', '1', '--connections', '1'), { wrapper, env: { MODELHAUL_MIRRORS: undefined } });

  assertExit(result, 0);
  await assertFiles(dir);
  assert.deepEqual(failovers(result, model.id), [[folder, origin.origin, 'FILESYSTEM']], summarize(result));
  const failover = eventsOf(result, 'failover', model.id)[0]!;
  assert.match(String((failover.error as { message?: unknown }).message), /image-layout folder/);
  // Retried on the folder first (a stick may wake up), and said to be the folder's disk, not a
  // connection and not the install dir.
  assert.equal(eventsOf(result, 'retry', model.id).length, 1, summarize(result));
  assert.equal((eventsOf(result, 'retry', model.id)[0]!.error as { code?: unknown }).code, 'FILESYSTEM');
  // The other files came from the folder; only the one it could not read came from the origin.
  assert.deepEqual(originFilesAsked(asked), [`/${model.id}.bin`]);
});
