// A staging folder modelhaul may not write into: the install fails with PERMISSION_DENIED and its
// hint, and nothing is lost: the installed file and its record stay, the partial download and its
// resume record stay as they were, and once the folder is writable again the next run resumes.
//
// Root ignores file modes, and CI runs as root, so the first test runs the CLI as the unprivileged
// user `nobody` (uid/gid 65534) on a dir that user owns: the mode bits then bind exactly as they
// bind any user. It runs a world-readable copy of the CLI, so that these tests pass from a clone
// in a private folder too. The second makes the staging folder a read-only bind mount (EROFS),
// which binds root too. Each is skipped with a message where it cannot be set up (not root).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { runCli, spawnCli, waitForExit, writeManifest, type CliEvent, type CliOptions } from './helpers/cli.js';
import { cliReadableByAnyone } from './helpers/cli-copy.js';
import { makeContent } from './helpers/content.js';
import { inspectInstallDir, type ExpectedArtifact } from './helpers/disk-state.js';
import { startOrigin, type Origin } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';
import { serveArtifact } from './helpers/served-artifact.js';

const MiB = 1024 * 1024;
const NOBODY = 65534;
const PERMISSION_HINT = 'Make the install dir writable by this user, or choose another one with --dir.';

interface Bundle {
  origin: Origin;
  work: string;
  dir: string;
  staging: string;
  /** Only `a`, to install it completely first. */
  manifestA: string;
  /** `a` (installed), `b` (left partial), `c` (never started). */
  manifest: string;
  expected: ExpectedArtifact[];
}

async function bundle(t: TestContext, prefix: string): Promise<Bundle> {
  const origin = await startOrigin({ throttleBytesPerSecond: 4 * MiB });
  t.after(() => origin.close());
  const work = await useTempDir(t, prefix);
  const bodies = { a: makeContent(MiB + 1, 81), b: makeContent(8 * MiB + 2, 82), c: makeContent(2 * MiB + 3, 83) };
  const artifacts = Object.entries(bodies).map(([id, body]) => serveArtifact(origin, id, body));
  await mkdir(join(work, 'a-only'));
  const manifestA = await writeManifest(join(work, 'a-only'), artifacts.slice(0, 1));
  const manifest = await writeManifest(work, artifacts);
  const dir = join(work, 'install');
  await mkdir(dir);
  const expected = Object.entries(bodies).map(([id, body]) => ({ id, path: `models/${id}.bin`, body }));
  return { origin, work, dir, staging: join(dir, '.modelhaul', 'staging'), manifestA, manifest, expected };
}

/**
 * How to run the CLI as `nobody`, with `home` as its HOME: a world-readable copy of it, or
 * undefined (and the test skipped) where this process cannot switch users or `nobody` cannot
 * reach `mustWrite`.
 */
