import { BUILTIN_BUNDLES } from '../manifest/bundles.js';
import type { ArtifactKind } from '../manifest/types.js';

/** One artifact of a built-in bundle, as `modelhaul bundles` lists it. */
export interface BundleArtifactSummary {
  id: string;
  kind: ArtifactKind;
  label: string;
  size: number;
  path: string;
}

/** A built-in bundle: what it holds and how much it weighs. Plain data, safe for JSON and IPC. */
export interface BundleSummary {
  name: string;
  description?: string;
  artifactCount: number;
  /** Sum of the artifact sizes in bytes: what a fresh install downloads. */
  totalSize: number;
  artifacts: BundleArtifactSummary[];
}

/**
 * The built-in bundles with their sizes, in the order they are declared, for an app's "choose a
 * model set" screen or `modelhaul bundles`.
 *
 * @example
 * ```ts
 * for (const bundle of listBundles()) console.log(bundle.name, bundle.totalSize);
 * ```
 */
export function listBundles(): BundleSummary[] {
  return Object.values(BUILTIN_BUNDLES).map((manifest) => {
    const artifacts = manifest.artifacts.map(({ id, kind, label, size, path }) => ({ id, kind, label, size, path }));
    const summary: BundleSummary = {
      name: manifest.name,
      artifactCount: artifacts.length,
      totalSize: artifacts.reduce((sum, artifact) => sum + artifact.size, 0),
      artifacts,
    };
    if (manifest.description !== undefined) summary.description = manifest.description;
    return summary;
  });
}
