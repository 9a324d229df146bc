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
export { installBundle, installBundleIter, type InstallOptions, type InstallResult } from './install.js';
export { bundleStatus, type BundleStatus, type ArtifactStatus } from './status.js';
export { verifyBundle, type BundleVerification, type ArtifactVerification, type VerifyOptions } from './verify.js';
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
