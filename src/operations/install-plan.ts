import { statfs } from 'node:fs/promises';
import { InstallError } from '../errors.js';
import type { PlannedArtifact } from '../events.js';
import type { Artifact } from '../manifest/types.js';
import { inspectArtifact } from '../store/artifact-state.js';
import type { InstallLayout } from '../store/layout.js';

/**
 * What an install will do with each artifact, decided from the disk before any network traffic:
 * skip what is installed, check a file found in place, resume a partial, or fetch.
 */
export async function planInstall(layout: InstallLayout, artifacts: readonly Artifact[]): Promise<PlannedArtifact[]> {
  return Promise.all(
    artifacts.map(async (artifact): Promise<PlannedArtifact> => {
      const base = { id: artifact.id, label: artifact.label, kind: artifact.kind, size: artifact.size, path: artifact.path };
      const state = await inspectArtifact(layout, artifact);
      switch (state.state) {
        case 'installed':
          return { ...base, action: 'skip', bytesOnDisk: artifact.size };
        case 'changed':
          return { ...base, action: state.sameSize ? 'check-existing' : 'fetch', bytesOnDisk: 0 };
        case 'partial':
          return { ...base, action: 'resume', bytesOnDisk: state.bytes };
        case 'missing':
          return { ...base, action: 'fetch', bytesOnDisk: 0 };
      }
    }),
  );
}

/**
 * Compares free space with the bytes still to download (rule 27), before any download starts, so
 * that a full disk is reported with the number of bytes to free instead of after an hour.
 */
export async function spaceShortage(layout: InstallLayout, planned: readonly PlannedArtifact[]): Promise<InstallError | undefined> {
  const needed = planned.reduce((sum, p) => sum + p.size - p.bytesOnDisk, 0);
  if (needed === 0) return undefined;
  let available: number;
  try {
    const stats = await statfs(layout.stagingDir);
    available = Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return undefined; // statfs is not available everywhere; a full disk is still caught on write.
  }
  if (available >= needed) return undefined;
  return new InstallError(
    'DISK_FULL',
    `Not enough free space in ${layout.dir}: ${needed} bytes needed, ${available} available; free ${needed - available} bytes`,
    { details: { bytesNeeded: needed, bytesAvailable: available, bytesToFree: needed - available, path: layout.dir } },
  );
}

