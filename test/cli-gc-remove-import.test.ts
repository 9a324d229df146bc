// `gc`, `remove` and `import` through the built CLI on real install dirs: what is removed, what is
// kept byte for byte, and that a wrong file changes nothing. The dirs are made by real installs
// from a local origin, so the records on disk are the engine's own, not hand-written imitations.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli, type CliEvent, type CliResult, type ManifestArtifact } from './helpers/cli.js';
import { makeContent, sha256Hex } from './helpers/content.js';
import { startOrigin, type Origin } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

const KiB = 1024;

interface GcItemJson {
  kind: string;
  file: string;
  bytes: number;
  reason: string;
  id?: string;
}

async function useOrigin(t: TestContext): Promise<Origin> {
  const origin = await startOrigin();
  t.after(() => origin.close());
  return origin;
}

function artifact(origin: Origin, id: string, body: Buffer, path = `models/${id}.bin`): ManifestArtifact {
  origin.serve(`/${id}.bin`, body);
  return { id, kind: 'other', label: `Artifact ${id}`, url: origin.url(`/${id}.bin`), size: body.length, sha256: sha256Hex(body), path };
}

async function writeManifestFile(file: string, artifacts: ManifestArtifact[]): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify({ schemaVersion: 1, name: 'test-bundle', artifacts }, null, 2) + '\n');
  return file;
}

async function install(manifest: string, dir: string): Promise<void> {
  const result = await runCli(['install', '--manifest', manifest, '--dir', dir, '--json', '--retry-delay', '0.05', '--stall-timeout', '5']);
  assert.equal(result.code, 0, `install failed: ${result.stderr}`);
}

