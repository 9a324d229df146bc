// The order of fdatasync, fsync and rename, observed rather than assumed: one install runs under
// strace and the system calls it made are checked against RESUME-SEMANTICS rules 21 and 22.
//
// - Checkpoint: every rename of a resume-record temp file into place comes after an fdatasync (or
//   fsync) of the partial that started after the last write of every byte the record claims, and
//   after an fsync of the temp file itself; the staging folder is fsynced after the rename.
// - Promotion: the partial is synced after its last write and before its rename to the final
//   path; the final file's folder (and staging, which lost the entry) is fsynced after the rename;
//   the install record is renamed into place only after that, itself fsynced before and its
//   folder after; the resume record is unlinked last.
//
// The check is not vacuous: each file must have been checkpointed at least three times, whatever
// the speed of the machine. Checkpoints are by bytes only (never by time), and the engine pauses
// reading while more than three checkpoint distances wait for their fdatasync; so two successive
// records claim at most 3 checkpoint distances + 2 write batches (1 MiB + a 64 KiB network chunk)
// per connection more than each other, and the sizes below force a third record (see
// recordsAtLeast). A busy machine makes the checkpoints slower and larger, never fewer than that.
//
// Needs strace (Debian package `strace`) and permission to ptrace; skipped with a message otherwise.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { runCli, writeManifest, type ManifestArtifact } from './helpers/cli.js';
import { makeContent, sha256Hex } from './helpers/content.js';
import { inspectInstallDir } from './helpers/disk-state.js';
import { startOrigin } from './helpers/origin.js';
import { renamePaths, tracedRecords, unlinkedPath, writtenRange, type Syscall } from './helpers/syscall-trace.js';
import { readTrace, straceSkipReason, straceWrapper } from './helpers/traced-cli.js';
import { useTempDir } from './helpers/tmp.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const TRACED = 'openat,close,write,pwrite64,pwritev,writev,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat';
const CHECKPOINT_BYTES = 64 * KiB;
/** The most two successive records of a file can differ by, with `connections` streams. */
const largestStep = (connections: number): number => 3 * CHECKPOINT_BYTES + 2 * connections * (MiB + 64 * KiB);
/** Records a file of `size` bytes downloaded over `connections` streams gets at the very least. */
const recordsAtLeast = (size: number, connections: number): number => Math.ceil(size / largestStep(connections));

