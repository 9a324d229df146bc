import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Free bytes for an unprivileged writer in the file system that holds `dir`, or in the one that
 * will hold it: before the first install the dir does not exist yet, so the nearest existing
 * ancestor is asked. `null` where `statfs` is not available or nothing on the path can be read.
 */
export async function freeBytesFor(dir: string): Promise<number | null> {
  for (let path = dir; ; path = dirname(path)) {
    try {
      const stats = await statfs(path);
      return Number(stats.bavail) * Number(stats.bsize);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(path) === path) return null;
    }
  }
}
