// An install dir tampered with by a hostile (or careless) user: folders of modelhaul's swapped for
// symbolic links, an installed file replaced by another, a folder on the way to a model that leads
// elsewhere, a dir that cannot be written. No input like that may cost a user a file, and each
// answer must agree with the others (docs/rules.md rules 23 and 29).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, writeManifest, type CliEvent, type CliResult } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { dirPaths, snapshotTree } from './helpers/install-dir.js';
import { useOrigin } from './helpers/install-run.js';
import { jsonInstallArgs, pathExists, serveArtifact } from './helpers/served-artifact.js';
import { makeTempDir, removeTempDir, useTempDir } from './helpers/tmp.js';

const KiB = 1024;

function lastEvent(result: CliResult, name: string): CliEvent {
  const event = result.events.findLast((e) => e.event === name);
  assert.ok(event, `no ${name} event; exit ${result.code}; stderr:\n${result.stderr}`);
  return event;
}

async function installOk(manifest: string, dir: string): Promise<void> {
  const result = await runCli(jsonInstallArgs(manifest, dir));
  assert.equal(result.code, 0, result.stderr);
}

/** Files a hostile link could lead modelhaul to: names modelhaul would take for its own. */
async function plantVictims(folder: string, files: Record<string, string>): Promise<void> {
  await mkdir(folder, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(folder, name), content);
}

test('gc --yes and remove delete nothing through a symbolic link at .modelhaul, .modelhaul/installed or .modelhaul/staging', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'hostile-links');
  const a = serveArtifact(origin, 'a', makeContent(8 * KiB, 1));
  const manifest = await writeManifest(work, [a]);
  const outside = join(work, 'someone-else');
  // What a linked folder leads to: a project folder whose files look like modelhaul's own, and
  // copies of a's real records, which would make `remove a` delete them.
  const dir = join(work, 'install');
  await installOk(manifest, dir);
  const paths = dirPaths(dir);
  await plantVictims(join(outside, 'installed'), {
    'package.json': '{"name":"someone else\'s project"}\n',
    '.c.tmp': 'an editor swap file',
    'a.json': await readFile(paths.installRecord('a'), 'utf8'),
  });
  await plantVictims(join(outside, 'staging'), {
    'a.partial': 'bytes of someone else',
    'a.resume.json': '{}',
    'orphan.resume.json': '{}',
    'x.partial': 'more bytes',
    '.x.resume.json.0123456789ab.tmp': 'half',
  });
  await rm(paths.installedDir, { recursive: true });
  await rm(paths.stagingDir, { recursive: true });
  await symlink(join(outside, 'installed'), paths.installedDir);
  await symlink(join(outside, 'staging'), paths.stagingDir);

  // A second dir whose whole private folder is a link.
  const dir2 = join(work, 'install-2');
  await mkdir(dir2);
  await symlink(outside, dirPaths(dir2).privateDir);
  const before = await snapshotTree(outside);

  for (const target of [dir, dir2]) {
    const gc = await runCli(['gc', '--manifest', manifest, '--dir', target, '--yes', '--all-partials', '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(lastEvent(gc, 'gc').items, [], `gc in ${target} found nothing of its own to remove`);
    const removed = await runCli(['remove', 'a', '--manifest', manifest, '--dir', target, '--json']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(await snapshotTree(outside), before, `nothing behind the links changed (${target})`);
  }
});

test('remove keeps a file put in place of the installed one, which status calls changed and gc keeps: one rule for all three', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'hostile-replaced');
  const body = makeContent(16 * KiB, 2);
  const a = serveArtifact(origin, 'a', body);
  const v1 = await writeManifest(work, [a]);
  const dir = join(work, 'install');
  await installOk(v1, dir);
  const file = join(dir, ...a.path.split('/'));

  // Another file of the same size and the same mtime, renamed into place: only its inode tells it
  // from the one modelhaul verified.
  const installedStats = await stat(file);
  const mine = join(work, 'mine.bin');
  await writeFile(mine, makeContent(body.length, 3));
  await utimes(mine, installedStats.atime, installedStats.mtime);
  await rename(mine, file);
  const theirs = await readFile(file);

  const status = await runCli(['status', '--manifest', v1, '--dir', dir, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const [state] = lastEvent(status, 'status').artifacts as Array<{ state: string }>;
  assert.equal(state?.state, 'changed', 'status does not call it installed');

  await mkdir(join(work, 'v2'));
  const v2 = await writeManifest(join(work, 'v2'), [serveArtifact(origin, 'b', makeContent(KiB, 4))]);
  const gc = await runCli(['gc', '--manifest', v2, '--dir', dir, '--json']);
  assert.equal(gc.code, 0, gc.stderr);
  const plan = lastEvent(gc, 'gc') as { items: Array<{ file: string }>; kept: Array<{ file: string; reason: string }> };
  assert.ok(!plan.items.some((item) => item.file === file), 'gc would not remove it');
  assert.match(plan.kept.find((item) => item.file === file)?.reason ?? '', /^changed since modelhaul installed it/);

  const removed = await runCli(['remove', 'a', '--manifest', v1, '--dir', dir, '--json']);
  assert.equal(removed.code, 0, removed.stderr);
  const [result] = lastEvent(removed, 'remove').artifacts as Array<{ keptFile?: string; files: Array<{ kind: string }> }>;
  assert.equal(result?.keptFile, file, 'remove reports the file it left alone');
  assert.ok(!result?.files.some((entry) => entry.kind === 'installed-file'));
  assert.ok((await readFile(file)).equals(theirs), 'the file is there, byte for byte');
});

test('a folder on the way that is a symbolic link fails with UNSAFE_PATH before any request: a right file behind it is not adopted, nothing is downloaded into it', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'hostile-linked-folder');
  const body = makeContent(64 * KiB, 5);
  const a = serveArtifact(origin, 'a', body);
  const manifest = await writeManifest(work, [a]);
  const dir = join(work, 'install');
  await mkdir(dir);
  const right = join(work, 'elsewhere-with-the-file');
  const empty = join(work, 'elsewhere-empty');
  await mkdir(right);
  await mkdir(empty);
  await writeFile(join(right, 'a.bin'), body);

  for (const target of [right, empty]) {
    await rm(join(dir, 'models'), { force: true });
    await symlink(target, join(dir, 'models'));
    const before = await snapshotTree(target);
    const result = await runCli(jsonInstallArgs(manifest, dir));
    assert.equal(result.code, 1, result.stderr);
    const failed = lastEvent(result, 'failed');
    assert.equal(failed.code, 'UNSAFE_PATH');
    assert.equal(origin.requestsFor('/a.bin').length, 0, 'refused before any request');
    assert.equal(await pathExists(dirPaths(dir).installRecord('a')), false, 'not adopted');
    assert.deepEqual(await snapshotTree(target), before);
    const status = await runCli(['status', '--manifest', manifest, '--dir', dir, '--json']);
    const [state] = lastEvent(status, 'status').artifacts as Array<{ state: string; reason?: string }>;
    assert.equal(state?.state, 'changed', 'status does not call it installed either');
    assert.match(state?.reason ?? '', /symbolic link/);
  }
});

