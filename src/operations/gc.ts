import { readdir, unlink } from 'node:fs/promises';
import type { BigIntStats, Dirent } from 'node:fs';
import path from 'node:path';
import { parseManifest } from '../manifest/parse.js';
import { pathCollisionKey } from '../manifest/path-safety.js';
import { ARTIFACT_ID_PATTERN } from '../manifest/schema.js';
import type { Artifact, Manifest } from '../manifest/types.js';
import { installLayout, PARTIAL_SUFFIX, RESUME_RECORD_SUFFIX, type InstallLayout } from '../store/layout.js';
import { acquireInstallLock } from '../store/install-lock.js';
import { readInstallRecord, recordMatchesFile } from '../store/install-record.js';
import { readResumeRecord, recordMatchesArtifact } from '../store/resume-record.js';
import { fsyncDir } from '../store/durable-fs.js';
import { fsError, hasErrorCode } from '../store/fs-error.js';
import { lstatIfPresent, lstatInstalledFile, removeEmptyParents } from '../store/installed-file.js';
import { abortedError } from '../errors.js';
import { inspectArtifact } from '../store/artifact-state.js';

/** What kind of file a garbage item is. */
export type GarbageKind = 'partial' | 'resume-record' | 'install-record' | 'installed-file' | 'temp-file';

/** One file `gc` removes (or, in a dry run, would remove), and why. */
export interface GarbageItem {
  kind: GarbageKind;
  /** Absolute path. */
  file: string;
  /** Bytes it takes on disk (a sparse partial counts only its allocated blocks). */
  bytes: number;
  /** Why it is not needed, for people: `not in the manifest`, `corrupt resume record (...)`. */
  reason: string;
  /** The artifact it belongs to, when known. */
  id?: string;
}

/** Something `gc` looked at and deliberately left alone, and why; same shape as {@link GarbageItem}. */
export type KeptItem = GarbageItem;

/** What an install dir holds that the manifest does not need. */
export interface GarbagePlan {
  bundle: string;
  dir: string;
  /** In the order they are removed. */
  items: GarbageItem[];
  kept: KeptItem[];
  /** Sum of `items[].bytes`. */
  bytes: number;
}

export interface GarbageOptions {
  /** Also remove partial downloads the manifest still needs (they would be resumed otherwise). */
  allPartials?: boolean;
  /** Accept http URLs to any host in the manifest. Default true: gc never downloads anything. */
  allowHttp?: boolean;
}

export interface CollectGarbageOptions extends GarbageOptions {
  signal?: AbortSignal;
  /** How long to wait for another process using the dir; as {@link acquireInstallLock}. */
  lockTimeoutMs?: number;
}

/** The outcome of {@link collectGarbage}: `items` are the files that were removed. */
export interface GarbageCollection extends GarbagePlan {
  bytesFreed: number;
}

const TEMP_FILE = /^\..+\.tmp$/;

/**
 * Lists, without changing anything, what `dir` holds that `manifest` does not need:
 *
 * - partial downloads and resume records of artifacts that are not in the manifest, that are
 *   installed already, or whose record is corrupt, missing or made for another size or SHA-256;
 * - temp files left by an interrupted atomic write (`.*.tmp` in modelhaul's folders);
 * - install records of artifacts the manifest no longer lists (or lists at another path), corrupt
 *   install records, and the files those records name, but only when the file is still exactly
 *   the one modelhaul verified (same size, mtime and inode), it is reached without following a
 *   symbolic link, and no artifact of the manifest uses its path;
 * - with `allPartials`, the partial downloads the manifest still needs.
 *
 * Files the user put in the dir are never listed: only modelhaul's own folder is scanned, and an
 * installed file is only ever found through an install record. A verified file the manifest still
 * needs is never listed.
 *
 * @example
 * ```ts
 * const plan = await findGarbage(manifest, dir);
 * console.log(`${plan.items.length} files, ${plan.bytes} bytes could be freed`);
 * ```
 */
export async function findGarbage(manifest: unknown, dir: string, options: GarbageOptions = {}): Promise<GarbagePlan> {
  const validated = parseManifest(manifest, { allowHttp: options.allowHttp ?? true });
  return planGarbage(validated, installLayout(dir), options);
}

/**
 * Removes what {@link findGarbage} lists, under the install lock (the plan is made again once the
 * lock is held, so a concurrent install cannot have changed it), and reports the bytes freed.
 * A dir modelhaul never used is left untouched.
 *
 * @throws {InstallError} `LOCKED` when another process holds the dir's lock, `ABORTED`, or a
 *   file-system code when a file cannot be removed (what was removed before stays removed; the
 *   dir is consistent at every step).
 */
