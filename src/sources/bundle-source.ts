import { readRegistryCredentials } from '../oci/docker-config.js';
import { parseBundleReference } from '../oci/reference.js';
import type { HttpContext } from './http-location.js';
import { layoutSource } from './layout-source.js';
import { registrySource } from './registry-source.js';
import type { ArtifactSource } from './source.js';

export interface BundleSourceOptions {
  /** Plain http to a registry that is not on loopback. */
  allowHttp: boolean;
  /** Where `DOCKER_CONFIG` is read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * The source for the place a bundle's manifest was read from: its registry repository
 * (`oci://HOST/REPO:TAG`, with the credentials of the Docker config file) or its image-layout
 * folder (`oci-layout:PATH`). Resolved before an install starts, so that a bad reference or an
 * unreadable config file stops it before it touches the disk; the source itself is made once the
 * install's connections exist.
 *
 * @throws {InstallError} `MANIFEST_INVALID` for a reference that does not parse, `AUTH_REQUIRED`
 *   for credentials kept by a credential helper, `FILESYSTEM` for an unreadable config file.
 *
 * @example
 * ```ts
 * const make = await bundleSource('oci://127.0.0.1:5000/models/voice:1.0', { allowHttp: false });
 * const sources = [make(http), manifestUrlSource(http)];
 * ```
 */
export async function bundleSource(text: string, options: BundleSourceOptions): Promise<(http: HttpContext) => ArtifactSource> {
  const ref = parseBundleReference(text);
  if (ref.kind === 'layout') return () => layoutSource(ref);
  const credentials = await readRegistryCredentials(ref.registry, options.env ?? process.env);
  return (http) => registrySource({ ref, credentials, http: { ...http, allowHttp: http.allowHttp || options.allowHttp } });
}
