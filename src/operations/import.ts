import { createHash, randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { lstat, open, rename, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { InstallError } from '../errors.js';
import { prepareInstallDirs } from '../store/prepare-install-dirs.js';
import { parseManifest } from '../manifest/parse.js';
import { findArtifacts } from '../manifest/find-artifacts.js';
import type { Artifact } from '../manifest/types.js';
import { installLayout, type InstallLayout } from '../store/layout.js';
import { acquireInstallLock } from '../store/install-lock.js';
import { promoteVerified } from '../store/promote.js';
import { removeFile } from '../store/durable-fs.js';
import { fsError, hasErrorCode } from '../store/fs-error.js';
import { abortedError } from '../errors.js';
import { inspectArtifact } from '../store/artifact-state.js';
import { hashFile } from '../hash/hash-file.js';

const COPY_CHUNK = 4 * 1024 * 1024;

/** Progress of {@link importArtifact}: first the source is hashed, then (unless moved) copied. */
export interface ImportProgress {
  phase: 'hashing' | 'copying';
  bytes: number;
  total: number;
}

export interface ImportOptions {
  /** The manifest id of the artifact the file is. */
  id: string;
  /**
   * Move the file instead of copying it: a rename on the same file system; elsewhere a copy,
   * and the source is removed only once the copy is verified and installed.
   */
  move?: boolean;
  signal?: AbortSignal;
  /** How long to wait for another process using the dir; as `acquireInstallLock`'s `timeoutMs`. */
  lockTimeoutMs?: number;
  /** Accept http URLs to any host in the manifest. Default true: importing downloads nothing. */
  allowHttp?: boolean;
  onProgress?: (progress: ImportProgress) => void;
}

export interface ImportResult {
  id: string;
  label: string;
  path: string;
  /** Absolute path of the installed file. */
  file: string;
  size: number;
  sha256: string;
  /** `already-installed`: the verified file was there already and nothing was changed. */
  outcome: 'installed' | 'already-installed';
  /** How the bytes got into place: `renamed` (a move on one file system), `copied`, or `none`. */
  method: 'renamed' | 'copied' | 'none';
  /** True when the source file is gone (moved, or copied and then removed). */
  sourceRemoved: boolean;
}

/**
 * Adopts a file that was downloaded some other way (a browser, a USB stick) as an installed
 * artifact. The file must have the manifest's size and SHA-256; it is hashed before anything in
 * the install dir changes, so a wrong file is refused with nothing changed. A right file goes
 * into the staging area and is promoted exactly like a download (fsync, rename into place,
 * directory fsync, install record), under the install lock. An earlier partial download of the
 * same artifact is superseded and removed.
 *
 * @throws {InstallError} `NOT_FOUND` for an unknown id (naming the known ids) or a source that is
 *   not a regular file, `SIZE_MISMATCH` or `CHECKSUM_MISMATCH` for the wrong file (nothing
 *   changed), `LOCKED`, `ABORTED`, or a file-system code.
 *
 * @example
 * ```ts
 * await importArtifact(manifest, dir, '/media/usb/ggml-base.en.bin', { id: 'stt-whisper-base-en' });
 * ```
 */
export async function importArtifact(manifest: unknown, dir: string, source: string, options: ImportOptions): Promise<ImportResult> {
  const validated = parseManifest(manifest, { allowHttp: options.allowHttp ?? true });
  const [artifact] = findArtifacts(validated, [options.id]) as [Artifact];
  const layout = installLayout(dir);
  const sourcePath = path.resolve(source);
  const base = { id: artifact.id, label: artifact.label, path: artifact.path, file: layout.finalPath(artifact.path), size: artifact.size };
  const alreadyInstalled: ImportResult = { ...base, sha256: artifact.sha256, outcome: 'already-installed', method: 'none', sourceRemoved: false };

  const before = await sourceStats(sourcePath, artifact);
  if (await isInstalled(layout, artifact)) return alreadyInstalled;

  // Hashed before the install dir is touched: a wrong file changes nothing at all.
  const total = artifact.size;
  const { sha256 } = await hashSource(sourcePath, artifact, options, (bytes) => options.onProgress?.({ phase: 'hashing', bytes, total }));
  const after = await sourceStats(sourcePath, artifact);
  if (!sameFile(before, after)) throw changedWhileRead(sourcePath, artifact);
  if (sha256 !== artifact.sha256) throw checksumMismatch(sourcePath, artifact, sha256);

  await prepareInstallDirs(layout);
  const lock = await acquireInstallLock(layout.lockPath, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
  });
  try {
    if (await isInstalled(layout, artifact)) return alreadyInstalled;
    const staged = await stage(layout, artifact, sourcePath, after, options);
    try {
      // The temp file replaces any earlier partial download of this artifact: the resume record
      // goes first, so that no moment exists where it describes bytes it did not checkpoint.
      await removeFile(layout.resumeRecordPath(artifact.id));
      await rename(staged.temp, layout.partialPath(artifact.id));
      staged.location = layout.partialPath(artifact.id);
    } catch (error) {
      await staged.undo();
      throw fsError(error, 'stage the imported file', layout.partialPath(artifact.id), artifact.id);
    }
    try {
      await promoteVerified({ artifact, layout, file: staged.handle, sha256 });
    } catch (error) {
      await staged.undo();
      throw error;
    }
    let sourceRemoved = staged.method === 'renamed';
    if (options.move && staged.method === 'copied') {
      // Only now, with the copy verified and durable in place, is the original expendable.
      await removeFile(sourcePath).catch((error: unknown) => {
        throw fsError(error, 'remove the imported file after copying it (the import itself succeeded)', sourcePath, artifact.id);
      });
      sourceRemoved = true;
    }
    return { ...base, sha256, outcome: 'installed', method: staged.method, sourceRemoved };
  } finally {
    await lock.release();
  }
}

interface Staged {
  /** Open on the staged bytes; promoteVerified closes it. */
  handle: FileHandle;
  temp: string;
  /** Where the bytes are now. */
  location: string;
  method: 'renamed' | 'copied';
  /** Puts a moved file back where the user had it, or removes a copy; never throws. */
  undo(): Promise<void>;
}

/**
 * Puts the verified bytes into a temp file in the staging folder: by renaming the source (a move
 * on one file system) or by copying it while hashing the copy again, so that what is promoted is
 * exactly what was verified even if the source changed in between.
 */
async function stage(layout: InstallLayout, artifact: Artifact, source: string, verified: BigIntStats, options: ImportOptions): Promise<Staged> {
  const temp = path.join(layout.stagingDir, `.${artifact.id}.import.${randomBytes(6).toString('hex')}.tmp`);
  if (options.move && (await lstat(source).then((stats) => stats.isFile(), () => false))) {
    let renamed = false;
    try {
      await rename(source, temp);
      renamed = true;
    } catch (error) {
      if (!hasErrorCode(error, 'EXDEV')) throw fsError(error, 'move the imported file into the install dir', source, artifact.id);
    }
    if (renamed) {
      const staged: Staged = {
        handle: await open(temp, 'r+'),
        temp,
        location: temp,
        method: 'renamed',
        undo: async () => {
          await staged.handle.close().catch(() => undefined);
          await rename(staged.location, source).catch(() => undefined);
        },
      };
      // A rename keeps the inode: if it is the file that was hashed, the hash still holds.
      const now = await staged.handle.stat({ bigint: true });
      if (!sameFile(verified, now)) {
        await staged.undo();
        throw changedWhileRead(source, artifact);
      }
      return staged;
    }
  }
  const handle = await open(temp, 'wx+', 0o644).catch((error: unknown) => {
    throw fsError(error, 'create the staged copy', temp, artifact.id);
  });
  const staged: Staged = {
    handle,
    temp,
    location: temp,
    method: 'copied',
    undo: async () => {
      await handle.close().catch(() => undefined);
      await removeFile(staged.location).catch(() => undefined);
    },
  };
  try {
    const sha256 = await copyAndHash(source, handle, artifact, options);
    if (sha256 !== artifact.sha256) throw changedWhileRead(source, artifact);
  } catch (error) {
    await staged.undo();
    throw error;
  }
  return staged;
}

async function copyAndHash(source: string, target: FileHandle, artifact: Artifact, options: ImportOptions): Promise<string> {
  const input = await open(source, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    let position = 0;
    for (;;) {
      if (options.signal?.aborted) throw abortedError(options.signal, 'The import was cancelled');
      const { bytesRead } = await input.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      if (position + bytesRead > artifact.size) throw changedWhileRead(source, artifact);
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      let written = 0;
      while (written < bytesRead) {
        const { bytesWritten } = await target.write(chunk, written, bytesRead - written, position + written);
        written += bytesWritten;
      }
      position += bytesRead;
      options.onProgress?.({ phase: 'copying', bytes: position, total: artifact.size });
    }
    if (position !== artifact.size) throw changedWhileRead(source, artifact);
    return hash.digest('hex');
  } catch (error) {
    throw error instanceof InstallError ? error : fsError(error, 'copy the imported file', source, artifact.id);
  } finally {
    await input.close();
  }
}

async function hashSource(
  source: string,
  artifact: Artifact,
  options: ImportOptions,
  onProgress: (bytes: number) => void,
): Promise<{ sha256: string }> {
  try {
    return await hashFile(source, { ...(options.signal ? { signal: options.signal } : {}), onProgress });
  } catch (error) {
    if (options.signal?.aborted) throw abortedError(options.signal, 'The import was cancelled');
    throw fsError(error, 'read the file to import', source, artifact.id);
  }
}

/** The source's identity; refuses what is not a regular file of the manifest's size. */
async function sourceStats(source: string, artifact: Artifact): Promise<BigIntStats> {
  let stats: BigIntStats;
  try {
    stats = await stat(source, { bigint: true });
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT') || hasErrorCode(error, 'ENOTDIR')) {
      throw new InstallError('NOT_FOUND', `No file at ${source}`, {
        hint: 'Check the path of the file to import.',
        artifactId: artifact.id,
        details: { field: 'file', path: source },
      });
    }
    throw fsError(error, 'read the file to import', source, artifact.id);
  }
  if (!stats.isFile()) {
    throw new InstallError('NOT_FOUND', `${source} is not a regular file`, {
      hint: 'Pass the path of the downloaded model file.',
      artifactId: artifact.id,
      details: { field: 'file', path: source },
    });
  }
  if (stats.size !== BigInt(artifact.size)) {
    throw new InstallError('SIZE_MISMATCH', `${source} is ${stats.size} bytes; ${artifact.id} is ${artifact.size} bytes`, {
      hint: 'This is not the file the manifest describes (or its download is incomplete); nothing was changed.',
      artifactId: artifact.id,
      details: { expected: artifact.size, found: Number(stats.size), path: source },
    });
  }
  return stats;
}

function sameFile(a: BigIntStats, b: BigIntStats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

function checksumMismatch(source: string, artifact: Artifact, found: string): InstallError {
  return new InstallError('CHECKSUM_MISMATCH', `${source} does not have the SHA-256 of ${artifact.id}: expected ${artifact.sha256}, found ${found}`, {
    hint: 'This is not the file the manifest describes (another version, or damaged); nothing was changed. Download it again, or run `modelhaul install`.',
    artifactId: artifact.id,
    details: { expected: artifact.sha256, found, path: source },
  });
}

function changedWhileRead(source: string, artifact: Artifact): InstallError {
  return new InstallError('FILESYSTEM', `${source} changed while it was being imported`, {
    hint: 'Wait until nothing writes to the file any more (a download still running?), then import it again.',
    artifactId: artifact.id,
    details: { path: source },
  });
}

async function isInstalled(layout: InstallLayout, artifact: Artifact): Promise<boolean> {
  return (await inspectArtifact(layout, artifact)).state === 'installed';
}