export async function collectGarbage(manifest: unknown, dir: string, options: CollectGarbageOptions = {}): Promise<GarbageCollection> {
  const validated = parseManifest(manifest, { allowHttp: options.allowHttp ?? true });
  const layout = installLayout(dir);
  if (!(await isDirectory(layout.privateDir))) {
    return { bundle: validated.name, dir: layout.dir, items: [], kept: [], bytes: 0, bytesFreed: 0 };
  }
  const lock = await acquireInstallLock(layout.lockPath, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
  });
  try {
    const plan = await planGarbage(validated, layout, options);
    let bytesFreed = 0;
    for (const item of plan.items) {
      if (options.signal?.aborted) throw abortedError(options.signal, 'The clean-up was cancelled');
      try {
        await unlink(item.file);
      } catch (error) {
        if (hasErrorCode(error, 'ENOENT')) continue;
        throw fsError(error, 'remove', item.file, item.id);
      }
      bytesFreed += item.bytes;
      if (item.kind === 'installed-file') {
        await removeEmptyParents(layout.dir, path.relative(layout.dir, item.file).split(path.sep).join('/'));
      }
    }
    for (const folder of [layout.stagingDir, layout.installedDir]) {
      if (await isDirectory(folder)) await fsyncDir(folder).catch(() => undefined);
    }
    return { ...plan, bytesFreed };
  } finally {
    await lock.release();
  }
}

async function planGarbage(manifest: Manifest, layout: InstallLayout, options: GarbageOptions): Promise<GarbagePlan> {
  const items: GarbageItem[] = [];
  const kept: KeptItem[] = [];
  const byId = new Map(manifest.artifacts.map((artifact) => [artifact.id, artifact]));
  await planStaging(layout, byId, options, items, kept);
  await planInstalled(layout, manifest, byId, items, kept);
  // The private folder itself holds only the lock; temp files there would be leftovers too.
  for (const entry of await listDir(layout.privateDir)) {
    if (TEMP_FILE.test(entry.name) && !entry.isDirectory()) await addTemp(path.join(layout.privateDir, entry.name), items);
  }
  return {
    bundle: manifest.name,
    dir: layout.dir,
    items,
    kept,
    bytes: items.reduce((sum, item) => sum + item.bytes, 0),
  };
}

/** Partial downloads and their resume records, grouped by artifact id. */
async function planStaging(
  layout: InstallLayout,
  byId: ReadonlyMap<string, Artifact>,
  options: GarbageOptions,
  items: GarbageItem[],
  kept: KeptItem[],
): Promise<void> {
  const ids = new Set<string>();
  for (const entry of await listDir(layout.stagingDir)) {
    const name = entry.name;
    if (TEMP_FILE.test(name)) {
      if (!entry.isDirectory()) await addTemp(path.join(layout.stagingDir, name), items);
    } else if (name.endsWith(RESUME_RECORD_SUFFIX)) {
      ids.add(name.slice(0, -RESUME_RECORD_SUFFIX.length));
    } else if (name.endsWith(PARTIAL_SUFFIX)) {
      ids.add(name.slice(0, -PARTIAL_SUFFIX.length));
    }
  }
  // Anything else in the staging folder, or named for an id no manifest can have, was not written
  // by modelhaul: left alone.
  for (const id of ids) {
    if (!ARTIFACT_ID_PATTERN.test(id)) ids.delete(id);
  }
  for (const id of [...ids].sort()) {
    const recordFile = layout.resumeRecordPath(id);
    const partialFile = layout.partialPath(id);
    const recordStats = await lstatIfPresent(recordFile);
    const partialStats = await lstatIfPresent(partialFile);
    // A folder with such a name is not something modelhaul made; the engine replaces it itself.
    const record = recordStats && !recordStats.isDirectory() ? recordStats : undefined;
    const partial = partialStats && !partialStats.isDirectory() ? partialStats : undefined;
    if (!record && !partial) continue;

    const reason = await stagingVerdict(layout, id, byId.get(id), partial);
    const list = (why: string, into: GarbageItem[]): void => {
      // The record goes first: a partial without a record is garbage too, the reverse would
      // briefly claim bytes that are gone.
      if (record) into.push({ kind: 'resume-record', file: recordFile, bytes: allocatedBytes(record), reason: why, id });
      if (partial) into.push({ kind: 'partial', file: partialFile, bytes: allocatedBytes(partial), reason: why, id });
    };
    if (reason !== undefined) list(reason, items);
    else if (options.allPartials) list('still needed by the manifest (removed because of --all-partials)', items);
    else list('still needed by the manifest: the next install resumes from it (--all-partials removes it)', kept);
  }
}