/** What went wrong, one sentence per broken rule; empty when the order is right. */
function checkOrder(calls: readonly Syscall[], dir: string, artifacts: readonly ManifestArtifact[]): { problems: string[]; checkpoints: Map<string, number> } {
  const problems: string[] = [];
  const checkpoints = new Map<string, number>();
  const ok = calls.filter((call) => call.result >= 0);
  const staging = join(dir, '.modelhaul', 'staging');
  const installedDir = join(dir, '.modelhaul', 'installed');
  const syncsOf = (path: string, names = ['fsync', 'fdatasync']): Syscall[] => ok.filter((c) => names.includes(c.name) && c.fdPath === path);
  /** A sync of `path` that started after `afterLine` and returned before `beforeLine`. */
  const syncedBetween = (path: string, afterLine: number, beforeLine: number, names?: string[]): boolean =>
    syncsOf(path, names).some((c) => c.startLine > afterLine && c.endLine < beforeLine);
  const syncedAfter = (path: string, afterLine: number): boolean => syncsOf(path, ['fsync']).some((c) => c.startLine > afterLine);

  for (const artifact of artifacts) {
    const partial = join(staging, `${artifact.id}.partial`);
    const record = join(staging, `${artifact.id}.resume.json`);
    const finalPath = join(dir, ...artifact.path.split('/'));
    const installRecord = join(installedDir, `${artifact.id}.json`);
    const partialWrites = ok.flatMap((c) => {
      const range = c.fdPath === partial ? writtenRange(c) : undefined;
      return range === undefined ? [] : [{ ...range, call: c }];
    });
    if (partialWrites.length === 0) problems.push(`${artifact.id}: no pwrite/pwritev of the partial was traced`);

    // Checkpoints (rule 21).
    const records = tracedRecords(calls, record);
    const recordRenames = records.map((r) => r.rename);
    checkpoints.set(artifact.id, records.length);
    let firstClaimChecked = false;
    for (const { rename, temp, tempWrites, claimed } of records) {
      const where = `${artifact.id}: resume record rename at trace line ${rename.startLine + 1}`;
      const lastWrite = tempWrites[tempWrites.length - 1];
      if (lastWrite === undefined) {
        problems.push(`${where}: nothing was written to the temp file ${temp}`);
        continue;
      }
      if (!syncedBetween(temp, lastWrite.endLine, rename.startLine, ['fsync'])) problems.push(`${where}: the temp file was not fsynced between its write and the rename`);
      // The folder fsync that makes this rename durable comes before the artifact's next record
      // or its promotion: checkpoints of one file never overlap.
      const next = [...recordRenames, ...ok.filter((c) => renamePaths(c)?.from === partial)]
        .filter((c) => c.startLine > rename.endLine)
        .sort((a, b) => a.startLine - b.startLine)[0];
      if (!syncsOf(staging, ['fsync']).some((c) => c.startLine > rename.endLine && c.endLine < (next?.startLine ?? Infinity))) {
        problems.push(`${where}: the staging folder was not fsynced after the rename (and before the next record or the promotion)`);
      }

      if (claimed.length === 0) continue;
      const covering = partialWrites.filter((w) => w.call.endLine < rename.startLine && claimed.some((r) => w.from < r.to && r.from < w.to));
      for (const range of claimed) {
        if (!isCovered(range, covering)) problems.push(`${where}: claims bytes ${range.from}-${range.to - 1}, which were not all written before it`);
      }
      const lastCovering = Math.max(...covering.map((w) => w.call.endLine));
      if (!syncedBetween(partial, lastCovering, rename.startLine)) {
        problems.push(`${where}: no fdatasync of the partial started after the last write of the bytes it claims (line ${lastCovering + 1}) and returned before the rename`);
      }
      if (!firstClaimChecked) {
        firstClaimChecked = true;
        if (!ok.some((c) => c.name === 'fdatasync' && c.fdPath === partial && c.endLine < rename.startLine)) {
          problems.push(`${where}: the first record that claims bytes is not preceded by an fdatasync of the partial`);
        }
      }
    }

    // Promotion (rule 22).
    const promote = ok.find((c) => renamePaths(c)?.from === partial && renamePaths(c)?.to === finalPath);
    if (promote === undefined) {
      problems.push(`${artifact.id}: the partial was never renamed to ${finalPath}`);
      continue;
    }
    const where = `${artifact.id}: promotion at trace line ${promote.startLine + 1}`;
    const lastWrite = Math.max(...partialWrites.map((w) => w.call.endLine));
    if (partialWrites.some((w) => w.call.startLine > promote.startLine)) problems.push(`${where}: the partial was written after its rename`);
    if (!syncedBetween(partial, lastWrite, promote.startLine, ['fsync'])) problems.push(`${where}: the partial was not fsynced after its last write and before its rename`);
    const finalDirSync = syncsOf(dirname(finalPath), ['fsync']).find((c) => c.startLine > promote.endLine);
    if (finalDirSync === undefined) problems.push(`${where}: ${dirname(finalPath)} was not fsynced after the rename`);
    const recordRename = ok.find((c) => renamePaths(c)?.to === installRecord);
    if (recordRename === undefined) {
      problems.push(`${where}: the install record was never renamed into place`);
      continue;
    }
    if (finalDirSync !== undefined && recordRename.startLine < finalDirSync.endLine) {
      problems.push(`${where}: the install record was renamed into place before the final rename was made durable`);
    }
    if (!syncedBetween(staging, promote.endLine, recordRename.startLine, ['fsync'])) {
      problems.push(`${where}: the staging folder was not fsynced after the partial left it (before the install record)`);
    }
    const recordTemp = renamePaths(recordRename)!.from;
    const recordTempWrites = ok.filter((c) => c.fdPath === recordTemp && c.name === 'write');
    const lastRecordWrite = recordTempWrites[recordTempWrites.length - 1];
    if (lastRecordWrite === undefined || !syncedBetween(recordTemp, lastRecordWrite.endLine, recordRename.startLine, ['fsync'])) {
      problems.push(`${where}: the install record's temp file was not written and fsynced before its rename`);
    }
    if (!syncedAfter(installedDir, recordRename.endLine)) problems.push(`${where}: the installed folder was not fsynced after the install record's rename`);
    const recordUnlink = ok.find((c) => unlinkedPath(c) === record);
    if (recordUnlink === undefined) problems.push(`${where}: the resume record was never removed`);
    else if (recordUnlink.startLine < recordRename.endLine) problems.push(`${where}: the resume record was removed before the install record was in place`);
    if (recordRenames.some((c) => c.startLine > promote.startLine)) problems.push(`${where}: a resume record was written after the promotion`);
  }
  return { problems, checkpoints };
}

