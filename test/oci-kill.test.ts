// Pushes and pulls killed half-way, against the real registry behind a proxy that slows bodies
// down so that the kill lands in the middle of a blob: the next run continues, or starts a blob
// over cleanly, and what ends up installed is byte for byte what was pushed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, spawnCli, waitForEvent, waitForExit } from './helpers/cli.js';
import { registrySkipReason, useRegistry } from './helpers/registry.js';
import { startRegistryProxy } from './helpers/registry-proxy.js';
import { assertSameFiles, pushArgs, useInstalledBundle, type BundleFile, type InstalledBundle } from './helpers/oci-bundle.js';
import { eventsOf } from './helpers/install-run.js';

const skip = registrySkipReason();
const MIB = 1024 * 1024;
const BIG: BundleFile[] = [{ id: 'llm-model', size: 8 * MIB + 123, path: 'llm/model.gguf', kind: 'llm' }];

/** With the files' own URLs gone, installs `ref` into a fresh dir and compares every file. */
async function assertPullsBack(bundle: InstalledBundle, ref: string): Promise<void> {
  await bundle.origin.close();
  const dir = join(bundle.root, 'pulled');
  const pulled = await runCli(['install', '--manifest', ref, '--dir', dir, '--json']);
  assert.equal(pulled.code, 0, pulled.stderr);
  await assertSameFiles(bundle, dir);
}

