import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { InstallError } from '../errors.js';
import { fileIdentity, isSameFile, type FileIdentity } from './file-identity.js';
import { fsError } from './fs-error.js';
import { parseHolder, type LockHolder } from './lock-holder.js';

/**
 * The file operations of the install lock: create a lock file exclusively, read it, and remove a
 * lock (or takeover guard) only if it is still the very file that was examined. What they decide
 * about holders lives in lock-holder.ts; the waiting and taking over in install-lock.ts.
 */

/** What is at the lock's path; `identity` comes from the same open file as the content. */
export type LockFileState =
  | { kind: 'absent' }
  | { kind: 'holder'; holder: LockHolder; identity: FileIdentity; mtimeMs: number }
  | { kind: 'unreadable'; identity: FileIdentity; mtimeMs: number };

/** A valid lock file is about 200 bytes; anything much larger is not one. */
const MAX_LOCK_FILE_BYTES = 4096;

/**
 * Creates the lock file with `O_EXCL` and writes `holder` into it; `false` when someone else's lock
 * file is in the way. On a failed write our half-written file is removed (unless a waiter already
 * judged it unreadable and replaced it).
 */
export async function createLockFile(lockPath: string, holder: LockHolder): Promise<boolean> {
  let handle;
  try {
    handle = await open(lockPath, 'wx');
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw lockFsError(error, 'create', lockPath);
  }
  try {
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
    // No directory fsync: after a power loss a vanished lock file is harmless, since its holder
    // is gone too.
    await handle.sync();
  } catch (error) {
    // The identity after the failed write, not before it: the write changed size and mtime.
    const written = await handle.stat({ bigint: true }).then(fileIdentity, () => undefined);
    await handle.close().catch(() => undefined);
    if (written !== undefined) await removeIfSame(lockPath, written).catch(() => undefined);
    throw lockFsError(error, 'write', lockPath);
  }
  await handle.close();
  return true;
}

/** Reads and validates the lock file. */
export async function readLockFile(lockPath: string): Promise<LockFileState> {
  let handle;
  try {
    handle = await open(lockPath, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { kind: 'absent' };
    throw lockFsError(error, 'read', lockPath);
  }
  try {
    const stats = await handle.stat({ bigint: true });
    if (!stats.isFile()) {
      throw new InstallError('FILESYSTEM', `The install lock ${lockPath} is not a regular file.`, {
        hint: `Remove ${lockPath} if no modelhaul process is running, then run the same command again.`,
        details: { lockPath },
      });
    }
    const buffer = Buffer.alloc(MAX_LOCK_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const holder = bytesRead > MAX_LOCK_FILE_BYTES ? undefined : parseHolder(buffer.subarray(0, bytesRead).toString('utf8'));
    const identity = fileIdentity(stats);
    const mtimeMs = Number(stats.mtimeMs);
    return holder === undefined ? { kind: 'unreadable', identity, mtimeMs } : { kind: 'holder', holder, identity, mtimeMs };
  } catch (error) {
    if (error instanceof InstallError) throw error;
    throw lockFsError(error, 'read', lockPath);
  } finally {
    await handle.close();
  }
}

/** Creates a file exclusively and returns its identity; undefined when one is already there. */
export async function createGuardFile(path: string): Promise<FileIdentity | undefined> {
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return undefined;
    throw lockFsError(error, 'create', path);
  }
  try {
    return fileIdentity(await handle.stat({ bigint: true }));
  } finally {
    await handle.close();
  }
}

/** `stat` of a file, undefined when it is gone. */
export async function statIfPresent(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw lockFsError(error, 'read', path);
  }
}

/**
 * Deletes the file at `path` only if it is still the file we examined. POSIX has no
 * compare-and-unlink, so the file is first renamed aside (atomic: afterwards no one else can reach
 * it by the path) and then compared. If it turns out to be a newer file, it is linked back, which
 * fails rather than overwrite should yet another file have appeared in that instant.
 *
 * This matters when a process was stopped (say, a laptop asleep) long enough for its takeover
 * guard to look stale: when it wakes and removes "the stale lock" it must not remove the live
 * lock another process created meanwhile.
 *
 * @returns Whether the file was removed.
 */
export async function removeIfSame(path: string, expected: FileIdentity): Promise<boolean> {
  const aside = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.removing`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw lockFsError(error, 'remove', path);
  }
  try {
    if (isSameFile(expected, await stat(aside, { bigint: true }))) {
      await unlink(aside);
      return true;
    }
    await putBack(aside, path);
    return false;
  } catch (error) {
    throw lockFsError(error, 'remove', path);
  }
}

/** Undoes the rename of {@link removeIfSame} without ever overwriting a file at `path`. */
async function putBack(aside: string, path: string): Promise<void> {
  try {
    await link(aside, path);
  } catch (error) {
    // EEXIST: a newer file already took the path; it wins and ours is dropped below.
    if (errnoCode(error) !== 'EEXIST') {
      // Hard links are unsupported here (FAT, some network file systems): rename back instead,
      // which could only overwrite a file created in the last microseconds.
      await rename(aside, path);
      return;
    }
  }
  await unlink(aside);
}

/** The shared file-system error mapping, naming the lock as what was being worked on. */
export function lockFsError(error: unknown, action: string, path: string): InstallError {
  return fsError(error, `${action} the install lock`, path);
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
