// What a SIGKILL can leave in the private folder, found by the crash soak: the temp file of a record
// write cut off before its rename (a kill inside a checkpoint or inside the install-record write),
// and a resume record that outlives its file (a kill between the rename into place and the
// record's removal). The next install must clean both up, without downloading anything again.
// The crash states are built on disk here so that each case runs every time; the soak
// (test/soak-short.test.ts) produces them with real kills.
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, writeManifest, type ManifestArtifact } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { inspectInstallDir } from './helpers/disk-state.js';
import { resumeRecordFor } from './helpers/install-dir.js';
import { serveArtifact } from './helpers/served-artifact.js';
import { startOrigin, type Origin } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

const SIZE = 300_000;

async function setUp(t: TestContext): Promise<{ origin: Origin; work: string; dir: string; manifest: string; artifact: ManifestArtifact; body: Buffer }> {
  const origin = await startOrigin();
  t.after(() => origin.close());
  const work = await useTempDir(t, 'leftovers');
  const body = makeContent(SIZE, 41);
  const artifact = serveArtifact(origin, 'a', body);
  const manifest = await writeManifest(work, [artifact]);
  return { origin, work, dir: join(work, 'models'), manifest, artifact, body };
}

function install(manifest: string, dir: string): ReturnType<typeof runCli> {
  return runCli(['install', '--manifest', manifest, '--dir', dir, '--json', '--retry-delay', '0.05']);
}


test('temp files of record writes cut off by a crash are removed by the next install', async (t) => {
  const { dir, manifest, artifact, body } = await setUp(t);
  const staging = join(dir, '.modelhaul', 'staging');
  const installed = join(dir, '.modelhaul', 'installed');
  await mkdir(staging, { recursive: true });
  await mkdir(installed, { recursive: true });
  // Named as writeFileAtomic names them; a kill can leave one at any stage of the write.
  await writeFile(join(staging, '.a.resume.json.0123456789ab.tmp'), '{"format":"modelhaul-res');
  await writeFile(join(staging, '.a.resume.json.ba9876543210.tmp'), '');
  await writeFile(join(installed, '.a.json.00112233aabb.tmp'), '{"format":"modelhaul-installed"');

  const result = await install(manifest, dir);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await readdir(staging), []);
  assert.deepEqual(await readdir(installed), ['a.json']);
  const inspection = await inspectInstallDir(dir, [{ id: 'a', path: artifact.path, body }]);
  assert.deepEqual(inspection.violations, []);
});

test('a resume record that outlived its promoted file is removed, with or without the install record, and nothing is downloaded again', async (t) => {
  const { origin, dir, manifest, artifact, body } = await setUp(t);
  assert.equal((await install(manifest, dir)).code, 0);
  const staging = join(dir, '.modelhaul', 'staging');
  const installRecord = join(dir, '.modelhaul', 'installed', 'a.json');
  const requestsAfterFirstInstall = origin.requests.length;
  // The record the last checkpoint writes once every byte is durable, just before promotion.
  const completeRecord = JSON.stringify(resumeRecordFor(artifact, artifact.size, { etag: '"x"' })) + '\n';

  // Killed after the install record was written, before the resume record was removed.
  await writeFile(join(staging, 'a.resume.json'), completeRecord);
  const skipped = await install(manifest, dir);
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.ok(skipped.events.some((e) => e.event === 'skipped' && e.reason === 'already-installed'));
  assert.deepEqual(await readdir(staging), [], 'the outlived resume record is removed');

  // Killed after the rename into place, before the install record was written.
  await writeFile(join(staging, 'a.resume.json'), completeRecord);
  await rm(installRecord);
  const adopted = await install(manifest, dir);
  assert.equal(adopted.code, 0, adopted.stderr);
  assert.ok(adopted.events.some((e) => e.event === 'skipped' && e.reason === 'verified-existing'));
  assert.deepEqual(await readdir(staging), [], 'the outlived resume record is removed');

  assert.equal(origin.requests.length, requestsAfterFirstInstall, 'nothing is downloaded again');
  const inspection = await inspectInstallDir(dir, [{ id: 'a', path: artifact.path, body }]);
  assert.deepEqual(inspection.violations, []);
  assert.equal(inspection.artifacts[0]?.installRecord, 'valid');
});
