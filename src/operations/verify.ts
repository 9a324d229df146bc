import { abortedError, InstallError } from '../errors.js';
import { parseManifest } from '../manifest/parse.js';
import { installLayout } from '../store/layout.js';
import { statIdentity } from '../store/install-record.js';
import { hashFile } from '../hash/hash-file.js';
import { fsError } from '../store/fs-error.js';

/** One artifact as `verify` found it. */
export interface ArtifactVerification {
  id: string;
  label: string;
  path: string;
  file: string;
  size: number;
  /** `ok`: the file has the manifest's SHA-256; `mismatch`: it does not; `missing`: no file. */
  result: 'ok' | 'mismatch' | 'missing';
  expectedSha256: string;
  foundSha256?: string;
  error?: ReturnType<InstallError['toJSON']>;
}

export interface VerifyOptions {
  signal?: AbortSignal;
  /** Reports hashing progress across the whole bundle. */
  onProgress?: (progress: { id: string; bytes: number; total: number; bundleBytes: number; bundleTotal: number }) => void;
}

export interface BundleVerification {
  bundle: string;
  dir: string;
  ok: boolean;
  artifacts: ArtifactVerification[];
}

/**
 * Re-hashes every installed file against the manifest's SHA-256, regardless of what the install
 * records say: the answer to "is what is on disk right?" when metadata is not enough.
 */
export async function verifyBundle(manifest: unknown, dir: string, options: VerifyOptions = {}): Promise<BundleVerification> {
  const validated = parseManifest(manifest, { allowHttp: true });
  const layout = installLayout(dir);
  const bundleTotal = validated.artifacts.reduce((sum, a) => sum + a.size, 0);
  let bundleDone = 0;
  const artifacts: ArtifactVerification[] = [];
  for (const artifact of validated.artifacts) {
    const file = layout.finalPath(artifact.path);
    const base = { id: artifact.id, label: artifact.label, path: artifact.path, file, size: artifact.size, expectedSha256: artifact.sha256 };
    const stats = await statIdentity(file);
    if (!stats || !stats.isFile()) {
      artifacts.push({ ...base, result: 'missing' });
      bundleDone += artifact.size;
      continue;
    }
    const doneBefore = bundleDone;
    try {
      const { sha256, size } = await hashFile(file, {
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (bytes) =>
          options.onProgress?.({ id: artifact.id, bytes, total: artifact.size, bundleBytes: doneBefore + Math.min(bytes, artifact.size), bundleTotal }),
      });
      const ok = sha256 === artifact.sha256 && size === artifact.size;
      artifacts.push({ ...base, result: ok ? 'ok' : 'mismatch', foundSha256: sha256 });
    } catch (error) {
      if (options.signal?.aborted) throw abortedError(options.signal, 'The verification was cancelled');
      artifacts.push({ ...base, result: 'mismatch', error: fsError(error, 'read the installed file', file, artifact.id).toJSON() });
    }
    bundleDone = doneBefore + artifact.size;
  }
  return { bundle: validated.name, dir: layout.dir, ok: artifacts.every((a) => a.result === 'ok'), artifacts };
}
