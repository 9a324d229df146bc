import { unlink } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { parseManifest } from '../manifest/parse.js';
import { findArtifacts } from '../manifest/find-artifacts.js';
import { pathCollisionKey } from '../manifest/path-safety.js';
import type { Artifact } from '../manifest/types.js';
import { installLayout, type InstallLayout } from '../store/layout.js';
import { acquireInstallLock } from '../store/install-lock.js';
import { readInstallRecord } from '../store/install-record.js';
import { fsyncDir } from '../store/durable-fs.js';
import { fsError, hasErrorCode } from '../store/fs-error.js';
import { lstatIfPresent, lstatInstalledFile, removeEmptyParents } from '../store/installed-file.js';
import { abortedError } from '../errors.js';
import type { GarbageKind } from './gc.js';

export interface RemoveOptions {
  signal?: AbortSignal;
  /** How long to wait for another process using the dir; as `acquireInstallLock`'s `timeoutMs`. */
  lockTimeoutMs?: number;
  /** Accept http URLs to any host in the manifest. Default true: removing downloads nothing. */
  allowHttp?: boolean;
}

/** One file {@link removeArtifacts} deleted. */
export interface RemovedFile {
  kind: GarbageKind;
  file: string;
  bytes: number;
}

export interface RemovedArtifact {
  id: string;
  label: string;
  path: string;
  /** `removed` when anything of the artifact was on disk, `not-installed` when nothing was. */
  outcome: 'removed' | 'not-installed';
  files: RemovedFile[];
  bytesFreed: number;
  /** A file at the artifact's path that was left alone because modelhaul has no record of installing it. */
  keptFile?: string;
}

export interface RemoveResult {
  bundle: string;
  dir: string;
  artifacts: RemovedArtifact[];
  bytesFreed: number;
}

/**
 * Uninstalls artifacts: the installed file, its install record, and any partial download and
 * resume record, under the install lock. Only a file named by the artifact's install record is
 * deleted (reached without following symbolic links, and not at a path another artifact of the
 * manifest uses); a file modelhaul did not install is left alone and reported in `keptFile`.
 *
 * Every id is checked before anything is touched.
 *
 * @throws {InstallError} `NOT_FOUND` naming the ids the manifest does not have (and the ones it
 *   has), `LOCKED` when another process holds the dir, `ABORTED`, or a file-system code.
 *
 * @example
 * ```ts
 * const result = await removeArtifacts(manifest, dir, ['llm-qwen2.5-0.5b-instruct-q4km']);
 * console.log(`freed ${result.bytesFreed} bytes`);
 * ```
 */
export async function removeArtifacts(
  manifest: unknown,
  dir: string,
  ids: readonly string[],
  options: RemoveOptions = {},
): Promise<RemoveResult> {
  const validated = parseManifest(manifest, { allowHttp: options.allowHttp ?? true });
  const artifacts = findArtifacts(validated, ids);
  const layout = installLayout(dir);
  const privateDir = await lstatIfPresent(layout.privateDir);
  if (!privateDir?.isDirectory()) {
    const nothing = await Promise.all(artifacts.map((artifact) => removeOne(layout, artifact, new Set(), false)));
    return { bundle: validated.name, dir: layout.dir, artifacts: nothing, bytesFreed: 0 };
  }
  const lock = await acquireInstallLock(layout.lockPath, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
  });
  try {
    const results: RemovedArtifact[] = [];
    for (const artifact of artifacts) {
      if (options.signal?.aborted) throw abortedError(options.signal, 'The removal was cancelled');
      // Paths of the other artifacts: an old install path that one of them uses now is theirs.
      const otherPaths = new Set(
        validated.artifacts.filter((other) => other.id !== artifact.id).map((other) => pathCollisionKey(other.path)),
      );
      results.push(await removeOne(layout, artifact, otherPaths, true));
    }
    for (const folder of [layout.stagingDir, layout.installedDir]) await fsyncDir(folder).catch(() => undefined);
    return { bundle: validated.name, dir: layout.dir, artifacts: results, bytesFreed: results.reduce((sum, r) => sum + r.bytesFreed, 0) };
  } finally {
    await lock.release();
  }
}

/**
 * Removes what there is of one artifact. With `apply` false (the dir has no modelhaul folder, so
 * there is nothing modelhaul installed) it only reports a file it leaves alone.
 */
async function removeOne(layout: InstallLayout, artifact: Artifact, otherPaths: ReadonlySet<string>, apply: boolean): Promise<RemovedArtifact> {
  const result: RemovedArtifact = { id: artifact.id, label: artifact.label, path: artifact.path, outcome: 'not-installed', files: [], bytesFreed: 0 };
  if (!apply) {
    const atPath = await lstatInstalledFile(layout.dir, artifact.path);
    if (atPath) result.keptFile = atPath.file;
    return result;
  }
  const remove = async (kind: GarbageKind, file: string, stats: BigIntStats): Promise<void> => {
    try {
      await unlink(file);
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT')) return;
      throw fsError(error, 'remove', file, artifact.id);
    }
    const bytes = Number(stats.size);
    result.files.push({ kind, file, bytes });
    result.bytesFreed += bytes;
  };

  const recordFile = layout.installRecordPath(artifact.id);
  const read = await readInstallRecord(recordFile);
  let installedPath: string | undefined;
  if (read.state === 'ok' && read.record.id === artifact.id) {
    installedPath = read.record.path;
    if (!otherPaths.has(pathCollisionKey(read.record.path))) {
      const found = await lstatInstalledFile(layout.dir, read.record.path);
      if (found) {
        // Removed before its record: a crash in between leaves a record without a file, which
        // status reports as missing and gc cleans up, never an unrecorded file.
        await remove('installed-file', found.file, found.stats);
        await removeEmptyParents(layout.dir, read.record.path);
      }
    }
  }
  if (installedPath !== artifact.path) {
    const atPath = await lstatInstalledFile(layout.dir, artifact.path);
    if (atPath) result.keptFile = atPath.file;
  }
  for (const [kind, file] of [
    ['install-record', recordFile],
    ['resume-record', layout.resumeRecordPath(artifact.id)],
    ['partial', layout.partialPath(artifact.id)],
  ] as const) {
    const stats = await lstatIfPresent(file);
    if (stats && !stats.isDirectory()) await remove(kind, file, stats);
  }
  if (result.files.length > 0) result.outcome = 'removed';
  return result;
}
