import path from 'node:path';
import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import type { BigIntStats, Dirent } from 'node:fs';
import { checkRelativePath } from '../manifest/path-safety.js';
import { fsError, hasErrorCode } from './fs-error.js';

/**
 * Looking at and removing entries inside an install dir without ever following a symbolic link
 * (docs/rules.md rule 29). Records are data on disk and folders can be replaced by links, by a
 * careless script or a hostile user: a link at `.modelhaul/installed` or at `models/` must never
 * make `gc` or `remove` delete a file outside the install dir, or `install` adopt one.
 */

/** What is at a path below the install dir, reached one segment at a time with `lstat`. */
export type Reached =
  | { kind: 'absent' }
  /** The entry itself, which may be a file, a folder or a link (never followed). */
  | { kind: 'entry'; file: string; stats: BigIntStats }
  /** A folder on the way is a symbolic link: what lies behind it is outside modelhaul's reach. */
  | { kind: 'link-on-the-way'; at: string }
  /** Something other than a folder is where a folder should be. */
  | { kind: 'not-a-folder'; at: string };

/**
 * `lstat` of the entry at `target` below `root`, checking that every folder between `root` and it
 * is a real folder and not a link. `target` is a POSIX path relative to `root` (a manifest path,
 * already known to stay inside) or an absolute path inside `root` (one of the layout's paths);
 * anything outside `root` is `absent`. `root` itself is taken as given: it is the dir the user chose.
 *
 * @example
 * ```ts
 * const reached = await reachWithoutLinks(layout.dir, layout.installRecordPath('a'));
 * if (reached.kind === 'entry' && reached.stats.isFile()) await readInstallRecord(reached.file);
 * ```
 */
export async function reachWithoutLinks(root: string, target: string): Promise<Reached> {
  const parts = relativeParts(root, target);
  if (parts === undefined) return { kind: 'absent' };
  let current = path.resolve(root);
  for (const [index, part] of parts.entries()) {
    current = path.join(current, part);
    const stats = await lstatIfPresent(current);
    if (stats === undefined) return { kind: 'absent' };
    if (index === parts.length - 1) return { kind: 'entry', file: current, stats };
    if (stats.isSymbolicLink()) return { kind: 'link-on-the-way', at: current };
    if (!stats.isDirectory()) return { kind: 'not-a-folder', at: current };
  }
  return { kind: 'absent' };
}

/**
 * The regular file at a manifest path, reached without links; `undefined` when there is nothing
 * there, the path is not a safe manifest path, a folder on the way is a link, or the entry is not
 * a regular file (a link at the final path included).
 */
export async function lstatInstalledFile(dir: string, relativePath: string): Promise<{ file: string; stats: BigIntStats } | undefined> {
  if (checkRelativePath(relativePath) !== null) return undefined;
  const reached = await reachWithoutLinks(dir, relativePath);
  return reached.kind === 'entry' && reached.stats.isFile() ? reached : undefined;
}

/**
 * The entries of a folder of modelhaul's below `root` (`layout.stagingDir`, say), or none when
 * the folder is absent, is a link, or is reached through one: what is behind a link is not ours.
 */
export async function listFolderWithoutLinks(root: string, folder: string): Promise<Dirent[]> {
  const reached = await reachWithoutLinks(root, folder);
  if (reached.kind !== 'entry' || !reached.stats.isDirectory()) return [];
  try {
    return await readdir(reached.file, { withFileTypes: true });
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT') || hasErrorCode(error, 'ENOTDIR')) return [];
    throw fsError(error, 'list', reached.file);
  }
}

/**
 * Deletes the entry at `file`, which must be below `root`, only if it is reached without links and
 * is not a folder; checked again right before the unlink, so a folder swapped for a link since the
 * listing is not followed. Unlinking a link removes the link, never its target.
 *
 * @returns Whether something was removed (false when it was already gone or is not reachable).
 * @throws {InstallError} a file-system code when the unlink itself fails.
 */
export async function removeWithoutLinks(root: string, file: string, artifactId?: string): Promise<boolean> {
  const reached = await reachWithoutLinks(root, file);
  if (reached.kind !== 'entry' || reached.stats.isDirectory()) return false;
  try {
    await unlink(reached.file);
    return true;
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return false;
    throw fsError(error, 'remove', reached.file, artifactId);
  }
}

/**
 * Removes the folders an installed file was in, from the innermost outwards, as long as they are
 * empty (`rmdir` refuses a folder that is not, and a link is not a folder): removing
 * `llm/model.gguf` should not leave an empty `llm/` behind, and must never remove a folder that
 * still holds anything. Never throws.
 */
export async function removeEmptyParents(dir: string, relativePath: string): Promise<void> {
  const parts = relativePath.split('/').slice(0, -1);
  for (let depth = parts.length; depth > 0; depth--) {
    try {
      await rmdir(path.join(path.resolve(dir), ...parts.slice(0, depth)));
    } catch {
      return;
    }
  }
}

/** The segments of `target` below `root`; undefined when it is `root` itself or outside it. */
function relativeParts(root: string, target: string): string[] | undefined {
  const relative = path.isAbsolute(target) ? path.relative(path.resolve(root), target).split(path.sep).join('/') : target;
  const parts = relative.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length === 0 || parts.includes('..') || path.isAbsolute(relative)) return undefined;
  return parts;
}

/** `lstat` of an entry, or undefined when there is none; other failures become an InstallError. */
export async function lstatIfPresent(file: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(file, { bigint: true });
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT') || hasErrorCode(error, 'ENOTDIR')) return undefined;
    throw fsError(error, 'inspect', file);
  }
}
