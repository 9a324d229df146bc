import path from 'node:path';
import { lstat, rmdir } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { checkRelativePath } from '../manifest/path-safety.js';
import { fsError, hasErrorCode } from './fs-error.js';

/**
 * Looks at the file an install record names, without following any symbolic link on the way: a
 * record is data on disk, and a tampered one (or a link planted in a folder of the install dir)
 * must never make `gc` or `remove` delete a file outside the install dir.
 *
 * Returns the absolute path and `lstat` of the entry when `relativePath` is a safe manifest path,
 * every folder between the install dir and it is a real folder, and the entry itself is a regular
 * file; `undefined` when there is nothing there, or something modelhaul would not have put there.
 */
export async function lstatInstalledFile(
  dir: string,
  relativePath: string,
): Promise<{ file: string; stats: BigIntStats } | undefined> {
  if (checkRelativePath(relativePath) !== null) return undefined;
  const parts = relativePath.split('/');
  let current = path.resolve(dir);
  for (const [index, part] of parts.entries()) {
    current = path.join(current, part);
    let stats: BigIntStats;
    try {
      stats = await lstat(current, { bigint: true });
    } catch (error) {
      if (hasErrorCode(error, 'ENOENT') || hasErrorCode(error, 'ENOTDIR')) return undefined;
      throw error;
    }
    const last = index === parts.length - 1;
    if (last) return stats.isFile() ? { file: current, stats } : undefined;
    if (!stats.isDirectory()) return undefined;
  }
  return undefined;
}

/**
 * Removes the folders an installed file was in, from the innermost outwards, as long as they are
 * empty (`rmdir` refuses a folder that is not): removing `llm/model.gguf` should not leave an empty
 * `llm/` behind, and must never remove a folder that still holds anything. Never throws.
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


/** `lstat` of an entry, or undefined when there is none; other failures become an InstallError. */
export async function lstatIfPresent(file: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(file, { bigint: true });
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT') || hasErrorCode(error, 'ENOTDIR')) return undefined;
    throw fsError(error, 'inspect', file);
  }
}
