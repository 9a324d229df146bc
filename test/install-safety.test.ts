// What the CLI refuses before it touches disk or network (bad manifests, unsafe paths, not enough
// free space), what it does about links planted in the install dir (never write through them),
// and that an install dir with spaces and non-ASCII characters works like any other.
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { bundleStatus, loadManifestFile } from '../src/index.js';
import { runCli, writeManifest, type CliEvent, type CliResult, type ManifestArtifact } from './helpers/cli.js';
import { makeContent, sha256Hex } from './helpers/content.js';
import { dirPaths, resumeRecordFor, stackTraceLines } from './helpers/install-dir.js';
import { jsonInstallArgs, pathExists, serveArtifact } from './helpers/served-artifact.js';
import { startOrigin, type Origin } from './helpers/origin.js';
import { useSmallDisk, useTempDir } from './helpers/tmp.js';

const SIZE = 1024 * 1024;

async function origin(t: TestContext): Promise<Origin> {
  const started = await startOrigin();
  t.after(() => started.close());
  return started;
}

function named(result: CliResult, name: string): CliEvent[] {
  return result.events.filter((event) => event.event === name);
}

function describeRun(result: CliResult): string {
  return result.stderr + JSON.stringify(result.events.filter((event) => event.event !== 'progress'));
}

async function writeRawManifest(work: string, manifest: unknown): Promise<string> {
  const path = join(work, 'manifest.json');
  await writeFile(path, typeof manifest === 'string' ? manifest : JSON.stringify(manifest, null, 2));
  return path;
}

/** A snapshot of a directory tree: names and contents, to prove nothing outside was touched. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    result[path] = entry.isFile() ? sha256Hex(await readFile(path)) : entry.isDirectory() ? 'dir' : 'other';
  }
  return result;
}

interface Rejection {
  what: string;
  manifest: (artifact: ManifestArtifact) => unknown;
  code: 'MANIFEST_INVALID' | 'MANIFEST_VERSION' | 'INSECURE_URL';
  /** What stderr must say: the field, or the version needed. */
  says: RegExp;
}

const withArtifacts = (...artifacts: object[]): object => ({ schemaVersion: 1, name: 'bad', artifacts });

const rejections: Rejection[] = [
  {
    what: 'a sha256 that is not 64 hex characters',
    manifest: (a) => withArtifacts(a, { ...a, id: 'second', path: 'b.bin', sha256: 'abc' }),
    code: 'MANIFEST_INVALID',
    says: /artifacts\[1\]\.sha256/,
  },
  { what: 'a missing size', manifest: (a) => withArtifacts({ ...a, size: undefined }), code: 'MANIFEST_INVALID', says: /artifacts\[0\]\.size/ },
  { what: 'text that is not JSON', manifest: () => '{"schemaVersion": 1,', code: 'MANIFEST_INVALID', says: /not valid JSON/ },
  {
    what: 'an unknown schemaVersion',
    manifest: (a) => ({ ...withArtifacts(a), schemaVersion: 2 }),
    code: 'MANIFEST_VERSION',
    says: /schemaVersion 2 needs a newer modelhaul \(this is \d+\.\d+\.\d+, which reads schemaVersion 1\)/,
  },
  { what: 'a parent segment in a path', manifest: (a) => withArtifacts({ ...a, path: '../x' }), code: 'MANIFEST_INVALID', says: /artifacts\[0\]\.path/ },
  { what: 'an absolute path', manifest: (a) => withArtifacts({ ...a, path: '/abs' }), code: 'MANIFEST_INVALID', says: /artifacts\[0\]\.path/ },
  { what: 'a drive letter', manifest: (a) => withArtifacts({ ...a, path: 'C:\\x' }), code: 'MANIFEST_INVALID', says: /artifacts\[0\]\.path/ },
  { what: 'a backslash', manifest: (a) => withArtifacts({ ...a, path: 'a\\b' }), code: 'MANIFEST_INVALID', says: /artifacts\[0\]\.path/ },
  {
    what: 'two paths that differ only in case',
    manifest: (a) => withArtifacts({ ...a, path: 'Models/A.bin' }, { ...a, id: 'other', path: 'models/a.bin' }),
    code: 'MANIFEST_INVALID',
    says: /artifacts\[1\]\.path/,
  },
  { what: 'plain http to a remote host', manifest: (a) => withArtifacts({ ...a, url: 'http://example.com/x.bin' }), code: 'INSECURE_URL', says: /artifacts\[0\]\.url/ },
];

