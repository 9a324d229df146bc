// What modelhaul leaves on disk, and what it makes of what it finds there, through the CLI: resume
// records that are damaged or belong to another file, partial files without a record, files at
// the final path that it did not verify, and `status` / `verify` answering from that state.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, open, readdir, readFile, readlink, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { bundleStatus, loadManifestFile } from '../src/index.js';
import { runCli, spawnCli, waitForExit, writeManifest, type CliEvent, type CliResult, type ManifestArtifact } from './helpers/cli.js';
import { makeContent, sha256Hex } from './helpers/content.js';
import { dirPaths, resumeRecordFor, stackTraceLines, waitUntil } from './helpers/install-dir.js';
import { jsonInstallArgs, pathExists, serveArtifact } from './helpers/served-artifact.js';
import { startOrigin, type Origin } from './helpers/origin.js';
import { useTempDir } from './helpers/tmp.js';

const SIZE = 3 * 1024 * 1024;

interface Setup {
  origin: Origin;
  work: string;
  dir: string;
  body: Buffer;
  artifact: ManifestArtifact;
  manifest: string;
  finalPath: string;
}

async function setup(t: TestContext, prefix: string, seed: number): Promise<Setup> {
  const origin = await startOrigin();
  t.after(() => origin.close());
  const work = await useTempDir(t, prefix);
  const dir = join(work, 'models');
  const body = makeContent(SIZE, seed);
  const artifact = serveArtifact(origin, 'model', body);
  const manifest = await writeManifest(work, [artifact]);
  return { origin, work, dir, body, artifact, manifest, finalPath: join(dir, 'models', 'model.bin') };
}

function named(result: CliResult, name: string): CliEvent[] {
  return result.events.filter((event) => event.event === name);
}

function describeRun(result: CliResult): string {
  return result.stderr + JSON.stringify(result.events.filter((event) => event.event !== 'progress'));
}

/** Plants a staged download as an earlier run would have left it. */
async function plantPartial(dir: string, id: string, bytes: Buffer, record: string | object | undefined): Promise<void> {
  const paths = dirPaths(dir);
  await mkdir(paths.stagingDir, { recursive: true });
  await writeFile(paths.partial(id), bytes);
  if (record !== undefined) {
    await writeFile(paths.resumeRecord(id), typeof record === 'string' ? record : JSON.stringify(record));
  }
}

/** The record the origin's strong ETag for `body` would have left: `done` bytes claimed. */
function resumeRecord(artifact: ManifestArtifact, body: Buffer, done: number, overrides: object = {}): object {
  return resumeRecordFor(artifact, done, { etag: `"${sha256Hex(body).slice(0, 16)}"`, ...overrides });
}


/** The state `bundleStatus` reports, in-process: for checks along the way that need no CLI run. */
async function stateOf(s: Setup, manifest = s.manifest): Promise<string> {
  const status = await bundleStatus(await loadManifestFile(manifest), s.dir);
  return status.artifacts[0]!.state;
}

async function statusOf(s: Setup): Promise<Record<string, unknown>> {
  const result = await runCli(['status', '--manifest', s.manifest, '--dir', s.dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const status = result.events[0] as { artifacts: Array<Record<string, unknown>> } | undefined;
  assert.ok(status, result.stdout);
  return status.artifacts[0]!;
}

/** Flips one byte in place, as a failing disk or a careless tool would. */
async function flipByte(file: string, position: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, position);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, position);
  } finally {
    await handle.close();
  }
}

interface LeftoverCase {
  what: string;
  /** The partial file's bytes, given the artifact's content. */
  partial: (body: Buffer) => Buffer;
  /** The resume record to plant beside it (text, JSON, or none). */
  record: (artifact: ManifestArtifact, body: Buffer) => string | object | undefined;
  /** Whether the engine announces the discarded bytes with a restart event. */
  restart: boolean;
}

const HALF = SIZE / 2;

