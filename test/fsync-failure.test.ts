// A disk that fails an fdatasync, for real: strace makes the kernel return EIO to one fdatasync of
// the CLI process (RESUME-SEMANTICS rule 21, PostgreSQL's "fsyncgate"). After a failed fdatasync
// Linux may have dropped the dirty pages and marked them clean, so a later fsync of the same file
// can succeed without the data ever reaching the disk: nothing synced after the failure may be
// trusted. The test observes the system calls and the files left behind: no resume record may
// ever claim a byte that the last successful fdatasync did not cover, the partial is never synced
// again in that run, the run fails with FILESYSTEM (errno EIO), and the next run resumes from the
// bytes that were durable.
//
// Needs strace (Debian package `strace`) and permission to ptrace; skipped with a message otherwise.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, writeManifest } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { inspectInstallDir } from './helpers/disk-state.js';
import { dirPaths, readResumeRecord, recordedExtent } from './helpers/install-dir.js';
import { assertExit, describeRequests, eventsOf, failureOf, summarize, useOrigin } from './helpers/install-run.js';
import { jsonInstallArgs, serveArtifact } from './helpers/served-artifact.js';
import { renamePaths, tracedRecords, writtenRange, type Syscall } from './helpers/syscall-trace.js';
import { readTrace, straceSkipReason, straceWrapper } from './helpers/traced-cli.js';
import { useTempDir } from './helpers/tmp.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The end of the partial's bytes written (and returned) before trace line `line`: one stream, so a prefix. */
function writtenBefore(writes: ReadonlyArray<{ to: number; call: Syscall }>, line: number): number {
  return Math.max(0, ...writes.filter((w) => w.call.endLine < line).map((w) => w.to));
}

test('after an fdatasync fails with EIO no resume record claims bytes past the last good sync, and the partial is never synced again (rule 21)', async (t) => {
  const skip = straceSkipReason();
  if (skip !== undefined) {
    t.skip(skip);
    return;
  }
  // Throttled, so that the failure comes mid-download, with bytes written after it.
  const origin = await useOrigin(t, { throttleBytesPerSecond: 8 * MiB });
  const work = await useTempDir(t, 'fsync-eio');
  const dir = join(work, 'models');
  const body = makeContent(8 * MiB + 321, 91);
  const artifact = serveArtifact(origin, 'model', body);
  const manifest = await writeManifest(work, [artifact]);
  const paths = dirPaths(dir);
  const partial = paths.partial('model');
  const record = paths.resumeRecord('model');
  const log = join(work, 'trace.txt');
  // One stream, a checkpoint every 256 KiB and never by time: several good syncs come first.
  const args = jsonInstallArgs(manifest, dir, '--connections', '1', '--checkpoint-bytes', String(256 * KiB), '--checkpoint-interval', '3600');

  // strace counts per thread: the first libuv thread to reach its second fdatasync gets EIO. The
  // disk also writes slowly (as a failing one does), so a write of the partial is still under way
  // when the fdatasync fails: its completion must not start another checkpoint.
  const failedRun = await runCli(args, {
    wrapper: straceWrapper({
      log,
      trace: 'openat,close,write,pwrite64,pwritev,fsync,fdatasync,rename,renameat,renameat2',
      inject: ['fdatasync:error=EIO:when=2', 'pwritev:delay_enter=150000'],
    }),
  });
  assertExit(failedRun, 1);
  const failure = failureOf(failedRun, 'model');
  assert.equal(failure.code, 'FILESYSTEM', summarize(failedRun));
  assert.equal(failure.retryable, false);
  assert.equal((failure.error.details as { errno?: unknown }).errno, 'EIO');
  assert.match(String(failure.error.message), /fdatasync/);
  assert.deepEqual(eventsOf(failedRun, 'installed'), []);

  const calls = await readTrace(log);
  const partialSyncs = calls.filter((c) => (c.name === 'fdatasync' || c.name === 'fsync') && c.fdPath === partial);
  const failed = partialSyncs.find((c) => c.result < 0);
  assert.ok(failed !== undefined, `an fdatasync of the partial failed; syncs traced: ${partialSyncs.map((c) => `${c.name}=${c.result}`).join(', ')}`);
  const goodSyncs = partialSyncs.filter((c) => c.result === 0 && c.endLine < failed.startLine);
  assert.ok(goodSyncs.length >= 1, `${goodSyncs.length} good syncs before the failure: the failure is mid-download, not at the start`);

  // Never synced again: a second fsync could report success for pages the kernel dropped.
  const syncedAgain = partialSyncs.filter((c) => c.startLine > failed.startLine);
  assert.deepEqual(syncedAgain.map((c) => `${c.name} at trace line ${c.startLine + 1}`), [], 'the partial is not synced after the failed fdatasync');

  // What the last good sync made durable: the bytes written before it started.
  const writes = calls.flatMap((c) => {
    const range = c.fdPath === partial && c.result >= 0 ? writtenRange(c) : undefined;
    return range === undefined ? [] : [{ ...range, call: c }];
  });
  const lastGood = goodSyncs[goodSyncs.length - 1]!;
  const durable = writtenBefore(writes, lastGood.startLine);
  const writtenAtFailure = writtenBefore(writes, failed.startLine);
  assert.ok(durable > 0 && writtenAtFailure > durable, `bytes ${durable}-${writtenAtFailure - 1} were written but never made durable`);
  assert.ok(writtenBefore(writes, Infinity) < body.length, 'the download did not finish');

  const records = tracedRecords(calls, record);
  assert.ok(records.length >= 1, `${records.length} resume records were written`);
  for (const { rename, claimed } of records) {
    const extent = Math.max(0, ...claimed.map((r) => r.to));
    assert.ok(extent <= durable, `the record renamed at trace line ${rename.startLine + 1} claims ${extent} bytes; the last good fdatasync covered ${durable}`);
  }
  assert.ok(!calls.some((c) => renamePaths(c)?.from === partial), 'the partial was not promoted');

  // On disk: the record left for the next run claims only durable bytes, and right ones.
  const left = await readResumeRecord(record);
  assert.ok(left !== undefined, 'a resume record is kept');
  const claimedOnDisk = recordedExtent(left);
  assert.ok(claimedOnDisk > 0 && claimedOnDisk <= durable, `the kept record claims ${claimedOnDisk} bytes; ${durable} were durable`);
  const expected = [{ id: 'model', path: artifact.path, body }];
  const inspection = await inspectInstallDir(dir, expected);
  assert.deepEqual(inspection.violations, []);
  assert.equal(inspection.artifacts[0]?.final, 'absent');

  // A healthy disk again: the next run resumes from the durable bytes and installs the file.
  const requestsBefore = origin.requests.length;
  const next = await runCli(args);
  assertExit(next, 0);
  const requests = origin.requests.slice(requestsBefore);
  assert.equal(requests[0]?.range, `bytes=${claimedOnDisk}-`, describeRequests(requests));
  const done = await inspectInstallDir(dir, expected);
  assert.deepEqual(done.violations, []);
  assert.equal(done.artifacts[0]?.final, 'correct');
  assert.equal(done.artifacts[0]?.installRecord, 'valid');
});