test('kill -9 during a push, then push again: the bundle is complete and installs byte for byte', { skip }, async (t) => {
  const registry = await useRegistry(t);
  const bundle = await useInstalledBundle(t, BIG);
  const proxy = await startRegistryProxy(registry.host, { bytesPerSecond: 4 * MIB });
  t.after(() => proxy.close());
  const ref = `oci://${proxy.host}/models/llm:1.0`;

  const child = spawnCli(pushArgs(ref, bundle, '--chunk-bytes', String(MIB)));
  await waitForEvent(child, (event) => event.event === 'progress' && event.id === 'llm-model' && Number(event.bytes) >= 2 * MIB);
  child.kill('SIGKILL');
  const killed = await waitForExit(child);
  assert.equal(killed.signal, 'SIGKILL');
  // The registry has no manifest yet: nobody sees half a bundle.
  assert.equal((await fetch(`${registry.origin}/v2/models/llm/manifests/1.0`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).status, 404);

  proxy.options.bytesPerSecond = undefined;
  const again = await runCli(pushArgs(ref, bundle, '--chunk-bytes', String(MIB)));
  assert.equal(again.code, 0, again.stderr);
  const uploaded = eventsOf(again, 'uploaded', 'llm-model')[0];
  assert.ok(uploaded, 'the model blob was uploaded by the second run');
  assert.equal(Number(uploaded.resumedFrom) + Number(uploaded.bytesSent), BIG[0]!.size);
  // The kill most likely cut a chunk off: then the registry refuses the recorded session and the
  // blob starts over (a restart event); if it fell between chunks, the session is continued.
  const restarted = eventsOf(again, 'restart', 'llm-model').length === 1;
  assert.equal(restarted ? uploaded.resumedFrom : Number(uploaded.resumedFrom) > 0, restarted ? 0 : true);
  // No upload record is left behind.
  assert.deepEqual(await readdir(join(bundle.dir, '.modelhaul', 'uploads')).catch(() => []), []);

  await assertPullsBack(bundle, `oci://${registry.host}/models/llm:1.0`);
});

test('an upload cut off between chunks is continued by the next run from where the registry stands', { skip }, async (t) => {
  const registry = await useRegistry(t);
  const bundle = await useInstalledBundle(t, BIG);
  // The third chunk's request is cut off: two chunks (2 MiB) are in the registry's upload session.
  const proxy = await startRegistryProxy(registry.host, { dropPatchNumber: 3 });
  t.after(() => proxy.close());
  const ref = `oci://${proxy.host}/models/llm:1.0`;

  const failed = await runCli(pushArgs(ref, bundle, '--chunk-bytes', String(MIB), '--retries', '0'));
  assert.equal(failed.code, 1);
  assert.equal(failed.events.find((event) => event.event === 'error')?.code, 'NETWORK');

  const again = await runCli(pushArgs(ref, bundle, '--chunk-bytes', String(MIB)));
  assert.equal(again.code, 0, again.stderr);
  const start = eventsOf(again, 'start', 'llm-model')[0]!;
  assert.equal(start.offset, 2 * MIB, 'the second run starts where the registry stands');
  const uploaded = eventsOf(again, 'uploaded', 'llm-model')[0]!;
  assert.equal(uploaded.resumedFrom, 2 * MIB);
  assert.equal(uploaded.bytesSent, BIG[0]!.size - 2 * MIB);
  // It asked the registry where the session stood instead of opening a new one: one upload
  // session for the config and one for the model, over both runs.
  assert.ok(proxy.requests.some((line) => line.startsWith('GET /v2/models/llm/blobs/uploads/')), proxy.requests.join('\n'));
  assert.equal(proxy.requests.filter((line) => line === 'POST /v2/models/llm/blobs/uploads/').length, 2, proxy.requests.join('\n'));

  // Within one run, a retry continues the same session too.
  const second = await startRegistryProxy(registry.host, { dropPatchNumber: 3 });
  t.after(() => second.close());
  const retried = await runCli(pushArgs(`oci://${second.host}/models/llm-again:1.0`, bundle, '--chunk-bytes', String(MIB)));
  assert.equal(retried.code, 0, retried.stderr);
  assert.equal(eventsOf(retried, 'retry', 'llm-model').length, 1);
  assert.deepEqual(eventsOf(retried, 'start', 'llm-model').map((event) => event.offset), [0, 2 * MIB]);
  assert.equal(eventsOf(retried, 'uploaded', 'llm-model')[0]!.resumedFrom, 2 * MIB);

  await assertPullsBack(bundle, `oci://${registry.host}/models/llm:1.0`);
});

test('kill -9 during an install from the registry, then install again: it resumes the blob with Range', { skip }, async (t) => {
  const registry = await useRegistry(t);
  const bundle = await useInstalledBundle(t, BIG);
  assert.equal((await runCli(pushArgs(`oci://${registry.host}/models/llm:1.0`, bundle))).code, 0);
  await bundle.origin.close();
  const proxy = await startRegistryProxy(registry.host, { bytesPerSecond: 4 * MIB });
  t.after(() => proxy.close());
  const ref = `oci://${proxy.host}/models/llm:1.0`;
  const dir = join(bundle.root, 'pulled');

  const child = spawnCli(['install', '--manifest', ref, '--dir', dir, '--json', '--checkpoint-bytes', String(MIB / 2)]);
  await waitForEvent(child, (event) => event.event === 'progress' && Number(event.bytes) >= 3 * MIB);
  child.kill('SIGKILL');
  assert.equal((await waitForExit(child)).signal, 'SIGKILL');

  proxy.options.bytesPerSecond = undefined;
  const resumed = await runCli(['install', '--manifest', ref, '--dir', dir, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const start = eventsOf(resumed, 'start', 'llm-model')[0]!;
  assert.ok(Number(start.offset) >= 2 * MIB, `resumed from ${String(start.offset)}`);
  assert.equal(start.source, `oci://${proxy.host}/models/llm`);
  // The resume asked the registry for the missing bytes only.
  assert.ok(proxy.requests.filter((line) => line.startsWith('GET /v2/models/llm/blobs/sha256:')).length >= 2);
  const installed = eventsOf(resumed, 'installed', 'llm-model')[0]!;
  assert.equal(Number(installed.resumedFrom) + Number(installed.bytesFetched), BIG[0]!.size);
  await assertSameFiles(bundle, dir);
});
