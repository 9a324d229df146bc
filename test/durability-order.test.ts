// The order of fdatasync, fsync and rename, observed rather than assumed: one install runs under
// strace and the system calls it made are checked against docs/rules.md rules 21 and 22.
//
// - Checkpoint: every rename of a resume-record temp file into place comes after an fdatasync (or
//   fsync) of the partial that started after the last write of every byte the record claims, and
//   after an fsync of the temp file itself; the staging folder is fsynced after the rename.
// - Promotion: the partial is synced after its last write and before its rename to the final
//   path; the final file's folder (and staging, which lost the entry) is fsynced after the rename;
//   the install record is renamed into place only after that, itself fsynced before and its
//   folder after; the resume record is unlinked last.
//
// Needs strace (Debian package `strace`) and permission to ptrace; skipped with a message otherwise.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { CLI_PATH, writeManifest, type ManifestArtifact } from './helpers/cli.js';
import { makeContent, sha256Hex } from './helpers/content.js';
import { inspectInstallDir } from './helpers/disk-state.js';
import { startOrigin } from './helpers/origin.js';
import { parseStrace, renamePaths, unlinkedPath, writtenRange, type Syscall } from './helpers/syscall-trace.js';
import { useTempDir } from './helpers/tmp.js';

const MiB = 1024 * 1024;
const TRACED = 'openat,close,write,pwrite64,pwritev,writev,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat';

function straceSkipReason(): string | undefined {
  const probe = spawnSync('strace', ['-f', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `strace is not installed (Debian package "strace"): ${probe.error.message}`;
  if (probe.status !== 0) return `strace cannot trace here (ptrace not permitted?): ${probe.stderr.trim()}`;
  return undefined;
}

interface Traced {
  code: number | null;
  stderr: string;
  calls: Syscall[];
}

async function traceInstall(trace: string, args: string[]): Promise<Traced> {
  // -y prints the path behind every fd; -s is large enough for a whole resume record.
  const child = spawn('strace', ['-f', '-y', '-s', '4096', '-o', trace, '-e', `trace=${TRACED}`, process.execPath, CLI_PATH, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  return { code, stderr, calls: parseStrace(await readFile(trace, 'utf8')) };
}

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
    const recordRenames = ok.filter((c) => renamePaths(c)?.to === record);
    checkpoints.set(artifact.id, recordRenames.length);
    let firstClaimChecked = false;
    for (const rename of recordRenames) {
      const temp = renamePaths(rename)!.from;
      const where = `${artifact.id}: resume record rename at trace line ${rename.startLine + 1}`;
      const tempWrites = ok.filter((c) => (c.name === 'write' || c.name === 'pwrite64') && c.fdPath === temp && c.endLine < rename.startLine);
      const lastWrite = tempWrites[tempWrites.length - 1];
      if (lastWrite === undefined) {
        problems.push(`${where}: nothing was written to the temp file ${temp}`);
        continue;
      }
      if (lastWrite.truncated) throw new Error(`${where}: strace cut the record text; raise -s`);
      if (!syncedBetween(temp, lastWrite.endLine, rename.startLine, ['fsync'])) problems.push(`${where}: the temp file was not fsynced between its write and the rename`);
      // The folder fsync that makes this rename durable comes before the artifact's next record
      // or its promotion: checkpoints of one file never overlap.
      const next = [...recordRenames, ...ok.filter((c) => renamePaths(c)?.from === partial)]
        .filter((c) => c.startLine > rename.endLine)
        .sort((a, b) => a.startLine - b.startLine)[0];
      if (!syncsOf(staging, ['fsync']).some((c) => c.startLine > rename.endLine && c.endLine < (next?.startLine ?? Infinity))) {
        problems.push(`${where}: the staging folder was not fsynced after the rename (and before the next record or the promotion)`);
      }

      const claimed = (JSON.parse(tempWrites.map((c) => c.strings[0] ?? '').join('')) as { segments: Array<{ start: number; end: number; done: number }> }).segments
        .filter((s) => s.done > 0)
        .map((s) => ({ from: s.start, to: s.start + s.done }));
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
  const bodies = { big: makeContent(20 * MiB + 4321, 61), small: makeContent(3 * MiB + 17, 62) };
  const artifacts: ManifestArtifact[] = [
    { id: 'big', kind: 'other', label: 'big', url: origin.url('/big.bin'), size: bodies.big.length, sha256: sha256Hex(bodies.big), path: 'big.bin' },
    { id: 'small', kind: 'other', label: 'small', url: origin.url('/small.bin'), size: bodies.small.length, sha256: sha256Hex(bodies.small), path: 'nested/deeper/small.bin' },
  ];
  origin.serve('/big.bin', bodies.big);
  origin.serve('/small.bin', bodies.small);
  const manifest = await writeManifest(work, artifacts);

  const traced = await traceInstall(join(work, 'trace.txt'), [
    'install', '--manifest', manifest, '--dir', dir, '--json', '--connections', '4', '--checkpoint-interval', '0.05',
  ]);
  assert.equal(traced.code, 0, traced.stderr);
  const inspection = await inspectInstallDir(dir, [
    { id: 'big', path: 'big.bin', body: bodies.big },
    { id: 'small', path: 'nested/deeper/small.bin', body: bodies.small },
  ]);
  assert.deepEqual(inspection.violations, []);
  assert.ok(origin.requestsFor('/big.bin').length >= 2, 'the big file was downloaded over several connections');

  const { problems, checkpoints } = checkOrder(traced.calls, dir, artifacts);
  assert.deepEqual(problems, []);
  // Not vacuous: several checkpoints of each file were observed and checked.
  for (const artifact of artifacts) assert.ok((checkpoints.get(artifact.id) ?? 0) >= 3, `${artifact.id}: ${checkpoints.get(artifact.id)} checkpoints traced`);
});