// Every way a staged download can be untrustworthy. None may be resumed: each must be thrown
// away and fetched again from zero with a plain GET, and the install must still succeed.
const leftovers: LeftoverCase[] = [
  { what: 'a record that is not JSON', partial: (b) => b.subarray(0, HALF), record: () => '{"format":"modelhaul-resume", "segm\u0000\u0000', restart: true },
  { what: 'a record with an unknown version', partial: (b) => b.subarray(0, HALF), record: (a, b) => resumeRecord(a, b, HALF, { version: 99 }), restart: true },
  { what: 'a record that is JSON but not a record', partial: (b) => b.subarray(0, HALF), record: () => '[1, 2, 3]', restart: true },
  {
    what: 'a record whose segments do not cover the file',
    partial: (b) => b.subarray(0, HALF),
    record: (a, b) => resumeRecord(a, b, 1024, { segments: [{ start: 0, end: 1024, done: 1024 }] }),
    restart: true,
  },
  { what: 'a record claiming more bytes than the partial has', partial: (b) => b.subarray(0, 1024 * 1024), record: (a, b) => resumeRecord(a, b, 2 * 1024 * 1024), restart: true },
  { what: 'a record made for another sha256', partial: (b) => b.subarray(0, HALF), record: (a, b) => resumeRecord(a, b, HALF, { sha256: sha256Hex(Buffer.from('another file')) }), restart: true },
  {
    what: 'a record made for another size',
    partial: (b) => b.subarray(0, HALF),
    record: (a, b) => resumeRecord(a, b, HALF, { size: SIZE + 1, segments: [{ start: 0, end: SIZE + 1, done: HALF }] }),
    restart: true,
  },
  // Bytes of another file: resuming onto them would make a checksum failure at best.
  { what: 'a partial file without a record', partial: () => makeContent(HALF, 99), record: () => undefined, restart: false },
];

test('damaged, foreign and record-less partial downloads are discarded and fetched again from zero', async (t) => {
  const origin = await startOrigin();
  t.after(() => origin.close());
  const work = await useTempDir(t, 'leftovers');
  const dir = join(work, 'models');
  const cases = leftovers.map((leftover, index) => {
    const body = makeContent(SIZE, 200 + index);
    return { ...leftover, id: `case${index}`, body, artifact: serveArtifact(origin, `case${index}`, body) };
  });
  for (const c of cases) await plantPartial(dir, c.id, c.partial(c.body), c.record(c.artifact, c.body));
  const manifest = await writeManifest(work, cases.map((c) => c.artifact));

  const result = await runCli(jsonInstallArgs(manifest, dir, '--concurrency', '4'));
  assert.equal(result.code, 0, describeRun(result));
  for (const c of cases) {
    const restarts = result.events.filter((e) => e.event === 'restart' && e.id === c.id);
    assert.equal(restarts.length, c.restart ? 1 : 0, `${c.what}: ${JSON.stringify(restarts)}`);
    if (c.restart) {
      assert.match(String(restarts[0]?.reason), /resume record/, c.what);
      assert.equal(restarts[0]?.discardedBytes, c.partial(c.body).length, c.what);
    }
    assert.deepEqual(origin.requestsFor(`/${c.id}.bin`).map((r) => r.range), [undefined], `${c.what}: one plain GET from zero`);
    assert.equal(result.events.find((e) => e.event === 'start' && e.id === c.id)?.offset, 0, c.what);
    assert.ok((await readFile(join(dir, 'models', `${c.id}.bin`))).equals(c.body), c.what);
    assert.equal(await pathExists(dirPaths(dir).partial(c.id)), false, c.what);
    assert.equal(await pathExists(dirPaths(dir).resumeRecord(c.id)), false, c.what);
  }
});

