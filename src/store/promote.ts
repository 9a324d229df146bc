import path from 'node:path';
import { lstat, mkdir, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { InstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import type { InstallLayout } from './layout.js';
import { fsyncDir, removeFile } from './durable-fs.js';
import { fsError, hasErrorCode } from './fs-error.js';
import { installRecordFor, statIdentity, writeInstallRecord, type InstallRecord } from './install-record.js';
import { reachWithoutLinks } from './no-follow.js';

/** How long a rename blocked by another program holding the file (Windows) is retried. */
const RENAME_RETRY_MS = 60_000;

export interface PromoteInput {
  artifact: Artifact;
  layout: InstallLayout;
  /** The open, fully written and verified partial file; closed by this function. */
  file: FileHandle;
  sha256: string;
}

/**
 * Moves a verified partial file into place, in the order that makes a crash at any point leave
 * either (partial, no final file) or (final file with the verified content): fsync and close the
 * file, rename it into place, fsync the directories, record the install, then drop the resume
 * record (docs/rules.md rule 22). The caller has compared the SHA-256 already.
 */
export async function promoteVerified(input: PromoteInput): Promise<InstallRecord> {
  const { artifact, layout, file, sha256 } = input;
  const partialPath = layout.partialPath(artifact.id);
  const finalPath = layout.finalPath(artifact.path);
  try {
    const { size } = await file.stat();
    if (size !== artifact.size) {
      throw new InstallError('SIZE_MISMATCH', `The partial file is ${size} bytes, expected ${artifact.size}`, {
        artifactId: artifact.id,
        details: { expected: artifact.size, found: size },
      });
    }
    await file.sync();
  } catch (error) {
    await file.close().catch(() => undefined);
    throw fsError(error, 'make the verified file durable', partialPath, artifact.id);
  }
  await file.close();
  await ensureParentDirs(layout.dir, artifact.path, artifact.id);
  await renameIntoPlace(partialPath, finalPath, artifact.id);
  try {
    await fsyncDir(path.dirname(finalPath));
    if (path.dirname(finalPath) !== layout.stagingDir) await fsyncDir(layout.stagingDir);
  } catch (error) {
    throw fsError(error, 'make the rename durable', path.dirname(finalPath), artifact.id);
  }
  const stats = await statIdentity(finalPath);
  if (!stats) throw new InstallError('FILESYSTEM', `${finalPath} vanished right after it was promoted`, { artifactId: artifact.id });
  const record = installRecordFor(artifact, sha256, stats);
  try {
    await writeInstallRecord(layout.installRecordPath(artifact.id), record);
    await removeFile(layout.resumeRecordPath(artifact.id));
  } catch (error) {
    throw fsError(error, 'record the verified install', layout.installRecordPath(artifact.id), artifact.id);
  }
  return record;
}

/**
 * Checks, without creating anything, that the folders between the install dir and a file are real
 * folders or absent: a symbolic link on the way would make the rename put the file outside the
 * install dir (docs/rules.md rule 29). Run before a download starts and again by
 * {@link ensureParentDirs} right before the rename.
 *
 * @throws {InstallError} `UNSAFE_PATH` naming the link, `FILESYSTEM` for a file where a folder
 *   should be.
 */
export async function checkParentFolders(dir: string, relativePath: string, artifactId: string): Promise<void> {
  const folder = relativePath.split('/').slice(0, -1).join('/');
  if (folder === '') return;
  const reached = await reachWithoutLinks(dir, folder);
  if (reached.kind === 'link-on-the-way') throw linkOnTheWay(reached.at, artifactId);
  if (reached.kind === 'not-a-folder') throw notAFolder(reached.at, artifactId);
  if (reached.kind === 'entry' && reached.stats.isSymbolicLink()) throw linkOnTheWay(reached.file, artifactId);
  if (reached.kind === 'entry' && !reached.stats.isDirectory()) throw notAFolder(reached.file, artifactId);
}

/**
 * Creates the folders between the install dir and a file, refusing any that is a symbolic link:
 * a link planted there would make the rename put a file outside the install dir.
 */
export async function ensureParentDirs(dir: string, relativePath: string, artifactId: string): Promise<void> {
  const parts = relativePath.split('/').slice(0, -1);
  let current = dir;
  for (const part of parts) {
    current = path.join(current, part);
    try {
      const stats = await lstat(current);
      if (stats.isSymbolicLink()) throw linkOnTheWay(current, artifactId);
      if (!stats.isDirectory()) throw notAFolder(current, artifactId);
    } catch (error) {
      if (error instanceof InstallError) throw error;
      if (!hasErrorCode(error, 'ENOENT')) throw fsError(error, 'inspect the folder', current, artifactId);
      try {
        await mkdir(current);
      } catch (mkdirError) {
        if (!hasErrorCode(mkdirError, 'EEXIST')) throw fsError(mkdirError, 'create the folder', current, artifactId);
      }
    }
  }
}

function linkOnTheWay(at: string, artifactId: string): InstallError {
  return new InstallError('UNSAFE_PATH', `${at} is a symbolic link; modelhaul will not install through it`, { artifactId, details: { path: at } });
}

function notAFolder(at: string, artifactId: string): InstallError {
  return new InstallError('FILESYSTEM', `${at} is in the way: it should be a folder`, { artifactId, details: { path: at } });
}

/**
 * Renames, retrying for up to a minute where another program (an antivirus, an indexer) briefly
 * holds the file on Windows (docs/rules.md rule 26). Elsewhere those errors are real.
 */
async function renameIntoPlace(from: string, to: string, artifactId: string): Promise<void> {
  const deadline = Date.now() + RENAME_RETRY_MS;
  for (let wait = 50; ; wait = Math.min(wait * 2, 2000)) {
    try {
      await rename(from, to);
      return;
    } catch (error) {
      const transient =
        process.platform === 'win32' &&
        (hasErrorCode(error, 'EPERM') || hasErrorCode(error, 'EBUSY') || hasErrorCode(error, 'EACCES'));
      if (!transient || Date.now() + wait > deadline) throw fsError(error, 'move the verified file into place', to, artifactId);
      await sleep(wait);
    }
  }
}
