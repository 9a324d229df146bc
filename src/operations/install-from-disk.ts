import type { InstallEvent } from '../events.js';
import { hashFile } from '../hash/hash-file.js';
import type { Artifact } from '../manifest/types.js';
import { installRecordFor, statIdentity, writeInstallRecord } from '../store/install-record.js';
import type { InstallLayout } from '../store/layout.js';
import { removeStagingOf } from '../store/leftovers.js';
import { promoteVerified } from '../store/promote.js';
import { copyFromMachine } from '../sources/machine-copy.js';
import { MACHINE_SOURCE } from '../sources/source.js';
import type { MachineIndex } from '../sources/machine-index.js';

// Installing an artifact from bytes already on this machine instead of the network: a file found
// at its own path, or the same file installed for another bundle or in another dir.

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
  const finalPath = layout.finalPath(artifact.path);
  emit({ event: 'verifying', id: artifact.id, bytes: 0, total: artifact.size });
  const before = await statIdentity(finalPath);
  let sha256: string;
  try {
    ({ sha256 } = await hashFile(finalPath, { signal }));
  } catch {
    return false;
  }
  const after = await statIdentity(finalPath);
  if (sha256 !== artifact.sha256 || !before || !after || before.mtimeNs !== after.mtimeNs || before.ino !== after.ino) return false;
  await writeInstallRecord(layout.installRecordPath(artifact.id), installRecordFor(artifact, sha256, after));
  await removeStagingOf(layout, artifact.id);
  emit({ event: 'skipped', id: artifact.id, path: artifact.path, reason: 'verified-existing' });
  return true;
}

/**
 * Installs an artifact from a copy of the same file installed elsewhere on this machine: staged,
 * hashed and promoted like a download. False when there is none (or none that hashes right).
 */
export async function installFromMachine(
  machine: MachineIndex,
  artifact: Artifact,
  layout: InstallLayout,
  signal: AbortSignal,
  emit: (event: InstallEvent) => void,
): Promise<boolean> {
  const started = performance.now();
  const { id, size } = artifact;
  const copy = await copyFromMachine(machine, artifact, layout, signal, {
    copying: () => emit({ event: 'start', id, offset: 0, total: size, attempt: 1, connections: 1, source: MACHINE_SOURCE }),
    hashing: () => emit({ event: 'verifying', id, bytes: size, total: size }),
  });
  if (!copy) return false;
  await promoteVerified({ artifact, layout, file: copy.file, sha256: copy.sha256 });
  await machine.record(copy.sha256, layout.finalPath(artifact.path));
  const elapsedMs = Math.round(performance.now() - started);
  emit({ event: 'installed', id, path: artifact.path, sha256: copy.sha256, resumedFrom: 0, bytesFetched: 0, bytesBySource: { [MACHINE_SOURCE]: size }, elapsedMs });
  return true;
}

