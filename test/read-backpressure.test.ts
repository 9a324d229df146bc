// A network faster than the disk: modelhaul must not read arbitrarily far ahead of what is durable.
// Bytes written but not yet claimed by the resume record are what a crash or a power cut costs to
// fetch again, so the download pauses reading while more than three checkpoint distances of written
// bytes wait for their fdatasync (docs/RELIABILITY.md, "Re-fetch bound"). Here strace holds every
// fdatasync of the CLI for 200 ms (a disk that syncs slowly) while the origin sends as fast as
// loopback allows, and the trace shows, at every write of the partial, how far the written bytes
// were ahead of the bytes the resume record on disk claimed at that moment: exactly what a SIGKILL
// right then would have cost.
//
// Needs strace (Debian package `strace`) and permission to ptrace; skipped with a message otherwise.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, writeManifest } from './helpers/cli.js';
import { makeContent } from './helpers/content.js';
import { inspectInstallDir } from './helpers/disk-state.js';
import { dirPaths } from './helpers/install-dir.js';
import { assertExit, useOrigin } from './helpers/install-run.js';
import { jsonInstallArgs, serveArtifact } from './helpers/served-artifact.js';
import { tracedRecords, writtenRange } from './helpers/syscall-trace.js';
import { readTrace, straceSkipReason, straceWrapper } from './helpers/traced-cli.js';
import { useTempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;
const CHECKPOINT_BYTES = MiB;
/** Bytes modelhaul gathers into one write of the partial (at most, plus one network chunk). */
const WRITE_BATCH_BYTES = MiB + 64 * 1024;
/**
 * The documented bound for one connection: reading pauses while more than three checkpoint
 * distances wait for their fdatasync; one write batch is being written when it pauses, and one
 * more was gathered before the check.
 */
const BOUND = 3 * CHECKPOINT_BYTES + 2 * WRITE_BATCH_BYTES;

test('with a disk that syncs slowly and a fast origin, written bytes stay within the documented bound of the durable ones', async (t) => {
  const skip = straceSkipReason();
  if (skip !== undefined) {
    t.skip(skip);
    return;
  }
  const origin = await useOrigin(t);
  const work = await useTempDir(t, 'backpressure');
  const dir = join(work, 'models');
  const body = makeContent(12 * MiB + 5, 95);
  const artifact = serveArtifact(origin, 'model', body);
  const manifest = await writeManifest(work, [artifact]);
  const paths = dirPaths(dir);
  const partial = paths.partial('model');
  const log = join(work, 'trace.txt');

  const result = await runCli(
    jsonInstallArgs(manifest, dir, '--connections', '1', '--checkpoint-bytes', String(CHECKPOINT_BYTES), '--checkpoint-interval', '3600'),
    {
      wrapper: straceWrapper({
        log,
        trace: 'write,pwrite64,pwritev,fdatasync,fsync,rename,renameat,renameat2',
        inject: ['fdatasync:delay_exit=200000'],
      }),
    },
  );
  assertExit(result, 0);
  const inspection = await inspectInstallDir(dir, [{ id: 'model', path: artifact.path, body }]);
  assert.deepEqual(inspection.violations, []);
  assert.equal(inspection.artifacts[0]?.final, 'correct');

  const calls = await readTrace(log);
  const records = tracedRecords(calls, paths.resumeRecord('model'));
  // At every completed write: the bytes written so far (one stream: a prefix) minus the bytes the
  // resume record in place claimed.
  let written = 0;
  let worst = { lag: 0, line: 0 };
  for (const call of calls) {
    const range = call.fdPath === partial ? writtenRange(call) : undefined;
    if (range === undefined) continue;
    written = Math.max(written, range.to);
    const claimedRecords = records.filter((r) => r.rename.endLine < call.endLine);
    const claimed = Math.max(0, ...claimedRecords.flatMap((r) => r.claimed.map((c) => c.to)));
    if (written - claimed > worst.lag) worst = { lag: written - claimed, line: call.endLine + 1 };
  }
  assert.equal(written, body.length, 'every byte was written');
  assert.ok(
    worst.lag <= BOUND,
    `at trace line ${worst.line}, ${worst.lag} bytes were written but not claimed by the resume record: more than the bound of ${BOUND} (3 checkpoints of ${CHECKPOINT_BYTES} + 2 write batches)`,
  );
  // Not vacuous: the disk was slow enough that reading had to wait for it, again and again.
  assert.ok(worst.lag > 2 * CHECKPOINT_BYTES, `written bytes ran ${worst.lag} bytes ahead of the record at most: the syncs did not hold the download back`);
  const slowSyncs = calls.filter((c) => c.name === 'fdatasync' && c.fdPath === partial && c.result === 0);
  assert.ok(slowSyncs.length >= 4, `${slowSyncs.length} slow fdatasyncs of the partial`);
});