/**
 * Read-only bind mounts of `folders` on themselves; false (and the test skipped) where mounting is
 * not allowed. Returns the unmount, which the caller runs before removing the folders.
 */
function mountReadOnly(t: TestContext, folders: string[]): (() => void) | undefined {
  const mounted: string[] = [];
  const unmount = (): void => {
    for (const folder of mounted.reverse()) if (spawnSync('umount', [folder]).status !== 0) spawnSync('umount', ['-l', folder]);
  };
  for (const folder of folders) {
    const bind = spawnSync('mount', ['--bind', folder, folder], { encoding: 'utf8' });
    if (bind.error !== undefined || bind.status !== 0) {
      unmount();
      t.skip(`cannot bind-mount here (needs root): ${bind.error?.message ?? bind.stderr.trim()}`);
      return undefined;
    }
    mounted.push(folder);
    const readOnly = spawnSync('mount', ['-o', 'remount,bind,ro', folder], { encoding: 'utf8' });
    assert.equal(readOnly.status, 0, `remount read-only: ${readOnly.stderr}`);
  }
  return unmount;
}

test('a read-only install dir: PERMISSION_DENIED naming the folder when there is work to do, and exit 0 without a request when everything is installed', async (t) => {
  const origin = await useOrigin(t);
  // One clean-up, so that the unmount surely comes before the removal.
  const work = await makeTempDir('hostile-read-only');
  const unmounts: Array<() => void> = [];
  t.after(async () => {
    for (const unmount of unmounts) unmount();
    await removeTempDir(work);
  });
  const a = serveArtifact(origin, 'a', makeContent(32 * KiB, 6));
  const manifest = await writeManifest(work, [a]);
  const dir = join(work, 'install');
  await installOk(manifest, dir);
  const empty = join(work, 'empty');
  await mkdir(empty);
  const unmount = mountReadOnly(t, [dir, empty]);
  if (unmount === undefined) return;
  unmounts.push(unmount);
  const requests = origin.requests.length;

  const nothingToDo = await runCli(jsonInstallArgs(manifest, dir));
  assert.equal(nothingToDo.code, 0, nothingToDo.stderr);
  assert.deepEqual(nothingToDo.events.filter((e) => e.event === 'skipped').map((e) => [e.id, e.reason]), [['a', 'already-installed']]);
  assert.equal(lastEvent(nothingToDo, 'done').ok, true);

  for (const target of [empty, join(empty, 'sub', 'dir')]) {
    const refused = await runCli(jsonInstallArgs(manifest, target));
    assert.equal(refused.code, 1, refused.stderr);
    const error = lastEvent(refused, 'error');
    assert.equal(error.code, 'PERMISSION_DENIED', String(error.message));
    assert.match(String(error.message), /EROFS/);
    assert.ok(String(error.message).includes(empty), 'the message names the folder');
  }
  assert.equal(origin.requests.length, requests, 'nothing was requested');
});
