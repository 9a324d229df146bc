import type { BigIntStats } from 'node:fs';
import { parseManifest } from '../manifest/parse.js';
import { findArtifacts } from '../manifest/find-artifacts.js';
import { pathCollisionKey } from '../manifest/path-safety.js';
import type { Artifact } from '../manifest/types.js';
import { installLayout, type InstallLayout } from '../store/layout.js';
import { acquireInstallLock } from '../store/install-lock.js';
import { readInstallRecord, recordMatchesFile } from '../store/install-record.js';
import { fsyncDir } from '../store/durable-fs.js';
import { lstatInstalledFile, reachWithoutLinks, removeEmptyParents, removeWithoutLinks } from '../store/no-follow.js';
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
  /**
   * A file at the artifact's path that was left alone: modelhaul has no record of installing it,
   * or it is no longer the file modelhaul installed (another size, mtime or inode).
   */
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
 * resume record, under the install lock. Only the file named by the artifact's install record is
 * deleted, and only while it is still the file modelhaul installed (same size, mtime and inode,
 * docs/rules.md rule 23), reached without following symbolic links (rule 29) and not at a path
 * another artifact of the manifest uses; any other file is left alone and reported in `keptFile`.
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
  const privateDir = await reachWithoutLinks(layout.dir, layout.privateDir);
  if (privateDir.kind !== 'entry' || !privateDir.stats.isDirectory()) {
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
      if (options.signal?.aborted) {
        throw abortedError(options.signal, 'The removal was cancelled', {
          hint: 'Artifacts removed so far stay removed, the others are untouched; run the same command again to finish.',
        });
      }
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
    // Reached again without links right before the unlink (docs/rules.md rule 29).
    if (!(await removeWithoutLinks(layout.dir, file, artifact.id))) return;
    const bytes = Number(stats.size);
    result.files.push({ kind, file, bytes });
    result.bytesFreed += bytes;
  };

  const recordEntry = await reachWithoutLinks(layout.dir, layout.installRecordPath(artifact.id));
  // A record is read only from modelhaul's own folder, never through a link.
  const read = recordEntry.kind === 'entry' && recordEntry.stats.isFile() ? await readInstallRecord(recordEntry.file) : undefined;
  let removedAt: string | undefined;
  if (read?.state === 'ok' && read.record.id === artifact.id && !otherPaths.has(pathCollisionKey(read.record.path))) {
    const found = await lstatInstalledFile(layout.dir, read.record.path);
    if (found && recordMatchesFile(read.record, found.stats)) {
      // Removed before its record: a crash in between leaves a record without a file, which
      // status reports as missing and gc cleans up, never an unrecorded file.
      await remove('installed-file', found.file, found.stats);
      await removeEmptyParents(layout.dir, read.record.path);
      removedAt = read.record.path;
    } else if (found) {
      result.keptFile = found.file;
    }
  }
  if (result.keptFile === undefined && removedAt !== artifact.path) {
    const atPath = await lstatInstalledFile(layout.dir, artifact.path);
    if (atPath) result.keptFile = atPath.file;
  }
  for (const [kind, file] of [
    ['install-record', layout.installRecordPath(artifact.id)],
    ['resume-record', layout.resumeRecordPath(artifact.id)],
    ['partial', layout.partialPath(artifact.id)],
  ] as const) {
    const reached = await reachWithoutLinks(layout.dir, file);
    if (reached.kind === 'entry' && !reached.stats.isDirectory()) await remove(kind, reached.file, reached.stats);
  }
  if (result.files.length > 0) result.outcome = 'removed';
  return result;
}
