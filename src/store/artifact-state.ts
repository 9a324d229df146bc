import type { Artifact } from '../manifest/types.js';
import type { InstallLayout } from './layout.js';
import { readInstallRecord, recordMatchesFile } from './install-record.js';
import { readResumeRecord } from './resume-record.js';
import { judgePartial, type PartialVerdict } from './partial-file.js';
import { lstatIfPresent, reachWithoutLinks } from './no-follow.js';

/**
 * What the disk says about one artifact, read from metadata only: no hashing, no network.
 *
 * - `installed`: the file is the one modelhaul verified against this manifest's SHA-256.
 * - `changed`: something is at the path, but not the verified file (no record, the file was
 *   modified, the manifest now wants another SHA-256, or the path goes through a symbolic link).
 *   `sameSize` says whether hashing it could still prove it right.
 * - `partial`: no file yet, and `bytes` of a download are durably staged.
 * - `missing`: nothing.
 */
export type ArtifactState =
  | { state: 'installed'; verifiedAt: string }
  | { state: 'changed'; reason: string; sameSize: boolean; bytes: number }
  | { state: 'partial'; bytes: number }
  | { state: 'missing' };

/**
 * Reads the state of one artifact. The final path is reached without following symbolic links
 * (docs/rules.md rule 29): a file behind a linked folder is never "installed", and never adopted.
 */
export async function inspectArtifact(layout: InstallLayout, artifact: Artifact): Promise<ArtifactState> {
  const reached = await reachWithoutLinks(layout.dir, artifact.path);
  if (reached.kind === 'link-on-the-way') {
    return { state: 'changed', reason: `${reached.at} is a symbolic link, which modelhaul does not install through`, sameSize: false, bytes: 0 };
  }
  if (reached.kind === 'not-a-folder') {
    return { state: 'changed', reason: `${reached.at} is in the way where a folder should be`, sameSize: false, bytes: 0 };
  }
  if (reached.kind === 'entry') {
    const stats = reached.stats;
    if (!stats.isFile()) return { state: 'changed', reason: 'something other than a file is at the path', sameSize: false, bytes: 0 };
    const size = Number(stats.size);
    const read = await readInstallRecord(layout.installRecordPath(artifact.id));
    if (read.state !== 'ok') {
      return { state: 'changed', reason: 'no record of a verified install', sameSize: size === artifact.size, bytes: size };
    }
    const record = read.record;
    if (record.sha256 !== artifact.sha256 || record.path !== artifact.path) {
      return { state: 'changed', reason: 'the manifest wants a different file than the one installed', sameSize: false, bytes: size };
    }
    if (!recordMatchesFile(record, stats)) {
      return { state: 'changed', reason: 'the file was modified after it was verified', sameSize: size === artifact.size, bytes: size };
    }
    return { state: 'installed', verifiedAt: record.verifiedAt };
  }
  const partial = await inspectPartial(layout, artifact);
  return partial.usable && partial.bytes > 0 ? { state: 'partial', bytes: partial.bytes } : { state: 'missing' };
}

/**
 * The verdict on an artifact's partial download as it is on disk now: {@link judgePartial} applied
 * to its resume record and the `lstat` of its partial file.
 */
export async function inspectPartial(layout: InstallLayout, artifact: Artifact): Promise<PartialVerdict> {
  const read = await readResumeRecord(layout.resumeRecordPath(artifact.id));
  if (read.state !== 'ok') return judgePartial(read, artifact, undefined);
  return judgePartial(read, artifact, await lstatIfPresent(layout.partialPath(artifact.id)));
}

/** Bytes of an artifact's partial download the next install resumes from; 0 when none. */
export async function durablePartialBytes(layout: InstallLayout, artifact: Artifact): Promise<number> {
  const verdict = await inspectPartial(layout, artifact);
  return verdict.usable ? verdict.bytes : 0;
}