function isCovered(range: { from: number; to: number }, writes: ReadonlyArray<{ from: number; to: number }>): boolean {
  const sorted = [...writes].sort((a, b) => a.from - b.from);
  let reached = range.from;
  for (const write of sorted) {
    if (write.from > reached) break;
    reached = Math.max(reached, write.to);
    if (reached >= range.to) return true;
  }
  return reached >= range.to;
}

test('an install under strace syncs data before the records that claim it and around every rename (rules 21, 22)', async (t) => {
  const skip = straceSkipReason();
  if (skip !== undefined) {
    t.skip(skip);
    return;
  }
  const origin = await startOrigin({ throttleBytesPerSecond: 8 * MiB });
  t.after(() => origin.close());
  const work = await useTempDir(t, 'durability');
  const dir = join(work, 'models');
  // `big` is split between four connections (several segments, each claimed by the records);
  // `small` is one stream into a nested folder, whose own folder must be fsynced.
  const bodies = { big: makeContent(20 * MiB + 4321, 61), small: makeContent(5 * MiB + 17, 62) };
  const artifacts: ManifestArtifact[] = [
    { id: 'big', kind: 'other', label: 'big', url: origin.url('/big.bin'), size: bodies.big.length, sha256: sha256Hex(bodies.big), path: 'big.bin' },
    { id: 'small', kind: 'other', label: 'small', url: origin.url('/small.bin'), size: bodies.small.length, sha256: sha256Hex(bodies.small), path: 'nested/deeper/small.bin' },
  ];
  origin.serve('/big.bin', bodies.big);
  origin.serve('/small.bin', bodies.small);
  const manifest = await writeManifest(work, artifacts);

  const log = join(work, 'trace.txt');
  const traced = await runCli(
    ['install', '--manifest', manifest, '--dir', dir, '--json', '--connections', '4', '--checkpoint-bytes', String(CHECKPOINT_BYTES), '--checkpoint-interval', '3600'],
    // Every fdatasync takes 30 ms, as on a real disk: on a fast one (or tmpfs) a record written
    // without waiting for its fdatasync would still land after it, and the order would look right.
    { wrapper: straceWrapper({ log, trace: TRACED, inject: ['fdatasync:delay_exit=30000'] }) },
  );
  assert.equal(traced.code, 0, traced.stderr);
  const calls = await readTrace(log);
  const inspection = await inspectInstallDir(dir, [
    { id: 'big', path: 'big.bin', body: bodies.big },
    { id: 'small', path: 'nested/deeper/small.bin', body: bodies.small },
  ]);
  assert.deepEqual(inspection.violations, []);
  assert.ok(origin.requestsFor('/big.bin').length >= 2, 'the big file was downloaded over several connections');

  const { problems, checkpoints } = checkOrder(calls, dir, artifacts);
  assert.deepEqual(problems, []);
  // Not vacuous: several checkpoints of each file were observed and checked, as many as the sizes force.
  for (const [artifact, connections] of [[artifacts[0]!, 4], [artifacts[1]!, 1]] as const) {
    const atLeast = recordsAtLeast(artifact.size, connections);
    assert.ok(atLeast >= 3, `${artifact.id}: the sizes force ${atLeast} checkpoints`);
    assert.ok((checkpoints.get(artifact.id) ?? 0) >= atLeast, `${artifact.id}: ${checkpoints.get(artifact.id)} checkpoints traced, at least ${atLeast} expected`);
  }
});
