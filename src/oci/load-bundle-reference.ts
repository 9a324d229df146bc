import type { Credentials } from '../http/credentials.js';
import { parseManifest } from '../manifest/parse.js';
import type { Manifest } from '../manifest/types.js';
import { readLayoutBundle } from './image-layout.js';
import { parseBundleReference } from './reference.js';
import { fetchRegistryBundle } from './registry-bundle.js';

/** A bundle named by `oci://...` or `oci-layout:...`, ready for the engine. */
export interface ReferencedBundle {
  manifest: Manifest;
  /** The image manifest's digest: `oci://HOST/REPO@<digest>` names this exact bundle. */
  digest: string;
  /** Authorization for the registry's origin, for fetching its blobs. */
  credentials: Credentials | undefined;
}

export interface LoadBundleOptions {
  /** Plain http to a registry that is not on loopback (and so http blob URLs). Default false. */
  allowHttp?: boolean;
  /** Accept http artifact URLs to any host in the manifest. Default: as `allowHttp`. */
  manifestAllowHttp?: boolean;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/**
 * Reads the modelhaul manifest of a bundle in a registry or an image-layout folder.
 *
 * From a registry, every artifact's URL becomes the URL of its blob there, with the registry's
 * Authorization for that origin, so that the engine downloads from the registry with its usual
 * Range resume, checks and retries, and never sends the Authorization to another host a blob
 * request is redirected to. From an image-layout folder the manifest is returned as it was
 * pushed: its files are still fetched from the artifacts' own URLs.
 *
 * @example
 * ```ts
 * const { manifest, credentials } = await loadBundleReference('oci://127.0.0.1:5000/models/voice:1.0');
 * await installBundle(manifest, { dir, credentials });
 * ```
 */
export async function loadBundleReference(text: string, options: LoadBundleOptions = {}): Promise<ReferencedBundle> {
  const ref = parseBundleReference(text);
  const allowHttp = options.allowHttp ?? false;
  const manifestAllowHttp = options.manifestAllowHttp ?? allowHttp;
  if (ref.kind === 'layout') {
    const bundle = await readLayoutBundle(ref, { allowHttp: manifestAllowHttp });
    return { manifest: bundle.manifest, digest: bundle.digest, credentials: undefined };
  }
  const bundle = await fetchRegistryBundle(ref, { allowHttp, manifestAllowHttp, ...(options.env ? { env: options.env } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  const manifest = parseManifest(
    { ...bundle.manifest, artifacts: bundle.manifest.artifacts.map((artifact) => ({ ...artifact, url: bundle.blobUrl(artifact.sha256) })) },
    { allowHttp: manifestAllowHttp || allowHttp },
  );
  return {
    manifest,
    digest: bundle.digest,
    credentials: bundle.authorization === undefined ? undefined : { [bundle.origin]: bundle.authorization },
  };
}