function lastEvent(result: CliResult, name: string): CliEvent {
  const event = result.events.findLast((e) => e.event === name);
  assert.ok(event, `no ${name} event; exit ${result.code}; stderr:\n${result.stderr}\nstdout:\n${result.stdout}`);
  return event;
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

/** Every file below `dir`, relative, with its bytes: a fingerprint of the whole tree. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  if (!(await exists(dir))) return files;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    files.set(file.slice(dir.length + 1), sha256Hex(await readFile(file)));
  }
  return files;
}

function resumeRecord(a: ManifestArtifact, done: number, overrides: Partial<ManifestArtifact> = {}): string {
  const { url, size, sha256 } = { ...a, ...overrides };
  return JSON.stringify({
    format: 'modelhaul-resume',
    version: 1,
    id: a.id,
    url,
    size,
    sha256,
    segments: [{ start: 0, end: size, done }],
    updatedAt: new Date().toISOString(),
  }) + '\n';
}

test('gc lists without touching anything, then with --yes removes exactly what the manifest does not need', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'gc');
  const dir = join(work, 'models');
  const keep = artifact(origin, 'keep', makeContent(40 * KiB, 1));
  const dropped = artifact(origin, 'dropped', makeContent(30 * KiB, 2), 'extra/dropped.bin');
  const edited = artifact(origin, 'edited', makeContent(20 * KiB, 3));
  const shared = artifact(origin, 'shared-old', makeContent(10 * KiB, 4), 'models/shared.bin');
  await install(await writeManifestFile(join(work, 'v1.json'), [keep, dropped, edited, shared]), dir);

  // Version 2 of the manifest: `dropped`, `edited` and `shared-old` are gone (a new artifact now
  // owns shared-old's path), `pending` and `changed` are new and have partial downloads.
  const pending = artifact(origin, 'pending', makeContent(50 * KiB, 5));
  const changed = artifact(origin, 'changed', makeContent(60 * KiB, 6));
  const sharedNew = { ...shared, id: 'shared-new' };
  const v2 = await writeManifestFile(join(work, 'v2.json'), [keep, pending, changed, sharedNew]);

  const staging = join(dir, '.modelhaul', 'staging');
  const installed = join(dir, '.modelhaul', 'installed');
  const plant = async (file: string, content: string | Buffer): Promise<string> => {
    await writeFile(file, content);
    return file;
  };
  // Garbage:
  const orphanPartial = await plant(join(staging, 'orphan.partial'), randomBytes(7 * KiB));
  const orphanRecord = await plant(join(staging, 'orphan.resume.json'), '{"format":"modelhaul-resume"}');
  const installedPartial = await plant(join(staging, 'keep.partial'), randomBytes(3 * KiB));
  const stalePartial = await plant(join(staging, 'changed.partial'), randomBytes(5 * KiB));
  const staleRecord = await plant(join(staging, 'changed.resume.json'), resumeRecord(changed, 5 * KiB, { sha256: 'f'.repeat(64) }));
  const tempFile = await plant(join(installed, '.keep.json.0123456789ab.tmp'), 'half a record');
  const corruptRecord = await plant(join(installed, 'ghost.json'), '{not json');
  await appendFile(join(dir, edited.path), 'user edit'); // changed since installed: kept
  // Not garbage:
  const neededPartial = await plant(join(staging, 'pending.partial'), makeContent(50 * KiB, 5).subarray(0, 12 * KiB));
  const neededRecord = await plant(join(staging, 'pending.resume.json'), resumeRecord(pending, 12 * KiB));
  const userFile = await plant(join(dir, 'notes.txt'), 'mine');
  const userModel = await plant(join(dir, 'models', 'my-own.bin'), randomBytes(KiB));
  await plant(join(staging, 'README'), 'not a modelhaul file name');

  const droppedFile = join(dir, dropped.path);
  const expectedGarbage = new Map<string, string>([
    [orphanRecord, 'resume-record'],
    [orphanPartial, 'partial'],
    [installedPartial, 'partial'],
    [staleRecord, 'resume-record'],
    [stalePartial, 'partial'],
    [tempFile, 'temp-file'],
    [corruptRecord, 'install-record'],
    [droppedFile, 'installed-file'],
    [join(installed, 'dropped.json'), 'install-record'],
    [join(installed, 'edited.json'), 'install-record'],
    [join(installed, 'shared-old.json'), 'install-record'],
  ]);
  const expectedBytes = (await Promise.all([...expectedGarbage.keys()].map(async (file) => (await stat(file)).size))).reduce((a, b) => a + b, 0);

  const before = await snapshot(dir);
  const dry = await runCli(['gc', '--manifest', v2, '--dir', dir, '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const plan = lastEvent(dry, 'gc');
  assert.equal(plan.dryRun, true);
  const items = plan.items as GcItemJson[];
  assert.deepEqual(new Map(items.map((item) => [item.file, item.kind])), expectedGarbage);
  assert.equal(plan.bytes, expectedBytes);
  assert.equal(items.find((item) => item.file === staleRecord)?.reason, 'made for another version of the artifact (size or SHA-256 changed)');
  const kept = plan.kept as GcItemJson[];
  assert.ok(kept.some((item) => item.file === neededPartial), 'the needed partial is reported as kept');
  assert.ok(kept.some((item) => item.file === join(dir, edited.path) && item.reason.startsWith('changed since')));
  assert.ok(kept.some((item) => item.file === join(dir, shared.path) && item.reason === 'the manifest still uses this path'));
  assert.deepEqual(await snapshot(dir), before, 'a dry run changed the install dir');

  const text = await runCli(['gc', '--manifest', v2, '--dir', dir]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Nothing was removed: run the same command with --yes/);
  assert.match(text.stdout, new RegExp(`\\(${expectedBytes} bytes\\)`));
  assert.deepEqual(await snapshot(dir), before);

  const wet = await runCli(['gc', '--manifest', v2, '--dir', dir, '--yes', '--json']);
  assert.equal(wet.code, 0, wet.stderr);
  const done = lastEvent(wet, 'gc');
  assert.equal(done.dryRun, false);
  assert.equal(done.bytesFreed, expectedBytes);
  for (const file of expectedGarbage.keys()) assert.equal(await exists(file), false, `${file} was not removed`);
  assert.equal(await exists(join(dir, 'extra')), false, 'the emptied folder of a removed file stays behind');
  for (const file of [neededPartial, neededRecord, userFile, userModel, join(dir, edited.path), join(dir, shared.path), join(staging, 'README')]) {
    assert.equal(await exists(file), true, `${file} was removed`);
  }
  assert.equal(sha256Hex(await readFile(join(dir, keep.path))), keep.sha256, 'the verified file the manifest needs changed');
  assert.equal(await exists(join(installed, 'keep.json')), true);
  assert.equal(await readFile(userFile, 'utf8'), 'mine');
  assert.equal(await exists(join(dir, '.modelhaul', 'lock')), false, 'gc left its lock behind');

  const again = await runCli(['gc', '--manifest', v2, '--dir', dir, '--json']);
  assert.deepEqual((lastEvent(again, 'gc').items as GcItemJson[]).map((item) => item.file), []);

  // Only --all-partials touches the partial download the manifest still needs.
  const all = await runCli(['gc', '--manifest', v2, '--dir', dir, '--yes', '--all-partials', '--json']);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(new Set((lastEvent(all, 'gc').items as GcItemJson[]).map((item) => item.file)), new Set([neededPartial, neededRecord]));
  assert.equal(await exists(neededPartial), false);
  assert.equal(sha256Hex(await readFile(join(dir, keep.path))), keep.sha256);
  assert.equal(origin.requestsFor('/keep.bin').length, 1, 'gc made a request');
});

test('gc --yes refuses while another live process holds the lock, and removes nothing', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'gc-locked');
  const dir = join(work, 'models');
  const a = artifact(origin, 'a', makeContent(8 * KiB, 7));
  const manifest = await writeManifestFile(join(work, 'm.json'), [a]);
  await install(manifest, dir);
  const orphan = join(dir, '.modelhaul', 'staging', 'orphan.partial');
  await writeFile(orphan, 'x');
  // This test process is alive and on this host: its lock must be respected.
  const lock = join(dir, '.modelhaul', 'lock');
  await writeFile(lock, JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), tool: 'modelhaul' }) + '\n');

  const result = await runCli(['gc', '--manifest', manifest, '--dir', dir, '--yes', '--json']);
  assert.equal(result.code, 1);
  assert.equal(lastEvent(result, 'error').code, 'LOCKED');
  assert.equal(await exists(orphan), true);
  assert.equal(await exists(lock), true, 'gc removed a lock it did not hold');
});

test('remove deletes the installed file, its record and its partial, and nothing of the other artifacts', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'remove');
  const dir = join(work, 'models');
  const a = artifact(origin, 'a', makeContent(16 * KiB, 8), 'llm/a.bin');
  const b = artifact(origin, 'b', makeContent(24 * KiB, 9), 'stt/b.bin');
  const c = artifact(origin, 'c', makeContent(4 * KiB, 10), 'llm/c.bin');
  const manifest = await writeManifestFile(join(work, 'm.json'), [a, b, c]);
  await install(manifest, dir);
  const paths = (id: string) => ({
    record: join(dir, '.modelhaul', 'installed', `${id}.json`),
    partial: join(dir, '.modelhaul', 'staging', `${id}.partial`),
    resume: join(dir, '.modelhaul', 'staging', `${id}.resume.json`),
  });
  await writeFile(paths('b').partial, randomBytes(KiB));
  await writeFile(paths('b').resume, resumeRecord(b, KiB));
  const sizes = await Promise.all([paths('a').record, paths('b').record, paths('b').partial, paths('b').resume].map(async (f) => (await stat(f)).size));
  const metadataBytes = sizes.reduce((x, y) => x + y, 0);

  const result = await runCli(['remove', 'a', 'b', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const event = lastEvent(result, 'remove');
  assert.equal(event.bytesFreed, a.size + b.size + metadataBytes);
  for (const file of [join(dir, a.path), join(dir, b.path), paths('a').record, paths('b').record, paths('b').partial, paths('b').resume]) {
    assert.equal(await exists(file), false, `${file} is still there`);
  }
  assert.equal(await exists(join(dir, 'stt')), false, 'the emptied stt/ folder stays behind');
  assert.equal(sha256Hex(await readFile(join(dir, c.path))), c.sha256, 'an artifact that was not named changed');
  assert.equal(await exists(paths('c').record), true);

  // Removing again is not an error; it says there was nothing.
  const again = await runCli(['remove', 'a', '--manifest', manifest, '--dir', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /was not installed/);

  // A file at an artifact's path that modelhaul did not install is not modelhaul's to delete.
  await writeFile(join(dir, a.path), 'a file the user put there');
  const foreign = await runCli(['remove', 'a', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(foreign.code, 0, foreign.stderr);
  assert.equal(await readFile(join(dir, a.path), 'utf8'), 'a file the user put there');
  const [removed] = lastEvent(foreign, 'remove').artifacts as Array<{ outcome: string; keptFile?: string }>;
  assert.equal(removed?.outcome, 'not-installed');
  assert.equal(removed?.keptFile, join(dir, a.path));
});

test('remove with an unknown id exits 2, names it and the known ids, and removes nothing', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'remove-unknown');
  const dir = join(work, 'models');
  const a = artifact(origin, 'alpha', makeContent(8 * KiB, 11));
  const b = artifact(origin, 'beta', makeContent(8 * KiB, 12));
  const manifest = await writeManifestFile(join(work, 'm.json'), [a, b]);
  await install(manifest, dir);
  const before = await snapshot(dir);

  const result = await runCli(['remove', 'alpha', 'gamma', '--manifest', manifest, '--dir', dir]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /NOT_FOUND.*"gamma"/);
  assert.match(result.stderr, /Known ids: alpha, beta/);
  assert.deepEqual(await snapshot(dir), before, 'alpha was removed although the command was refused');
});

test('import refuses a file with the wrong SHA-256 or size and changes nothing', async (t) => {
  const work = await useTempDir(t, 'import-wrong');
  const dir = join(work, 'models');
  const body = makeContent(64 * KiB, 13);
  const a: ManifestArtifact = { id: 'a', kind: 'llm', label: 'A', url: 'https://example.invalid/a.gguf', size: body.length, sha256: sha256Hex(body), path: 'llm/a.gguf' };
  const manifest = await writeManifestFile(join(work, 'm.json'), [a]);
  const wrong = join(work, 'wrong.gguf');
  await writeFile(wrong, makeContent(64 * KiB, 14));

  const mismatch = await runCli(['import', wrong, '--id', 'a', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(mismatch.code, 1);
  const error = lastEvent(mismatch, 'error');
  assert.equal(error.code, 'CHECKSUM_MISMATCH');
  assert.match(String(error.hint), /nothing was changed/);
  assert.equal(await exists(dir), false, 'a refused import created the install dir');
  assert.equal(sha256Hex(await readFile(wrong)), sha256Hex(makeContent(64 * KiB, 14)), 'the refused file was modified');

  // With a partial download of the artifact in the dir, a refused import leaves it as it was.
  await mkdir(join(dir, '.modelhaul', 'staging'), { recursive: true });
  await writeFile(join(dir, '.modelhaul', 'staging', 'a.partial'), body.subarray(0, 10 * KiB));
  await writeFile(join(dir, '.modelhaul', 'staging', 'a.resume.json'), resumeRecord(a, 10 * KiB));
  const before = await snapshot(dir);
  const moved = await runCli(['import', wrong, '--id', 'a', '--move', '--manifest', manifest, '--dir', dir]);
  assert.equal(moved.code, 1);
  assert.match(moved.stderr, /CHECKSUM_MISMATCH/);
  assert.deepEqual(await snapshot(dir), before);
  assert.equal(await exists(wrong), true, '--move removed a file that was refused');

  const short = join(work, 'short.gguf');
  await writeFile(short, body.subarray(0, 1000));
  const size = await runCli(['import', short, '--id', 'a', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(size.code, 1);
  assert.equal(lastEvent(size, 'error').code, 'SIZE_MISMATCH');
  assert.deepEqual(await snapshot(dir), before);

  const unknown = await runCli(['import', wrong, '--id', 'nope', '--manifest', manifest, '--dir', dir]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /"nope".*\n.*Known ids: a/);
  const missing = await runCli(['import', join(work, 'absent.gguf'), '--id', 'a', '--manifest', manifest, '--dir', dir]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /No file at/);
  assert.deepEqual(await snapshot(dir), before);
});

test('import copies a verified file into place, replacing a partial download, and install then has nothing to fetch', async (t) => {
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'import-copy');
  const dir = join(work, 'models');
  const body = makeContent(300 * KiB, 15);
  const a = artifact(origin, 'a', body, 'llm/a.gguf');
  const manifest = await writeManifestFile(join(work, 'm.json'), [a]);
  await mkdir(join(dir, '.modelhaul', 'staging'), { recursive: true });
  await writeFile(join(dir, '.modelhaul', 'staging', 'a.partial'), body.subarray(0, 100 * KiB));
  await writeFile(join(dir, '.modelhaul', 'staging', 'a.resume.json'), resumeRecord(a, 100 * KiB));
  const source = join(work, 'downloaded.gguf');
  await writeFile(source, body);

  const result = await runCli(['import', source, '--id', 'a', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const event = lastEvent(result, 'import');
  assert.equal(event.outcome, 'installed');
  assert.equal(event.method, 'copied');
  assert.equal(event.sourceRemoved, false);
  assert.deepEqual(await readFile(join(dir, a.path)), body);
  assert.deepEqual(await readFile(source), body, 'the source of a copy changed');
  assert.deepEqual(await readdir(join(dir, '.modelhaul', 'staging')), [], 'the partial, its record or a temp file is left in staging');
  const record = JSON.parse(await readFile(join(dir, '.modelhaul', 'installed', 'a.json'), 'utf8')) as { sha256: string; size: number; ino: string };
  assert.equal(record.sha256, a.sha256);
  assert.equal(record.ino, (await stat(join(dir, a.path), { bigint: true })).ino.toString());

  const status = await runCli(['status', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal((lastEvent(status, 'status').artifacts as Array<{ state: string }>)[0]?.state, 'installed');
  const installResult = await runCli(['install', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(installResult.code, 0, installResult.stderr);
  assert.equal(origin.requests.length, 0, 'install downloaded an artifact that import had installed');

  // Importing what is installed already changes nothing.
  const twice = await runCli(['import', source, '--id', 'a', '--move', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(twice.code, 0, twice.stderr);
  assert.equal(lastEvent(twice, 'import').outcome, 'already-installed');
  assert.equal(await exists(source), true);
});

test('import --move renames on the same file system: the installed file is the source inode', async (t) => {
  const work = await useTempDir(t, 'import-move');
  const dir = join(work, 'models');
  const body = makeContent(200 * KiB, 16);
  const a: ManifestArtifact = { id: 'a', kind: 'stt', label: 'A', url: 'https://example.invalid/a.bin', size: body.length, sha256: sha256Hex(body), path: 'stt/a.bin' };
  const manifest = await writeManifestFile(join(work, 'm.json'), [a]);
  const source = join(work, 'a.bin');
  await writeFile(source, body);
  const inode = (await stat(source)).ino;

  const result = await runCli(['import', source, '--id', 'a', '--move', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const event = lastEvent(result, 'import');
  assert.equal(event.method, 'renamed');
  assert.equal(event.sourceRemoved, true);
  assert.equal(await exists(source), false);
  assert.equal((await stat(join(dir, a.path))).ino, inode);
  assert.deepEqual(await readFile(join(dir, a.path)), body);
  assert.equal(await exists(join(dir, '.modelhaul', 'installed', 'a.json')), true);
});

test('import --move across file systems copies, verifies, installs, then removes the source', async (t) => {
  const shm = '/dev/shm';
  const work = await useTempDir(t, 'import-xdev');
  const other = await stat(shm).catch(() => undefined);
  if (!other?.isDirectory() || other.dev === (await stat(work)).dev) {
    t.skip('no second file system (/dev/shm) to move from');
    return;
  }
  const sourceDir = await mkdtemp(join(shm, 'modelhaul-import-'));
  t.after(() => rm(sourceDir, { recursive: true, force: true }));
  const dir = join(work, 'models');
  const body = makeContent(200 * KiB, 17);
  const a: ManifestArtifact = { id: 'a', kind: 'tts', label: 'A', url: 'https://example.invalid/a.onnx', size: body.length, sha256: sha256Hex(body), path: 'tts/a.onnx' };
  const manifest = await writeManifestFile(join(work, 'm.json'), [a]);
  const source = join(sourceDir, 'a.onnx');
  await writeFile(source, body);

  const result = await runCli(['import', source, '--id', 'a', '--move', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const event = lastEvent(result, 'import');
  assert.equal(event.method, 'copied');
  assert.equal(event.sourceRemoved, true);
  assert.equal(await exists(source), false);
  assert.deepEqual(await readFile(join(dir, a.path)), body);
});
