import path from 'node:path';
import { mkdir, stat } from 'node:fs/promises';
import { ensurePrivateDir } from './partial-file.js';
import { fsError, hasErrorCode } from './fs-error.js';
import type { InstallLayout } from './layout.js';

/**
 * Creates the install dir and modelhaul's private folders in it, replacing a planted symbolic
 * link in the private area with a real folder; what every writer runs before taking the lock.
 *
 * @throws {InstallError} `PERMISSION_DENIED` when a folder may not be created (no rights, a
 *   read-only file system), `FILESYSTEM` or `DISK_FULL` otherwise, naming the folder.
 */
export async function prepareInstallDirs(layout: InstallLayout): Promise<void> {
  await createFolders(layout.dir);
  await ensurePrivateDir(layout.privateDir);
  await ensurePrivateDir(layout.stagingDir);
  await ensurePrivateDir(layout.installedDir);
}

/**
 * `mkdir -p`, one level at a time. Node's recursive mkdir reports every failure on the way as
 * ENOENT (a read-only parent included), which would tell a person "no such file" instead of
 * "not allowed"; creating each missing level on its own keeps the real reason.
 */
async function createFolders(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    try {
      await stat(current);
      break;
    } catch (error) {
      if (!hasErrorCode(error, 'ENOENT')) throw fsError(error, 'create the install dir', dir);
    }
    missing.unshift(current);
    if (path.dirname(current) === current) break;
  }
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (error) {
      if (!hasErrorCode(error, 'EEXIST')) throw fsError(error, 'create the install dir', folder);
    }
  }
}
