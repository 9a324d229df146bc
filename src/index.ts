/**
 * modelhaul: get the model files of a local AI app onto a machine, completely and correctly.
 *
 * @example
 * ```ts
 * import { installBundle, loadManifestFile } from 'modelhaul';
 * const manifest = await loadManifestFile('models.json');
 * const result = await installBundle(manifest, { dir: '/path/to/models', onEvent: console.log });
 * ```
 */
export { installBundle, installBundleIter, type InstallOptions, type InstallResult } from './operations/install.js';
export { bundleStatus, type BundleStatus, type ArtifactStatus } from './operations/status.js';
export { verifyBundle, type BundleVerification, type ArtifactVerification, type VerifyOptions } from './operations/verify.js';
export type { InstallEvent, InstallEventName, ArtifactResult, ArtifactOutcome, PlannedArtifact, PlannedAction } from './events.js';
export {
  InstallError,
  isInstallError,
  installErrorFromJSON,
  ERROR_CODES,
  ALL_ERROR_CODES,
  type ErrorCode,
  type ErrorDetails,
  type SerializedInstallError,
} from './errors.js';
export { parseManifest, parseManifestText, loadManifestFile } from './manifest/parse.js';
export { BUILTIN_BUNDLES, findBundle } from './manifest/bundles.js';
export type { Manifest, Artifact, ArtifactKind } from './manifest/types.js';
export type { Credentials } from './http/credentials.js';
export { MODELHAUL_VERSION } from './version.js';
export { defaultMachineIndexDir } from './data-dir.js';
export { listBundles, type BundleSummary, type BundleArtifactSummary } from './operations/bundles.js';
export {
  findGarbage,
  collectGarbage,
  type GarbageItem,
  type GarbageKind,
  type GarbagePlan,
  type GarbageCollection,
  type GarbageOptions,
  type CollectGarbageOptions,
  type KeptItem,
} from './operations/gc.js';
export { removeArtifacts, type RemoveOptions, type RemoveResult, type RemovedArtifact, type RemovedFile } from './operations/remove.js';
export { importArtifact, type ImportOptions, type ImportResult, type ImportProgress } from './operations/import.js';
export { addArtifactToManifest, type AddArtifactOptions, type AddArtifactResult } from './operations/manifest-add.js';
export { digestUrl, type DigestUrlOptions, type UrlDigest, type DigestSource } from './http/digest-url.js';
export { deriveArtifactNaming, guessKind, type ArtifactNaming } from './manifest/derive-artifact.js';
export { isResolveUrl, parseLinkedMetadata, type LinkedMetadata } from './http/linked-metadata.js';
export { pushBundle, type PushOptions, type PushResult } from './operations/push.js';
export type { PushEvent, PushEventName, PlannedBlob } from './oci/push-events.js';
export type { PushedBlob } from './oci/blob-source.js';
export { loadBundleReference, type ReferencedBundle, type LoadBundleOptions } from './oci/load-bundle-reference.js';
export { parseBundleReference, isBundleReference, type BundleReference, type RegistryReference, type LayoutReference } from './oci/reference.js';
export { createModelLifecycle } from './lifecycle/create-lifecycle.js';
export type { LifecycleOptions, ModelLifecycle, PowerEvent, WhenReadyOptions } from './lifecycle/options.js';
export type { LifecycleClock } from './lifecycle/clock.js';
export { defaultShouldRetry, defaultRetryDelay, DEFAULT_MAX_ATTEMPTS, type ShouldRetry, type RetryDelay } from './lifecycle/retry-policy.js';
export type {
  LifecycleSnapshot,
  LifecyclePhase,
  ArtifactPhase,
  ArtifactSnapshot,
  CapabilitySnapshot,
  LifecycleError,
  LifecycleBlock,
} from './lifecycle/snapshot.js';
