import type { Artifact } from '../manifest/types.js';
import type { InstallLayout } from './layout.js';
import { readInstallRecord, recordMatchesFile, statIdentity } from './install-record.js';
import { readResumeRecord, recordMatchesArtifact, durableBytes } from './resume-record.js';

/**
 * What the disk says about one artifact, read from metadata only: no hashing, no network.
 *
 * - `installed`: the file is the one modelhaul verified against this manifest's SHA-256.
 * - `changed`: something is at the path, but not the verified file (no record, the file was
 *   modified, or the manifest now wants another SHA-256). `sameSize` says whether hashing it could
 *   still prove it right.
 * - `partial`: no file yet, and `bytes` of a download are durably staged.
 * - `missing`: nothing.
 */
export type ArtifactState =
  | { state: 'installed'; verifiedAt: string }
  | { state: 'changed'; reason: string; sameSize: boolean; bytes: number }
  | { state: 'partial'; bytes: number }
  | { state: 'missing' };

export async function inspectArtifact(layout: InstallLayout, artifact: Artifact): Promise<ArtifactState> {
  const finalPath = layout.finalPath(artifact.path);
  const stats = await statIdentity(finalPath);
  if (stats) {
    const size = Number(stats.size);
    if (!stats.isFile()) return { state: 'changed', reason: 'something other than a file is at the path', sameSize: false, bytes: 0 };
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
  const resume = await readResumeRecord(layout.resumeRecordPath(artifact.id));
  if (resume.state === 'ok' && recordMatchesArtifact(resume.record, artifact)) {
    const partial = await statIdentity(layout.partialPath(artifact.id));
    const bytes = partial ? Math.min(durableBytes(resume.record.segments), Number(partial.size)) : 0;
    if (bytes > 0) return { state: 'partial', bytes };
  }
  return { state: 'missing' };
}