for (const [index, rejection] of rejections.entries()) {
  // Every other case with --json: a person reads stderr either way, a program reads the event.
  const json = index % 2 === 1;
  test(`install${json ? ' --json' : ''} refuses ${rejection.what}: exit 2 naming it, no stack trace, no request, no dir`, async (t) => {
    const server = await origin(t);
    const work = await useTempDir(t, 'bad-manifest');
    const dir = join(work, 'models');
    const manifest = await writeRawManifest(work, rejection.manifest(serveArtifact(server, 'model', makeContent(1000, 1))));
    const result = await runCli(json ? jsonInstallArgs(manifest, dir) : ['install', '--manifest', manifest, '--dir', dir]);
    assert.equal(result.code, 2, describeRun(result));
    assert.match(result.stderr, new RegExp(`${rejection.code}: .*${rejection.says.source}`));
    assert.match(result.stderr, /hint: \S/);
    assert.deepEqual(stackTraceLines(result.stderr + result.stdout), []);
    if (json) {
      const error = named(result, 'error')[0];
      assert.equal(error?.code, rejection.code, result.stdout);
      assert.match(String(error?.message), rejection.says);
    }
    assert.equal(server.requests.length, 0, 'nothing went over the network');
    assert.equal(await pathExists(dir), false, 'nothing was created on disk');
  });
}

test('status and verify refuse an invalid manifest with exit 2 too', async (t) => {
  const work = await useTempDir(t, 'bad-manifest-status');
  const manifest = await writeRawManifest(work, { schemaVersion: 1, name: 'x', artifacts: [{ id: 'a' }] });
  for (const command of ['status', 'verify']) {
    const result = await runCli([command, '--manifest', manifest, '--dir', join(work, 'models')]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /artifacts\[0\]\./);
    assert.deepEqual(stackTraceLines(result.stderr), []);
  }
  assert.equal(await pathExists(join(work, 'models')), false);
});

test('a manifest file that is not there is bad usage: exit 2 from every command that reads one, no stack trace', async (t) => {
  const work = await useTempDir(t, 'no-manifest');
  const missing = join(work, 'no-such-manifest.json');
  const dir = join(work, 'models');
  for (const args of [
    ['install', '--manifest', missing, '--dir', dir],
    ['status', '--manifest', missing, '--dir', dir],
    ['verify', '--manifest', missing, '--dir', dir],
    ['gc', '--manifest', missing, '--dir', dir],
    ['remove', 'a', '--manifest', missing, '--dir', dir],
    ['import', join(work, 'x.bin'), '--id', 'a', '--manifest', missing, '--dir', dir],
    ['manifest', 'check', missing],
  ]) {
    const result = await runCli(args);
    assert.equal(result.code, 2, `${args[0]}: ${result.stderr}`);
    assert.match(result.stderr, /NOT_FOUND: manifest file not found/, args[0]);
    assert.deepEqual(stackTraceLines(result.stderr), []);
  }
  assert.equal(await pathExists(dir), false);
});