test('a partial whose record names another URL for the same content is resumed, with a plain Range: validators go only where they came from', async (t) => {
  const s = await setup(t, 'partial-moved-url', 34);
  // Made when the manifest pointed elsewhere: same id, size and SHA-256, so the same bytes.
  const oldUrl = s.origin.url('/old-location.bin');
  await plantPartial(s.dir, 'model', s.body.subarray(0, HALF), resumeRecord(s.artifact, s.body, HALF, { url: oldUrl }));
  const result = await runCli(jsonInstallArgs(s.manifest, s.dir));
  assert.equal(result.code, 0, describeRun(result));
  assert.deepEqual(named(result, 'restart'), [], 'nothing is discarded');
  const requests = s.origin.requestsFor('/model.bin');
  assert.deepEqual(requests.map((r) => [r.range, r.ifRange, r.status]), [[`bytes=${HALF}-`, undefined, 206]], 'the ETag of the old URL is not sent to the new one');
  assert.equal(s.origin.requestsFor('/old-location.bin').length, 0);
  assert.equal(named(result, 'installed')[0]?.resumedFrom, HALF);
  assert.ok((await readFile(s.finalPath)).equals(s.body));
});

test('a partial file longer than its record is cut back to the recorded bytes and resumed from there', async (t) => {
  const s = await setup(t, 'partial-longer', 25);
  const done = 1024 * 1024;
  // The tail past `done` was never made durable; garbage there must not end up in the file.
  const partial = Buffer.concat([s.body.subarray(0, done), makeContent(512 * 1024, 98)]);
  await plantPartial(s.dir, 'model', partial, resumeRecord(s.artifact, s.body, done));
  const result = await runCli(jsonInstallArgs(s.manifest, s.dir));
  assert.equal(result.code, 0, describeRun(result));
  assert.deepEqual(s.origin.requests.map((r) => [r.range, r.status]), [[`bytes=${done}-`, 206]]);
  assert.equal(named(result, 'start')[0]?.offset, done);
  assert.equal(named(result, 'installed')[0]?.resumedFrom, done);
  assert.ok((await readFile(s.finalPath)).equals(s.body));
});

test('a segmented partial with bytes past the end of the artifact is cut back, not left to fail every run', async (t) => {
  const s = await setup(t, 'partial-past-end', 33);
  const split = 1024 * 1024;
  // Two segments: the first has 1000 bytes, the second none; 100 stray bytes follow the end.
  const partial = Buffer.concat([s.body.subarray(0, 1000), Buffer.alloc(SIZE - 1000), Buffer.alloc(100, 7)]);
  const segments = [{ start: 0, end: split, done: 1000 }, { start: split, end: SIZE, done: 0 }];
  await plantPartial(s.dir, 'model', partial, resumeRecord(s.artifact, s.body, 0, { segments }));
  const result = await runCli(jsonInstallArgs(s.manifest, s.dir, '--connections', '1'));
  assert.equal(result.code, 0, describeRun(result));
  assert.equal(named(result, 'installed')[0]?.resumedFrom, 1000);
  assert.ok((await readFile(s.finalPath)).equals(s.body));
});

test('status reports a partial download with its bytes, in JSON and for a person', async (t) => {
  const s = await setup(t, 'status-partial', 26);
  const done = 1024 * 1024 + 17;
  await plantPartial(s.dir, 'model', s.body.subarray(0, done), resumeRecord(s.artifact, s.body, done));
  const status = await statusOf(s);
  assert.equal(status.state, 'partial');
  assert.equal(status.bytesOnDisk, done);
  const text = await runCli(['status', '--manifest', s.manifest, '--dir', s.dir]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /partial/);
  assert.match(text.stdout, / of /, 'a person sees how much of the file is there');
  assert.equal(s.origin.requests.length, 0, 'status never goes to the network');
});

test('installed: no requests on the next run, status from metadata, a touched file is re-hashed and adopted', async (t) => {
  const s = await setup(t, 'installed', 27);
  const first = await runCli(jsonInstallArgs(s.manifest, s.dir));
  assert.equal(first.code, 0, describeRun(first));
  const requestsAfterInstall = s.origin.requests.length;

  const second = await runCli(jsonInstallArgs(s.manifest, s.dir));
  assert.equal(second.code, 0, describeRun(second));
  assert.equal(s.origin.requests.length, requestsAfterInstall, 'an installed artifact costs no request');
  assert.deepEqual(named(second, 'skipped').map((e) => e.reason), ['installed']);
  assert.equal(named(second, 'start').length, 0);
  assert.equal((await statusOf(s)).state, 'installed');

  // A changed mtime means the file may have been written to: it is not trusted without a re-hash.
  const later = new Date(Date.now() + 60_000);
  await utimes(s.finalPath, later, later);
  const changed = await statusOf(s);
  assert.equal(changed.state, 'changed');
  assert.match(String(changed.reason), /modified/);

  const third = await runCli(jsonInstallArgs(s.manifest, s.dir));
  assert.equal(third.code, 0, describeRun(third));
  assert.equal(s.origin.requests.length, requestsAfterInstall, 'the right file is adopted, not downloaded again');
  assert.deepEqual(named(third, 'skipped').map((e) => e.reason), ['verified-existing']);
  assert.equal(named(third, 'verifying').length, 1);
  assert.equal(await stateOf(s), 'installed');
  assert.ok((await readFile(s.finalPath)).equals(s.body));
});