/** Why the partial and record of `id` are not needed, or undefined when the next install resumes from them. */
async function stagingVerdict(
  layout: InstallLayout,
  id: string,
  artifact: Artifact | undefined,
  partial: BigIntStats | undefined,
): Promise<string | undefined> {
  if (!artifact) return 'not in the manifest';
  if ((await inspectArtifact(layout, artifact)).state === 'installed') return 'the artifact is installed already';
  const read = await readResumeRecord(layout.resumeRecordPath(id));
  if (read.state === 'absent') return 'no resume record: the next install would start this file from zero';
  if (read.state === 'corrupt') return `corrupt resume record (${read.reason})`;
  if (!recordMatchesArtifact(read.record, artifact)) return 'made for another version of the artifact (size or SHA-256 changed)';
  if (!partial) return 'resume record without its partial file';
  if (!partial.isFile()) return 'the partial download is not a regular file';
  // The engine's own rule: a record that claims bytes beyond the end of the file is not trusted.
  const fileSize = Number(partial.size);
  if (!read.record.segments.every((s) => s.done === 0 || s.start + s.done <= fileSize)) {
    return 'the resume record claims more bytes than the partial file holds';
  }
  return undefined;
}

/** Install records of artifacts the manifest no longer lists there, and the files they name. */
async function planInstalled(
  layout: InstallLayout,
  manifest: Manifest,
  byId: ReadonlyMap<string, Artifact>,
  items: GarbageItem[],
  kept: KeptItem[],
): Promise<void> {
  const neededPaths = new Set(manifest.artifacts.map((artifact) => pathCollisionKey(artifact.path)));
  const listedFiles = new Set<string>();
  const entries = (await listDir(layout.installedDir)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const file = path.join(layout.installedDir, entry.name);
    if (entry.isDirectory()) continue;
    if (TEMP_FILE.test(entry.name)) {
      await addTemp(file, items);
      continue;
    }
    if (!entry.name.endsWith('.json')) continue;
    const id = entry.name.slice(0, -'.json'.length);
    if (!ARTIFACT_ID_PATTERN.test(id)) continue;
    const stats = await lstatIfPresent(file);
    if (!stats) continue;
    const recordBytes = allocatedBytes(stats);
    const read = await readInstallRecord(file);
    if (read.state === 'absent') continue;
    if (read.state === 'corrupt' || read.record.id !== id) {
      const why = read.state === 'corrupt' ? read.reason : `it names artifact ${JSON.stringify(read.record.id)}`;
      items.push({ kind: 'install-record', file, bytes: recordBytes, reason: `corrupt install record (${why})`, id });
      continue;
    }
    const record = read.record;
    const artifact = byId.get(id);
    if (artifact && artifact.path === record.path) continue; // still the artifact's record
    const reason = artifact ? `the manifest now installs ${id} at ${artifact.path}` : 'not in the manifest';

    // The installed file first: removed before its record, a crash in between leaves a record
    // that the next gc cleans up, never a file nobody knows modelhaul put there.
    if (neededPaths.has(pathCollisionKey(record.path))) {
      kept.push({ kind: 'installed-file', file: layout.finalPath(record.path), bytes: 0, reason: 'the manifest still uses this path', id });
    } else {
      const found = await lstatInstalledFile(layout.dir, record.path);
      if (found && !listedFiles.has(found.file)) {
        if (recordMatchesFile(record, found.stats)) {
          listedFiles.add(found.file);
          items.push({ kind: 'installed-file', file: found.file, bytes: allocatedBytes(found.stats), reason, id });
        } else {
          kept.push({
            kind: 'installed-file',
            file: found.file,
            bytes: allocatedBytes(found.stats),
            reason: 'changed since modelhaul installed it, so it may be yours now: remove it by hand if not',
            id,
          });
        }
      }
    }
    items.push({ kind: 'install-record', file, bytes: recordBytes, reason, id });
  }
}

async function addTemp(file: string, items: GarbageItem[]): Promise<void> {
  const stats = await lstatIfPresent(file);
  if (stats) items.push({ kind: 'temp-file', file, bytes: allocatedBytes(stats), reason: 'left by an interrupted write' });
}

/** Bytes a file takes: the allocated blocks of a sparse file, its size otherwise (and where blocks are unknown). */
function allocatedBytes(stats: BigIntStats): number {
  const size = Number(stats.size);
  const blocks = Number(stats.blocks) * 512;
  return blocks > 0 ? Math.min(size, blocks) : size;
}

async function listDir(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT') || hasErrorCode(error, 'ENOTDIR')) return [];
    throw fsError(error, 'list', dir);
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  const stats = await lstatIfPresent(dir);
  return stats?.isDirectory() === true;
}