async function asNobody(t: TestContext, home: string, mustWrite?: string): Promise<CliOptions | undefined> {
  if (process.getuid?.() !== 0) {
    t.skip('needs root, to run the CLI as the unprivileged user nobody (root ignores file modes)');
    return undefined;
  }
  const cliPath = await cliReadableByAnyone();
  const checks = [`require('fs').accessSync(${JSON.stringify(cliPath)}, 4)`];
  if (mustWrite !== undefined) checks.push(`require('fs').accessSync(${JSON.stringify(mustWrite)}, 2)`);
  const probe = spawnSync(process.execPath, ['-e', checks.join('; ')], { uid: NOBODY, gid: NOBODY, encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    t.skip(`cannot run the CLI as uid ${NOBODY} here: ${probe.error?.message ?? probe.stderr.trim().split('\n')[0]}`);
    return undefined;
  }
  return { uid: NOBODY, gid: NOBODY, env: { HOME: home }, cliPath };
}

function installArgs(manifest: string, dir: string): string[] {
  return ['install', '--manifest', manifest, '--dir', dir, '--json', '--retry-delay', '0.05', '--concurrency', '1', '--connections', '1', '--checkpoint-interval', '0.1'];
}

/** Bytes the resume record of `id` claims, or 0. */
async function claimed(staging: string, id: string): Promise<number> {
  try {
    const record = JSON.parse(await readFile(join(staging, `${id}.resume.json`), 'utf8')) as { segments: Array<{ done: number }> };
    return record.segments.reduce((sum, s) => sum + s.done, 0);
  } catch {
    return 0;
  }
}

/**
 * Installs `a` completely, then downloads part of `b` and kills the CLI once a checkpoint claims at
 * least 2 MiB; `c` is never started (concurrency 1). Returns what must survive.
 */
async function prepareState(b: Bundle, options: CliOptions): Promise<{ files: Map<string, Buffer>; claimedB: number }> {
  const first = await runCli(installArgs(b.manifestA, b.dir), options);
  assert.equal(first.code, 0, first.stderr);
  const child = spawnCli(installArgs(b.manifest, b.dir), options);
  const deadline = performance.now() + 30_000;
  while ((await claimed(b.staging, 'b')) < 2 * MiB) {
    assert.ok(child.exitCode === null && performance.now() < deadline, 'b got a checkpoint of 2 MiB while the CLI ran');
    await delay(20);
  }
  child.kill('SIGKILL');
  await waitForExit(child);
  const files = new Map<string, Buffer>();
  for (const file of [join(b.dir, 'models', 'a.bin'), join(b.dir, '.modelhaul', 'installed', 'a.json'), join(b.staging, 'b.resume.json')]) {
    files.set(file, await readFile(file));
  }
  return { files, claimedB: await claimed(b.staging, 'b') };
}

/** The run against the unwritable staging folder, and what it must (not) have changed. */
async function assertRefusedAndNothingLost(b: Bundle, state: { files: Map<string, Buffer>; claimedB: number }, options: CliOptions): Promise<void> {
  const requestsBefore = b.origin.requests.length;
  const refused = await runCli(installArgs(b.manifest, b.dir), options);
  assert.equal(refused.code, 1, refused.stderr);
  const failed = refused.events.filter((e) => e.event === 'failed');
  assert.deepEqual(failed.map((e) => [e.id, e.code]), [['b', 'PERMISSION_DENIED'], ['c', 'PERMISSION_DENIED']]);
  for (const failure of failed) {
    assert.equal(failure.hint, PERMISSION_HINT);
    assert.match((failure.error as { message: string }).message, /staging/, 'the message names the folder');
  }
  assert.ok(refused.events.some((e: CliEvent) => e.event === 'skipped' && e.id === 'a'), 'a is still installed');
  assert.equal(b.origin.requests.slice(requestsBefore).filter((r) => r.path === '/c.bin').length, 0, 'c was refused before any request');

  // Nothing lost: a and its record, b's record byte for byte, and the bytes b's record claims.
  for (const [file, content] of state.files) assert.ok((await readFile(file)).equals(content), `${file} is unchanged`);
  const inspection = await inspectInstallDir(b.dir, b.expected);
  assert.deepEqual(inspection.violations, []);
  assert.equal(inspection.artifacts[0]?.final, 'correct');
  assert.equal(inspection.artifacts[0]?.installRecord, 'valid');
  assert.equal(await claimed(b.staging, 'b'), state.claimedB);
}

/** With the folder writable again: b resumes at its recorded offset, c is fetched, all verified. */
async function assertResumes(b: Bundle, claimedB: number, options: CliOptions): Promise<void> {
  const resumed = await runCli(installArgs(b.manifest, b.dir), options);
  assert.equal(resumed.code, 0, resumed.stderr);
  const startB = resumed.events.find((e) => e.event === 'start' && e.id === 'b');
  assert.equal(startB?.offset, claimedB, 'b continues from the bytes its record claims');
  const inspection = await inspectInstallDir(b.dir, b.expected);
  assert.deepEqual(inspection.violations, []);
  assert.deepEqual(inspection.artifacts.map((a) => [a.id, a.final, a.installRecord]), [
    ['a', 'correct', 'valid'],
    ['b', 'correct', 'valid'],
    ['c', 'correct', 'valid'],
  ]);
  assert.deepEqual(await readdir(b.staging), []);
}

test('a staging folder made read-only for the installing user gives PERMISSION_DENIED with its hint, loses nothing, and the next run resumes', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root, to run the CLI as the unprivileged user nobody (root ignores file modes)');
    return;
  }
  const b = await bundle(t, 'permissions');
  // The unprivileged user needs to reach the manifest and own the install dir.
  await chmod(b.work, 0o755);
  await chown(b.dir, NOBODY, NOBODY);
  const nobody = await asNobody(t, b.work, b.dir);
  if (nobody === undefined) return;

  const state = await prepareState(b, nobody);
  await chmod(b.staging, 0o555);
  try {
    await assertRefusedAndNothingLost(b, state, nobody);
  } finally {
    await chmod(b.staging, 0o755);
  }
  await assertResumes(b, state.claimedB, nobody);
});

