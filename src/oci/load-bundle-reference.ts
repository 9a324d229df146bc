import type { Manifest } from '../manifest/types.js';
import { readLayoutBundle } from './image-layout.js';
import { parseBundleReference } from './reference.js';
import { fetchRegistryBundle } from './registry-bundle.js';

/** A bundle named by `oci://...` or `oci-layout:...`. */
export interface ReferencedBundle {
  /** The modelhaul manifest, validated like a file. */
  manifest: Manifest;
  /** The image manifest's digest: `oci://HOST/REPO@<digest>` names this exact bundle. */
  digest: string;
}

export interface LoadBundleOptions {
  /** Plain http to a registry that is not on loopback. Default false. */
  allowHttp?: boolean;
  /** Accept http artifact URLs to any host in the manifest. Default: as `allowHttp`. */
  manifestAllowHttp?: boolean;
  /** Where `DOCKER_CONFIG` is read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/**
 * Reads the modelhaul manifest of a bundle in a registry or an image-layout folder. Install it
 * with the same reference as `bundleSource`, so that its files come from there too:
 *
 * @example
 * ```ts
 * const reference = 'oci://127.0.0.1:5000/models/voice:1.0';
 * const { manifest } = await loadBundleReference(reference);
 * await installBundle(manifest, { dir, bundleSource: reference });
 * ```
 */
export async function loadBundleReference(text: string, options: LoadBundleOptions = {}): Promise<ReferencedBundle> {
  const ref = parseBundleReference(text);
  const allowHttp = options.allowHttp ?? false;
  const manifestAllowHttp = options.manifestAllowHttp ?? allowHttp;
  if (ref.kind === 'layout') {
    const bundle = await readLayoutBundle(ref, { allowHttp: manifestAllowHttp });
    return { manifest: bundle.manifest, digest: bundle.digest };
  }
  const bundle = await fetchRegistryBundle(ref, {
    allowHttp,
    manifestAllowHttp,
    ...(options.env ? { env: options.env } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { manifest: bundle.manifest, digest: bundle.digest };
}
