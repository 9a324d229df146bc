import { constants, type BigIntStats } from 'node:fs';
import { lstat, mkdir, open, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { fsError, hasErrorCode } from './fs-error.js';
import { removeFile } from './durable-fs.js';

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
 * follow a planted symlink), removing whatever entry is in the way first (RESUME-SEMANTICS rule 19).
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
    await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw fsError(error, 'create the folder', dir);
  }
}

export { removeFile };
