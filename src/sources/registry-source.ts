import { InstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import type { RegistryCredentials } from '../oci/docker-config.js';
import { RegistryAuthorizer } from '../oci/registry-auth.js';
import { registryOrigin, type RegistryReference } from '../oci/reference.js';
import type { TokenCache } from '../oci/token-cache.js';
import { httpLocation, type HttpContext } from './http-location.js';
import type { ArtifactSource, SourceAuth, SourceLocation } from './source.js';

/** A registry repository as a source, and the user's credentials for it. */
export interface RegistrySourceOptions {
  ref: Pick<RegistryReference, 'registry' | 'repository'>;
  /** From the Docker config file; undefined: anonymous. */
  credentials: RegistryCredentials | undefined;
  http: HttpContext;
  /** Tokens already fetched for this registry (reading the bundle's manifest), to reuse. */
  tokens?: TokenCache;
}

/**
 * An OCI registry repository as a source: an artifact is the blob `sha256:<artifact.sha256>` of
 * the repository (docs/oci-layout.md), whatever tag it was pushed under. Requests carry the
 * registry's Authorization (Basic, or a Bearer token for `repository:NAME:pull`, fetched on the
 * registry's challenge and fetched afresh when it refuses a token), to the registry's origin
 * only: a redirect to a storage host gets none. A blob the registry does not have, or credentials
 * it refuses, hand the artifact to the next source.
 *
 * @example
 * ```ts
 * const source = registrySource({ ref: parseOciReference('oci://127.0.0.1:5000/models/voice:1.0'), credentials, http });
 * source.locate(artifact)?.source; // 'oci://127.0.0.1:5000/models/voice'
 * ```
 */
export function registrySource(options: RegistrySourceOptions): ArtifactSource {
  const { ref, http } = options;
  const origin = registryOrigin(ref.registry, http.allowHttp);
  const name = `oci://${ref.registry}/${ref.repository}`;
  const scope = `repository:${ref.repository}:pull`;
  const authorizer = new RegistryAuthorizer({
    registry: ref.registry,
    repository: ref.repository,
    credentials: options.credentials,
    allowHttp: http.allowHttp,
    dispatchers: http.dispatchers,
    userAgent: http.userAgent,
    ...(options.tokens ? { tokens: options.tokens } : {}),
  });
  const noSignal = new AbortController().signal;
  const auth: SourceAuth = {
    authorization: (requested) => (requested === origin ? authorizer.authorization(scope, noSignal) : undefined),
    refresh: ({ origin: challenged, wwwAuthenticate }) => Promise.resolve(challenged === origin && authorizer.answerChallenge(wwwAuthenticate, scope)),
  };
  return {
    name,
    locate(artifact: Artifact): SourceLocation {
      const location = httpLocation({
        source: name,
        artifact,
        url: registryBlobUrl(ref, http.allowHttp, artifact.sha256),
        http,
        auth,
        notFoundHint: `${name} has no blob for this file; push the bundle there again (\`modelhaul push\`), or install from another source.`,
      });
      return {
        ...location,
        open: (request, signal) => location.open(request, signal).catch((error: unknown) => {
          throw asAuthError(error, ref.registry, authorizer.hasCredentials);
        }),
      };
    },
  };
}

/** A 401 or 403 from the registry itself says how to log in, like the rest of the registry client. */
function asAuthError(error: unknown, registry: string, hadCredentials: boolean): unknown {
  if (!(error instanceof InstallError) || error.code !== 'HTTP_STATUS') return error;
  const status = error.details.status;
  // A 401/403 from a storage host the registry redirected to is retryable (an expired signed URL).
  if ((status !== 401 && status !== 403) || error.retryable) return error;
  return new InstallError('AUTH_REQUIRED', `${registry} ${hadCredentials ? 'refused the credentials' : 'needs credentials'} for this blob (HTTP ${status})`, {
    hint: `Log in with \`modelhaul login ${registry}\` (or \`docker login ${registry}\`), then run the same command again.`,
    details: { ...error.details, registry },
    ...(error.artifactId !== undefined ? { artifactId: error.artifactId } : {}),
  });
}

/** Where a registry keeps an artifact: the blob `sha256:<artifact.sha256>` of the repository. */
export function registryBlobUrl(ref: Pick<RegistryReference, 'registry' | 'repository'>, allowHttp: boolean, sha256: string): string {
  return `${registryOrigin(ref.registry, allowHttp)}/v2/${ref.repository}/blobs/sha256:${sha256}`;
}
