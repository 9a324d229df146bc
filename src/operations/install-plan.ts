import { statfs } from 'node:fs/promises';
import { InstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import type { InstallEvent, PlannedArtifact } from '../events.js';
import type { InstallLayout } from '../store/layout.js';
import { installRecordFor, writeInstallRecord } from '../store/install-record.js';
import { removeStagingOf } from '../store/leftovers.js';
import { inspectArtifact } from '../store/artifact-state.js';
import { lstatInstalledFile } from '../store/no-follow.js';
import { fileIdentity, isSameFile } from '../store/file-identity.js';
import { hashFile } from '../hash/hash-file.js';

/**
 * What an install decides from the disk before any byte is fetched: what to do with each artifact
 * (the plan), whether the bytes still to fetch fit (the free-space check), and whether a file found
 * at an artifact's path is the right one and can be adopted without a download.
 */

/** The plan of an install: for each artifact, from metadata only, what the run will do with it. */
export async function planInstall(layout: InstallLayout, artifacts: readonly Artifact[]): Promise<PlannedArtifact[]> {
  return Promise.all(
    artifacts.map(async (artifact): Promise<PlannedArtifact> => {
      const base = { id: artifact.id, label: artifact.label, kind: artifact.kind, size: artifact.size, path: artifact.path };
      const state = await inspectArtifact(layout, artifact);
      switch (state.state) {
        case 'installed':
          return { ...base, action: 'already-installed', bytesOnDisk: artifact.size };
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
 * Compares free space with the bytes still to download (docs/rules.md rule 27), before any download starts, so
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

/**
 * A file is already at an artifact's path but modelhaul has no record of verifying it (an earlier
 * run crashed right after promoting it, or someone copied it there): hash it, and if it is the
 * right file, record it instead of downloading it again.
 */
export async function adoptExisting(
  layout: InstallLayout,
  artifact: Artifact,
  signal: AbortSignal,
  emit: (event: InstallEvent) => void,
): Promise<boolean> {
  emit({ event: 'verifying', id: artifact.id, bytes: 0, total: artifact.size });
  // Only a regular file reached without links is adopted (docs/rules.md rule 29).
  const before = await lstatInstalledFile(layout.dir, artifact.path);
  if (!before) return false;
  let sha256: string;
  try {
    ({ sha256 } = await hashFile(before.file, { signal }));
  } catch {
    return false;
  }
  const after = await lstatInstalledFile(layout.dir, artifact.path);
  // The file hashed must be the file recorded: one that changed while it was read is not adopted.
  if (sha256 !== artifact.sha256 || !after || !isSameFile(fileIdentity(before.stats), after.stats)) return false;
  await writeInstallRecord(layout.installRecordPath(artifact.id), installRecordFor(artifact, sha256, after.stats));
  await removeStagingOf(layout, artifact.id);
  emit({ event: 'skipped', id: artifact.id, path: artifact.path, reason: 'verified-existing' });
  return true;
}