test('a staging folder on a read-only mount (EROFS) gives PERMISSION_DENIED with its hint, loses nothing, and the next run resumes', async (t) => {
  const b = await bundle(t, 'read-only-mount');
  const state = await prepareState(b, {});
  const bind = spawnSync('mount', ['--bind', b.staging, b.staging], { encoding: 'utf8' });
  if (bind.error !== undefined || bind.status !== 0) {
    t.skip(`cannot bind-mount here (needs root): ${bind.error?.message ?? bind.stderr.trim()}`);
    return;
  }
  try {
    const readOnly = spawnSync('mount', ['-o', 'remount,bind,ro', b.staging], { encoding: 'utf8' });
    assert.equal(readOnly.status, 0, `remount read-only: ${readOnly.stderr}`);
    await assertRefusedAndNothingLost(b, state, {});
  } finally {
    if (spawnSync('umount', [b.staging]).status !== 0) spawnSync('umount', ['-l', b.staging]);
  }
  await assertResumes(b, state.claimedB, {});
});

test('a final folder the installing user cannot write gives PERMISSION_DENIED at promotion, keeps the verified partial, and the next run promotes it without downloading', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root, to run the CLI as the unprivileged user nobody (root ignores file modes)');
    return;
  }
  const origin = await startOrigin();
  t.after(() => origin.close());
  const work = await useTempDir(t, 'permissions-final');
  await chmod(work, 0o755);
  const body = makeContent(2 * MiB + 5, 84);
  const manifest = await writeManifest(work, [serveArtifact(origin, 'x', body)]);
  const dir = join(work, 'install');
  const models = join(dir, 'models');
  await mkdir(models, { recursive: true });
  await chown(dir, NOBODY, NOBODY);
  await chown(models, NOBODY, NOBODY);
  const nobody = await asNobody(t, work, dir);
  if (nobody === undefined) return;
  const expected = [{ id: 'x', path: 'models/x.bin', body }];

  await chmod(models, 0o555);
  let refused;
  try {
    refused = await runCli(installArgs(manifest, dir), nobody);
  } finally {
    await chmod(models, 0o755);
  }
  assert.equal(refused.code, 1, refused.stderr);
  const failed = refused.events.filter((e) => e.event === 'failed');
  assert.deepEqual(failed.map((e) => [e.id, e.code, e.hint]), [['x', 'PERMISSION_DENIED', PERMISSION_HINT]]);
  assert.match((failed[0]!.error as { message: string }).message, /models/, 'the message names the folder');
  const kept = (await inspectInstallDir(dir, expected)).artifacts[0]!;
  assert.equal(kept.final, 'absent');
  assert.equal(kept.partialBytes, body.length, 'the whole download is kept');
  assert.ok(typeof kept.resume === 'object' && kept.resume.claimed === body.length, 'and its record vouches for every byte');

  const requestsBefore = origin.requests.length;
  const promoted = await runCli(installArgs(manifest, dir), nobody);
  assert.equal(promoted.code, 0, promoted.stderr);
  assert.equal(origin.requests.length, requestsBefore, 'nothing is downloaded again');
  const inspection = await inspectInstallDir(dir, expected);
  assert.deepEqual(inspection.violations, []);
  assert.deepEqual(inspection.artifacts.map((a) => [a.final, a.installRecord]), [['correct', 'valid']]);
});

test('as an unprivileged user: an unreadable manifest and an install dir it may not write both give PERMISSION_DENIED, and nothing is created', async (t) => {
  const b = await bundle(t, 'permissions-input');
  await chmod(b.work, 0o755);
  const nobody = await asNobody(t, b.work);
  if (nobody === undefined) return;

  // The unit tests of the manifest loader and the lock cover these cases too, but skip as root.
  const secret = join(b.work, 'secret.json');
  await writeFile(secret, await readFile(b.manifest));
  await chmod(secret, 0o000);
  const unreadable = await runCli(['status', '--manifest', secret, '--dir', b.dir], nobody);
  assert.equal(unreadable.code, 1, unreadable.stderr);
  assert.match(unreadable.stderr, /PERMISSION_DENIED: cannot read manifest file/);

  // The install dir belongs to root with mode 0755: the lock, the first thing written, is refused.
  await chmod(b.dir, 0o755);
  const refused = await runCli(installArgs(b.manifest, b.dir), nobody);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /PERMISSION_DENIED/);
  assert.deepEqual(await readdir(b.dir), []);
  assert.equal(b.origin.requests.length, 0, 'nothing was requested');
});
