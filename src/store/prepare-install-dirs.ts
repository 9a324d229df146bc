import { mkdir } from 'node:fs/promises';
import { ensurePrivateDir } from './partial-file.js';
import { fsError } from './fs-error.js';
import type { InstallLayout } from './layout.js';

/**
 * Creates the install dir and modelhaul's private folders in it, replacing a planted symbolic
 * link in the private area with a real folder; what every writer runs before taking the lock.
 */
export async function prepareInstallDirs(layout: InstallLayout): Promise<void> {
  try {
    await mkdir(layout.dir, { recursive: true });
  } catch (error) {
    throw fsError(error, 'create the install dir', layout.dir);
  }
  await ensurePrivateDir(layout.privateDir);
  await ensurePrivateDir(layout.stagingDir);
  await ensurePrivateDir(layout.installedDir);
}
