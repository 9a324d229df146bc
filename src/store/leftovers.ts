import path from 'node:path';
import { readdir } from 'node:fs/promises';
import type { InstallLayout } from './layout.js';
import { removeFile } from './durable-fs.js';

/** The temp files of {@link writeFileAtomic}: `.<record name>.<12 hex digits>.tmp`. */
const ATOMIC_WRITE_TEMP = /^\..+\.[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temp files of atomic record writes that a killed process never renamed into place.
 * Only the install lock's holder writes records, so, called under that lock, every such file is a
 * leftover: without this, each crash during a checkpoint would leave one behind for good. Best
 * effort: a file that cannot be removed costs a few hundred bytes, never the install.
 */
export async function removeInterruptedWrites(layout: InstallLayout): Promise<void> {
  for (const dir of [layout.stagingDir, layout.installedDir]) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (ATOMIC_WRITE_TEMP.test(name)) await removeFile(path.join(dir, name)).catch(() => undefined);
    }
  }
}

/**
 * Removes what staging still holds for an artifact that is installed and verified: a crash between
 * the rename into place and the removal of the resume record leaves that record behind (and the
 * next run skips the artifact), so the run that finds the file in place finishes the promotion's
 * bookkeeping. Best effort, like {@link removeInterruptedWrites}.
 */
export async function removeStagingOf(layout: InstallLayout, id: string): Promise<void> {
  await removeFile(layout.resumeRecordPath(id)).catch(() => undefined);
  await removeFile(layout.partialPath(id)).catch(() => undefined);
}
