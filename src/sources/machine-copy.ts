import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { abortedError } from '../errors.js';
import { hashFile } from '../hash/hash-file.js';
import type { Artifact } from '../manifest/types.js';
import { removeFile } from '../store/durable-fs.js';
import { statIdentity } from '../store/install-record.js';
import type { InstallLayout } from '../store/layout.js';
import { stillIndexedFile, type MachineIndex } from './machine-index.js';


/** A verified copy in the artifact's partial file, ready to be promoted like a download. */
export interface MachineCopy {
  /** Open on the staged copy; promotion closes it. */
  file: FileHandle;
  sha256: string;
  /** The installed file it was copied from. */
  from: string;
}

/**
 * Stages a copy of a file with the artifact's SHA-256 that is installed elsewhere on this machine
 * (another bundle, another install dir), instead of downloading it. The copy is a reflink where
 * the file system has them (`COPYFILE_FICLONE`: the two files share blocks until one is written)
 * and a plain copy elsewhere; never a hard link, which would make an app that writes to one file
 * change the other. Like any download it lands in staging, is hashed, and only a copy with the
 * right SHA-256 replaces the partial file; a wrong one is removed with its index entry. Returns
 * undefined when no installed file fits or none could be copied: then the artifact is downloaded.
 */
export async function copyFromMachine(
  index: MachineIndex,
  artifact: Artifact,
  layout: InstallLayout,
  signal: AbortSignal,
  report: { copying: (from: string) => void; hashing: () => void },
): Promise<MachineCopy | undefined> {
  const ownPath = layout.finalPath(artifact.path);
  const candidates = (await index.find(artifact.sha256, artifact.size)).filter((file) => file.path !== ownPath);
  for (const candidate of candidates) {
    if (signal.aborted) throw abortedError(signal).forArtifact(artifact.id);
    // Named like an atomic write's temp file, so a crash's leftover is removed by the next install.
    const temp = path.join(layout.stagingDir, `.${artifact.id}.partial.${randomBytes(6).toString('hex')}.tmp`);
    let handle: FileHandle | undefined;
    try {
      report.copying(candidate.path);
      await copyFile(candidate.path, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      // The copy is of the verified file only if that file did not change while it was read.
      if (!stillIndexedFile(candidate, await statIdentity(candidate.path))) throw new Error('the file changed while it was copied');
      report.hashing();
      const { sha256, size } = await hashFile(temp, { signal });
      if (sha256 !== artifact.sha256 || size !== artifact.size) {
        await index.forget(candidate);
        throw new Error('the copy does not have the SHA-256 it was indexed with');
      }
      handle = await open(temp, 'r+');
      await handle.sync();
      // The resume record goes first: no moment exists where it describes bytes it did not checkpoint.
      await removeFile(layout.resumeRecordPath(artifact.id));
      await rename(temp, layout.partialPath(artifact.id));
      return { file: handle, sha256, from: candidate.path };
    } catch {
      // An unreadable, changed or wrong file: try the next one, then download.
      await handle?.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      if (signal.aborted) throw abortedError(signal).forArtifact(artifact.id);
    }
  }
  return undefined;
}
