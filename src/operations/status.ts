import { parseManifest } from '../manifest/parse.js';
import { installLayout } from '../store/layout.js';
import { inspectArtifact, type ArtifactState } from '../store/artifact-state.js';

/** One artifact as `status` reports it. */
export interface ArtifactStatus {
  id: string;
  label: string;
  kind: string;
  path: string;
  /** Absolute path of the installed file. */
  file: string;
  size: number;
  state: ArtifactState['state'];
  /** Bytes on disk: the whole size when installed, the staged bytes when partial. */
  bytesOnDisk: number;
  /** Why a file at the path is not trusted, for `changed`. */
  reason?: string;
  verifiedAt?: string;
}

export interface BundleStatus {
  bundle: string;
  dir: string;
  /** True when every artifact is installed. */
  complete: boolean;
  artifacts: ArtifactStatus[];
}

/**
 * What is installed, from metadata alone: no file is read, nothing goes over the network. An
 * artifact is `installed` only when the file is the one modelhaul verified (same size, mtime and
 * inode as recorded, and the recorded SHA-256 is the manifest's).
 */
export async function bundleStatus(manifest: unknown, dir: string, options: { allowHttp?: boolean } = {}): Promise<BundleStatus> {
  const validated = parseManifest(manifest, { allowHttp: options.allowHttp ?? true });
  const layout = installLayout(dir);
  const artifacts = await Promise.all(
    validated.artifacts.map(async (artifact): Promise<ArtifactStatus> => {
      const state = await inspectArtifact(layout, artifact);
      const status: ArtifactStatus = {
        id: artifact.id,
        label: artifact.label,
        kind: artifact.kind,
        path: artifact.path,
        file: layout.finalPath(artifact.path),
        size: artifact.size,
        state: state.state,
        bytesOnDisk: 0,
      };
      switch (state.state) {
        case 'installed':
          status.bytesOnDisk = artifact.size;
          status.verifiedAt = state.verifiedAt;
          break;
        case 'changed':
          status.bytesOnDisk = state.bytes;
          status.reason = state.reason;
          break;
        case 'partial':
          status.bytesOnDisk = state.bytes;
          break;
        case 'missing':
          break;
      }
      return status;
    }),
  );
  return { bundle: validated.name, dir: layout.dir, complete: artifacts.every((a) => a.state === 'installed'), artifacts };
}