test('not enough free space fails with DISK_FULL and the bytes needed, before any request', async (t) => {
  const server = await origin(t);
  const work = await useTempDir(t, 'disk-full');
  const dir = join(work, 'models');
  const small = serveArtifact(server, 'small', makeContent(1000, 2));
  const huge: ManifestArtifact = { ...small, id: 'huge', path: 'huge.bin', url: server.url('/huge.bin'), size: 10 ** 15, sha256: 'ab'.repeat(32) };
  const manifest = await writeManifest(work, [small, huge]);

  const result = await runCli(jsonInstallArgs(manifest, dir));
  assert.equal(result.code, 1, describeRun(result));
  assert.equal(server.requests.length, 0, 'the shortage is found before any download');
  const failed = named(result, 'failed');
  assert.deepEqual(failed.map((e) => [e.id, e.code]), [['small', 'DISK_FULL'], ['huge', 'DISK_FULL']]);
  const details = (failed[1]?.error as { details: Record<string, unknown> }).details;
  assert.equal(details.bytesNeeded, 10 ** 15 + 1000);
  assert.equal(typeof details.bytesAvailable, 'number');
  assert.match(String((failed[1]?.error as { message: string }).message), /1000000000001000 bytes needed/);

  assert.match(String(failed[1]?.hint), /[Ff]ree/);
});

interface Planted {
  what: string;
  /** Plants the link; returns the outside folder it points into. */
  plant: (dir: string, outside: string, artifact: ManifestArtifact, body: Buffer) => Promise<void>;
}

const planted: Planted[] = [
  {
    what: 'the private .modelhaul folder',
    plant: async (dir, outside) => {
      await mkdir(dir, { recursive: true });
      await symlink(outside, dirPaths(dir).privateDir);
    },
  },
  {
    what: 'the staging folder',
    plant: async (dir, outside, artifact, body) => {
      // A partial and a record in the link's target that a careless engine would resume onto.
      await writeFile(join(outside, 'model.partial'), body.subarray(0, SIZE / 2));
      await writeFile(join(outside, 'model.resume.json'), JSON.stringify(resumeRecordFor(artifact, SIZE / 2)));
      await mkdir(dirPaths(dir).privateDir, { recursive: true });
      await symlink(outside, dirPaths(dir).stagingDir);
    },
  },
  {
    what: 'the installed-records folder',
    plant: async (dir, outside) => {
      await mkdir(dirPaths(dir).privateDir, { recursive: true });
      await symlink(outside, dirPaths(dir).installedDir);
    },
  },
  {
    what: 'the partial file (with a record that claims half of it)',
    plant: async (dir, outside, artifact) => {
      await writeFile(join(outside, 'victim.bin'), makeContent(SIZE, 77));
      await mkdir(dirPaths(dir).stagingDir, { recursive: true });
      await symlink(join(outside, 'victim.bin'), dirPaths(dir).partial('model'));
      await writeFile(dirPaths(dir).resumeRecord('model'), JSON.stringify(resumeRecordFor(artifact, SIZE / 2)));
    },
  },
  {
    what: 'the final path itself',
    plant: async (dir, outside) => {
      await writeFile(join(outside, 'victim.bin'), makeContent(SIZE, 78));
      await mkdir(join(dir, 'models'), { recursive: true });
      await symlink(join(outside, 'victim.bin'), join(dir, 'models', 'model.bin'));
    },
  },
];


