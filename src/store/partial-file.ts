import { constants, type BigIntStats } from 'node:fs';
import { lstat, mkdir, open, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import type { Artifact } from '../manifest/types.js';
import { fsError, hasErrorCode } from './fs-error.js';
import { removeFile } from './durable-fs.js';
import type { RecordRead } from './json-record.js';
import { durableBytes, recordMatchesArtifact, type ResumeRecord } from './resume-record.js';

/**
 * What the next install makes of a partial download: resume from `bytes` durable bytes, or discard
 * it (and its record) and start from zero, for `reason`.
 */
export type PartialVerdict =
  | { usable: true; bytes: number; record: ResumeRecord }
  | { usable: false; reason: string };

/**
 * The one rule for "how many bytes of this partial download are durable" (docs/rules.md rules 21
 * and 24): what its resume record claims, if the record is readable, was made for this very
 * artifact (same url, size and SHA-256), and the partial file is a plain regular file (no link, a
 * single hard link) that holds every byte the record claims. Anything else is worth nothing and
 * is discarded. The transfer resumes by it, `status` and the install plan report it, `gc` keeps or
 * removes by it, and a failure report says what is kept by it: none of them can disagree.
 *
 * `partial` is the `lstat` (or `fstat` of a handle opened without following links) of the partial
 * file, undefined when there is none.
 *
 * @example
 * ```ts
 * const verdict = judgePartial(await readResumeRecord(recordPath), artifact, await lstatIfPresent(partialPath));
 * if (verdict.usable) console.log(`${verdict.bytes} bytes kept for resuming`);
 * ```
 */
export function judgePartial(read: RecordRead<ResumeRecord>, artifact: Artifact, partial: BigIntStats | undefined): PartialVerdict {
  if (read.state === 'absent') return { usable: false, reason: 'no resume record: the next install would start this file from zero' };
  if (read.state === 'corrupt') return { usable: false, reason: `corrupt resume record (${read.reason})` };
  const record = read.record;
  if (!recordMatchesArtifact(record, artifact)) {
    return { usable: false, reason: 'made for another version of the artifact (size or SHA-256 changed)' };
  }
  if (partial === undefined) return { usable: false, reason: 'resume record without its partial file' };
  if (!isPlainFile(partial)) return { usable: false, reason: 'the partial download is not a plain regular file' };
  const fileSize = Number(partial.size);
  if (!record.segments.every((s) => s.done === 0 || s.start + s.done <= fileSize)) {
    return { usable: false, reason: 'the resume record claims more bytes than the partial file holds' };
  }
  return { usable: true, bytes: durableBytes(record.segments), record };
}

/**
 * Opens the partial file of an earlier run for resuming. Returns undefined when it is not there
 * or cannot be trusted: a symbolic link (O_NOFOLLOW refuses it), anything but a regular file, or
 * a file with more than one hard link (writing into it would change a file outside the staging
 * area). An untrusted entry is removed, which removes a planted link but never its target.
 */
export async function openExistingPartial(file: string, artifactId: string): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDWR | constants.O_NOFOLLOW);
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return undefined;
    if (hasErrorCode(error, 'ELOOP') || hasErrorCode(error, 'EISDIR') || hasErrorCode(error, 'ENXIO')) {
      await removeUntrusted(file, artifactId);
      return undefined;
    }
    throw fsError(error, 'open the partial download', file, artifactId);
  }
  const stats = await handle.stat({ bigint: true });
  if (!isPlainFile(stats)) {
    await handle.close();
    await removeUntrusted(file, artifactId);
    return undefined;
  }
  return handle;
}

/**
 * Creates a new, empty partial file exclusively (`wx`: O_CREAT|O_EXCL, which also refuses to
 * follow a planted symlink), removing whatever entry is in the way first (docs/rules.md rule 19).
 */
export async function createPartial(file: string, artifactId: string): Promise<FileHandle> {
  await removeUntrusted(file, artifactId);
  try {
    return await open(file, 'wx+', 0o644);
  } catch (error) {
    throw fsError(error, 'create the partial download', file, artifactId);
  }
}

function isPlainFile(stats: BigIntStats): boolean {
  return stats.isFile() && stats.nlink === 1n;
}

async function removeUntrusted(file: string, artifactId: string): Promise<void> {
  try {
    const stats = await lstat(file);
    if (stats.isDirectory()) await rmdir(file);
    else await unlink(file);
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return;
    throw fsError(error, 'remove an untrusted entry in the staging area', file, artifactId);
  }
}

/** Removes a partial file and its resume record: what a checksum or size mismatch leaves behind. */
export async function discardPartial(partialPath: string, recordPath: string): Promise<void> {
  await removeFile(recordPath);
  await removeFile(partialPath);
}

/**
 * Makes sure a private directory exists and is a real directory, not a planted symbolic link that
 * would send staged bytes somewhere else: a link there is removed (its target is left alone) and
 * a real directory made in its place.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    const stats = await lstat(dir);
    if (stats.isDirectory()) return;
    await unlink(dir);
  } catch (error) {
    if (!hasErrorCode(error, 'ENOENT')) throw fsError(error, 'prepare the folder', dir);
  }
  try {
    // Not recursive: its parent exists, and a recursive mkdir reports EROFS and EACCES as ENOENT.
    await mkdir(dir, { mode: 0o755 });
  } catch (error) {
    if (!hasErrorCode(error, 'EEXIST')) throw fsError(error, 'create the folder', dir);
  }
}