test('a damaged install record is not fatal: the file is re-hashed and adopted, with no download', async (t) => {
  const s = await setup(t, 'bad-install-record', 34);
  const first = await runCli(jsonInstallArgs(s.manifest, s.dir));
  assert.equal(first.code, 0, describeRun(first));
  await writeFile(dirPaths(s.dir).installRecord('model'), '{"format":"modelhaul-installed","version":1,"id":');
  assert.equal(await stateOf(s), 'changed');
  const requests = s.origin.requests.length;
  const again = await runCli(jsonInstallArgs(s.manifest, s.dir));
  assert.equal(again.code, 0, describeRun(again));
  assert.deepEqual(named(again, 'skipped').map((e) => e.reason), ['verified-existing']);
  assert.equal(s.origin.requests.length, requests);
  assert.equal(await stateOf(s), 'installed', 'the record was written again');
});

test('status answers from metadata alone: it does not read the file, verify does', async (t) => {
  const s = await setup(t, 'status-metadata', 28);
  const first = await runCli(jsonInstallArgs(s.manifest, s.dir));
  assert.equal(first.code, 0, describeRun(first));
  const before = await stat(s.finalPath, { bigint: true });
  await flipByte(s.finalPath, 12345);
  // Put the nanosecond mtime back (utimensat via touch), so that only the content differs.
  const seconds = before.mtimeNs / 1_000_000_000n;
  const nanos = (before.mtimeNs % 1_000_000_000n).toString().padStart(9, '0');
  execFileSync('touch', ['-m', '-d', `@${seconds}.${nanos}`, s.finalPath]);
  assert.equal((await stat(s.finalPath, { bigint: true })).mtimeNs, before.mtimeNs);

  assert.equal((await statusOf(s)).state, 'installed', 'status must not hash: same size, mtime and inode read as installed');
  const verify = await runCli(['verify', '--manifest', s.manifest, '--dir', s.dir]);
  assert.equal(verify.code, 1, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /\(model\): does NOT match/);
});

test('verify exits 0 when every file matches and 1 naming a corrupted or missing file', async (t) => {
  const origin = await startOrigin();
  t.after(() => origin.close());
  const work = await useTempDir(t, 'verify');
  const dir = join(work, 'models');
  const a = makeContent(SIZE, 31);
  const b = makeContent(200_000, 32);
  const manifest = await writeManifest(work, [serveArtifact(origin, 'alpha', a), serveArtifact(origin, 'beta', b)]);
  const installed = await runCli(jsonInstallArgs(manifest, dir));
  assert.equal(installed.code, 0, describeRun(installed));

  const clean = await runCli(['verify', '--manifest', manifest, '--dir', dir]);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /All 2 files match/);

  await flipByte(join(dir, 'models', 'beta.bin'), 100_000);
  const corrupt = await runCli(['verify', '--manifest', manifest, '--dir', dir, '--json']);
  assert.equal(corrupt.code, 1, corrupt.stdout + corrupt.stderr);
  const report = corrupt.events[0] as { ok: boolean; artifacts: Array<{ id: string; result: string; foundSha256?: string }> };
  assert.equal(report.ok, false);
  assert.deepEqual(report.artifacts.map((x) => [x.id, x.result]), [['alpha', 'ok'], ['beta', 'mismatch']]);
  const text = await runCli(['verify', '--manifest', manifest, '--dir', dir]);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /beta/);
  assert.doesNotMatch(text.stdout.split('\n').find((line) => line.includes('(alpha)')) ?? '', /NOT/);

  await writeFile(join(dir, 'models', 'beta.bin'), b);
  const alphaPath = join(dir, 'models', 'alpha.bin');
  await unlink(alphaPath);
  const missing = await runCli(['verify', '--manifest', manifest, '--dir', dir]);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /alpha.*missing/);
});