for (const { what, plant } of planted) {
  test(`a symbolic link planted at ${what} is replaced, never written through`, async (t) => {
    const server = await origin(t);
    const work = await useTempDir(t, 'planted-link');
    const dir = join(work, 'models');
    const outside = join(work, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep.txt'), 'not modelhaul’s business');
    const body = makeContent(SIZE, 3);
    const artifact = serveArtifact(server, 'model', body);
    const manifest = await writeManifest(work, [artifact]);
    await plant(dir, outside, artifact, body);
    const before = await snapshot(outside);

    const result = await runCli(jsonInstallArgs(manifest, dir));
    assert.equal(result.code, 0, describeRun(result));
    assert.deepEqual(await snapshot(outside), before, 'the link target is untouched');
    const finalPath = join(dir, 'models', 'model.bin');
    assert.ok((await lstat(finalPath)).isFile(), 'a real file is at the final path');
    assert.ok((await readFile(finalPath)).equals(body));
    for (const folder of [dirPaths(dir).privateDir, dirPaths(dir).stagingDir, dirPaths(dir).installedDir]) {
      assert.ok((await lstat(folder)).isDirectory(), `${folder} is a real folder`);
    }
    assert.equal((await bundleStatus(await loadManifestFile(manifest), dir)).complete, true);
  });
}

test('a symbolic link planted as a parent folder of the final path fails with UNSAFE_PATH before downloading and writes nothing outside', async (t) => {
  const server = await origin(t);
  const work = await useTempDir(t, 'planted-parent');
  const dir = join(work, 'install dir');
  const outside = join(work, 'outside');
  await mkdir(outside);
  await mkdir(dir);
  await symlink(outside, join(dir, 'models'));
  const body = makeContent(SIZE, 4);
  const manifest = await writeManifest(work, [serveArtifact(server, 'model', body)]);

  const result = await runCli(jsonInstallArgs(manifest, dir));
  assert.equal(result.code, 1, describeRun(result));
  const failed = named(result, 'failed')[0];
  assert.equal(failed?.code, 'UNSAFE_PATH');
  assert.match(String((failed?.error as { message: string }).message), /models is a symbolic link/);
  assert.match(String(failed?.hint), /symbolic link/);
  assert.deepEqual(await readdir(outside), [], 'nothing was written through the link');
  const text = await runCli(['install', '--manifest', manifest, '--dir', dir]);
  assert.equal(text.code, 1);
  assert.match(text.stdout + text.stderr, /UNSAFE_PATH/);
  assert.match(text.stdout + text.stderr, /Remove the symbolic link/, 'a person sees the hint');
  assert.deepEqual(await readdir(outside), []);
  assert.equal(server.bytesSent(), 0, 'the link was found before a byte was downloaded');

  // Once the link is gone, the next run installs.
  await unlink(join(dir, 'models'));
  const retry = await runCli(jsonInstallArgs(manifest, dir));
  assert.equal(retry.code, 0, describeRun(retry));
  assert.ok((await readFile(join(dir, 'models', 'model.bin'))).equals(body));
});

test('an install dir with spaces and non-ASCII characters works for install, status and verify', async (t) => {
  const server = await origin(t);
  const work = await useTempDir(t, 'unicode');
  const dir = join(work, 'my models', 'modèles ü 模型 🎙');
  const body = makeContent(SIZE, 5);
  const manifest = await writeManifest(work, [serveArtifact(server, 'voice', body, { path: 'stt/ggml base.en ü.bin' })]);

  const result = await runCli(jsonInstallArgs(manifest, dir));
  assert.equal(result.code, 0, describeRun(result));
  assert.equal(named(result, 'plan')[0]?.dir, dir);
  assert.ok((await readFile(join(dir, 'stt', 'ggml base.en ü.bin'))).equals(body));
  const status = await runCli(['status', '--manifest', manifest, '--dir', dir]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /installed/);
  assert.ok(status.stdout.includes(dir), 'the dir is shown as given');
  const verify = await runCli(['verify', '--manifest', manifest, '--dir', dir]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
});


test('a right file already at the final path is adopted even when the disk could not hold a second copy', async (t) => {
  const disk = (await useSmallDisk(t, 'small-disk', 16))?.disk;
  if (disk === undefined) return;
  const server = await origin(t);
  const work = await useTempDir(t, 'adopt-full-disk');
  const body = makeContent(10 * 1024 * 1024, 6);
  const manifest = await writeManifest(work, [serveArtifact(server, 'model', body)]);
  const dir = join(disk, 'models');
  // Copied in by hand (no install record), leaving less free space than the file's size.
  await mkdir(join(dir, 'models'), { recursive: true });
  await writeFile(join(dir, 'models', 'model.bin'), body);

  const result = await runCli(jsonInstallArgs(manifest, dir));
  assert.equal(result.code, 0, describeRun(result));
  assert.deepEqual(named(result, 'skipped').map((e) => e.reason), ['verified-existing']);
  assert.equal(server.requests.length, 0);
});
