// An OCI image-layout folder (what `oras cp --to-oci-layout` writes, and `modelhaul push
// oci-layout:PATH` too): written from an installed bundle, read back as a manifest source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { assertSameFiles, pushArgs, useInstalledBundle } from './helpers/oci-bundle.js';
import { eventsOf } from './helpers/install-run.js';

interface IndexJson {
  manifests: Array<{ digest: string; mediaType: string; artifactType?: string; annotations?: Record<string, string> }>;
}

test('push to an image-layout folder, then status and install read the bundle from it', async (t) => {
  const bundle = await useInstalledBundle(t);
  const layout = join(bundle.root, 'usb', 'models');
  const pushed = await runCli(pushArgs(`oci-layout:${layout}:1.0`, bundle));
  assert.equal(pushed.code, 0, pushed.stderr);
  const digest = String(eventsOf(pushed, 'done')[0]!.digest);

  assert.deepEqual(JSON.parse(await readFile(join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as IndexJson;
  assert.deepEqual(index.manifests.map((entry) => [entry.digest, entry.annotations?.['org.opencontainers.image.ref.name'], entry.artifactType]), [
    [digest, '1.0', 'application/vnd.modelhaul.bundle.v1+json'],
  ]);
  const blobs = await readdir(join(layout, 'blobs', 'sha256'));
  for (const artifact of bundle.artifacts) {
    assert.ok(blobs.includes(artifact.sha256));
    assert.ok((await readFile(join(layout, 'blobs', 'sha256', artifact.sha256))).equals(bundle.contents.get(artifact.id)!));
  }
  assert.ok(!blobs.some((name) => name.endsWith('.tmp')));

  // A second tag of the same bundle copies nothing and keeps the first tag.
  const again = await runCli(pushArgs(`oci-layout:${layout}:latest`, bundle));
  assert.equal(again.code, 0, again.stderr);
  assert.equal(eventsOf(again, 'uploaded').length, 0);
  const tags = (JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as IndexJson).manifests.map((entry) => entry.annotations?.['org.opencontainers.image.ref.name']);
  assert.deepEqual(tags, ['1.0', 'latest']);

  const status = await runCli(['status', '--manifest', `oci-layout:${layout}:1.0`, '--dir', bundle.dir, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { complete: boolean }).complete, true);

  // Offline: the files come from the folder, not from their URLs.
  await bundle.origin.close();
  const dir = join(bundle.root, 'from-usb');
  const installed = await runCli(['install', '--manifest', `oci-layout:${layout}@${digest}`, '--dir', dir, '--json']);
  assert.equal(installed.code, 0, installed.stderr);
  await assertSameFiles(bundle, dir);
  for (const start of eventsOf(installed, 'start')) assert.equal(start.source, `oci-layout:${layout}`);
});

test('an image-layout folder with a damaged manifest blob, or without the named tag, is refused with a clear code', async (t) => {
  const bundle = await useInstalledBundle(t);
  const layout = join(bundle.root, 'layout');
  const pushed = await runCli(pushArgs(`oci-layout:${layout}:1.0`, bundle));
  assert.equal(pushed.code, 0, pushed.stderr);

  const missingTag = await runCli(['status', '--manifest', `oci-layout:${layout}:2.0`, '--dir', bundle.dir, '--json']);
  assert.equal(missingTag.code, 2, 'a tag that is not there is bad usage, like a manifest file that is not there');
  const notFound = missingTag.events.find((event) => event.event === 'error')!;
  assert.equal(notFound.code, 'NOT_FOUND');
  assert.match(String(notFound.hint), new RegExp(`oci-layout:${layout.replace(/[/.]/g, '\\$&')}:1\\.0`));

  const digest = String(eventsOf(pushed, 'done')[0]!.digest).slice('sha256:'.length);
  const manifestBlob = join(layout, 'blobs', 'sha256', digest);
  await writeFile(manifestBlob, (await readFile(manifestBlob, 'utf8')).replace('"schemaVersion":2', '"schemaVersion":2 '));
  const damaged = await runCli(['status', '--manifest', `oci-layout:${layout}:1.0`, '--dir', bundle.dir, '--json']);
  assert.equal(damaged.code, 1);
  assert.equal(damaged.events.find((event) => event.event === 'error')!.code, 'CHECKSUM_MISMATCH');

  const notALayout = await runCli(['status', '--manifest', `oci-layout:${bundle.dir}`, '--dir', bundle.dir, '--json']);
  assert.equal(notALayout.code, 2, 'a folder that is not an image layout is bad usage');
  assert.match(notALayout.stderr, /is not an OCI image layout/);
});