for (const sameSize of [true, false]) {
  test(`a file with the wrong content at the final path (${sameSize ? 'same' : 'other'} size) is replaced by the verified download`, async (t) => {
    const s = await setup(t, 'wrong-final', 29);
    await mkdir(dirname(s.finalPath), { recursive: true });
    const wrong = makeContent(sameSize ? SIZE : 1000, 97);
    await writeFile(s.finalPath, wrong);
    assert.equal(await stateOf(s), 'changed');
    const result = await runCli(jsonInstallArgs(s.manifest, s.dir));
    assert.equal(result.code, 0, describeRun(result));
    assert.equal(named(result, 'installed').length, 1);
    assert.equal(named(result, 'skipped').length, 0);
    assert.equal(s.origin.requests.length, 1);
    assert.ok((await readFile(s.finalPath)).equals(s.body));
    assert.equal(await stateOf(s), 'installed');
  });
}

test('a manifest that now wants another file at the same path replaces the installed one', async (t) => {
  const s = await setup(t, 'manifest-update', 30);
  const first = await runCli(jsonInstallArgs(s.manifest, s.dir));
  assert.equal(first.code, 0, describeRun(first));
  // Version 2 of the model: same size and path, new bytes at a new URL.
  const v2 = makeContent(SIZE, 31);
  const updated = serveArtifact(s.origin, 'model-v2', v2, { id: 'model', path: s.artifact.path });
  await mkdir(join(s.work, 'v2'));
  const manifest = await writeManifest(join(s.work, 'v2'), [updated]);
  assert.equal(await stateOf(s, manifest), 'changed');

  const result = await runCli(jsonInstallArgs(manifest, s.dir));
  assert.equal(result.code, 0, describeRun(result));
  assert.equal(named(result, 'installed').length, 1);
  assert.deepEqual(s.origin.requestsFor('/model-v2.bin').map((r) => r.range), [undefined]);
  assert.ok((await readFile(s.finalPath)).equals(v2));
  const verify = await runCli(['verify', '--manifest', manifest, '--dir', s.dir]);
  assert.equal(verify.code, 0, verify.stdout);
});

/** Resolves once process `pid` has `file` open: for a command that prints nothing until it is done. */
function waitForOpenFile(pid: number, file: string): Promise<true> {
  return waitUntil(async () => {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === file) return true;
    }
    return undefined;
  }, `process ${pid} to open ${file}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`verify interrupted by ${signal} exits ${signal === 'SIGINT' ? 130 : 143}`, { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
    const work = await useTempDir(t, 'verify-signal');
    const dir = join(work, 'models');
    const file = join(dir, 'big.bin');
    // Sparse, so the test writes nothing, but hashing it takes a while.
    const size = 8 * 1024 * 1024 * 1024;
    await mkdir(dir);
    const handle = await open(file, 'w');
    await handle.truncate(size);
    await handle.close();
    const artifact = { id: 'big', kind: 'other', label: 'Big', url: 'http://127.0.0.1:9/big.bin', size, sha256: 'ab'.repeat(32), path: 'big.bin' };
    const manifest = await writeManifest(work, [artifact]);

    const child = spawnCli(['verify', '--manifest', manifest, '--dir', dir]);
    t.after(() => child.kill('SIGKILL'));
    await waitForOpenFile(child.pid!, file);
    const stopAt = performance.now();
    child.kill(signal);
    const result = await waitForExit(child);
    assert.equal(result.code, signal === 'SIGINT' ? 130 : 143, result.stderr);
    assert.ok(performance.now() - stopAt < 3000, 'hashing stops promptly');
    assert.deepEqual(stackTraceLines(result.stderr), []);
  });
}
