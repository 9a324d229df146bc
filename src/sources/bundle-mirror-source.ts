import { abortedError, InstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import { readRegistryCredentials } from '../oci/docker-config.js';
import { readLayoutImage } from '../oci/image-layout.js';
import type { BundleReference, LayoutReference } from '../oci/reference.js';
import { fetchBundleImage } from '../oci/registry-bundle.js';
import { RegistrySession } from '../oci/registry-session.js';
import { TokenCache } from '../oci/token-cache.js';
import { classifyHttpFailure, type HttpContext } from './http-location.js';
import { layoutSource } from './layout-source.js';
import { registryBlobUrl, registrySource } from './registry-source.js';
import type { ArtifactSource, SourceLocation } from './source.js';

/** What an OCI mirror needs from the install it serves. */
export interface BundleMirrorContext {
  http: HttpContext;
  /** Where `DOCKER_CONFIG` is read from. */
  env: NodeJS.ProcessEnv;
  /** The install's signal: reading the mirror's bundle serves every artifact, so no one artifact's. */
  signal: AbortSignal;
}

/** A mirror's bundle once read: the source for its blobs, and which blobs the bundle lists. */
interface MirrorBundle {
  source: ArtifactSource;
  digests: ReadonlySet<string>;
}

/**
 * Failures that say something about the mirror and that the engine reads as a source's failure;
 * any other (a damaged manifest, a folder it cannot read, something that is no bundle) would
 * mean something else to it, about the artifact or the install dir, and becomes SOURCE_INVALID.
 */
const SOURCE_FAILURES = new Set(['NETWORK', 'STALLED', 'TLS', 'PROTOCOL', 'HTTP_STATUS', 'REDIRECT', 'AUTH_REQUIRED', 'NOT_FOUND', 'ABORTED']);

/**
 * A bundle in a registry (`oci://HOST/REPO:TAG`, `@sha256:...`) or an image-layout folder
 * (`oci-layout:PATH[:TAG]`) given as a mirror. Unlike the place the manifest came from, nothing
 * is known of it when the install starts: the first artifact that asks reads the bundle's image
 * manifest (with the Docker config's credentials), once for all of them, to learn which blobs it
 * lists. An artifact it does not list goes to the next source without a request. A mirror that
 * cannot be read fails like any source: network trouble and 5xx are retried on it (and read
 * afresh), while a tag it lacks, refused credentials or something that is no bundle hand every
 * artifact to the next source. The install never fails because of a mirror.
 *
 * @example
 * ```ts
 * const mirror = bundleMirrorSource('oci://registry.lan/models/voice:1.0', parseOciReference('oci://registry.lan/models/voice:1.0'), { http, env: process.env, signal });
 * const sources = [mirror, manifestUrlSource(http)];
 * ```
 */
export function bundleMirrorSource(name: string, ref: BundleReference, context: BundleMirrorContext): ArtifactSource {
  const bundle = new SharedRead(() =>
    readMirror(ref, context).catch((error: unknown) => {
      throw asSourceFailure(error, name);
    }),
  );
  // The same place the bundle's own source would ask, so that validators are shared with it.
  const validatorsFor = ref.kind === 'layout' ? validatorsOf(layoutSource(ref)) : (artifact: Artifact) => registryBlobUrl(ref, context.http.allowHttp, artifact.sha256);
  return {
    name,
    locate(artifact: Artifact): SourceLocation {
      let inner: SourceLocation | undefined;
      return {
        source: name,
        validatorsFrom: validatorsFor(artifact),
        // Until the bundle is read, failures are about reading it; then about the blob.
        classify: (error) => (inner ? inner.classify(error) : classifyHttpFailure(error)),
        async open(request, signal) {
          let read: MirrorBundle;
          try {
            read = await untilAborted(bundle.get(), signal);
          } catch (error) {
            throw error instanceof InstallError ? error.forArtifact(artifact.id) : error;
          }
          if (!read.digests.has(`sha256:${artifact.sha256}`)) throw notListed(name, artifact);
          inner ??= read.source.locate(artifact);
          if (inner === undefined) throw notListed(name, artifact);
          return inner.open(request, signal);
        },
      };
    },
  };
}

async function readMirror(ref: BundleReference, context: BundleMirrorContext): Promise<MirrorBundle> {
  if (ref.kind === 'layout') return readFolder(ref);
  const { http } = context;
  const credentials = await readRegistryCredentials(ref.registry, context.env);
  // The token fetched to read the manifest serves the blobs too (same repository, same scope).
  const tokens = new TokenCache();
  const session = new RegistrySession({
    registry: ref.registry,
    repository: ref.repository,
    allowHttp: http.allowHttp,
    credentials,
    dispatchers: http.dispatchers,
    signal: context.signal,
    userAgent: http.userAgent,
    tokens,
  });
  const { image } = await fetchBundleImage(session, ref);
  return { source: registrySource({ ref, credentials, http, tokens }), digests: new Set(image.layers.map((layer) => layer.digest)) };
}

async function readFolder(ref: LayoutReference): Promise<MirrorBundle> {
  const { image } = await readLayoutImage(ref);
  return { source: layoutSource(ref), digests: new Set(image.layers.map((layer) => layer.digest)) };
}

/**
 * One read shared by every artifact that asks while it runs. A success, or a failure no retry
 * can change (a 404, refused credentials), is kept for the rest of the install; a transient one
 * is forgotten once it is reported, so the artifact's retry reads the mirror again.
 */
class SharedRead<T> {
  private pending: Promise<T> | undefined;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    if (this.pending) return this.pending;
    const pending = this.read();
    this.pending = pending;
    // Registered before anyone awaits it, so it runs before their retry can ask again.
    pending.catch((error: unknown) => {
      if (error instanceof InstallError && classifyHttpFailure(error) === 'retry-here' && this.pending === pending) this.pending = undefined;
    });
    return pending;
  }
}

/** Waits for `promise`, or rejects as soon as this request is cancelled (the read goes on for others). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function validatorsOf(source: ArtifactSource): (artifact: Artifact) => string {
  return (artifact) => source.locate(artifact)?.validatorsFrom ?? source.name;
}

function asSourceFailure(error: unknown, name: string): unknown {
  // Anything else than an InstallError is a bug, reported as it is.
  if (!(error instanceof InstallError) || SOURCE_FAILURES.has(error.code)) return error;
  return new InstallError('SOURCE_INVALID', `mirror ${name} cannot be used: ${error.message}`, {
    hint: error.hint,
    details: { ...error.details, source: name, cause: error.code },
    cause: error,
  });
}

function notListed(name: string, artifact: Artifact): InstallError {
  return new InstallError('NOT_FOUND', `${name} does not list ${artifact.id} (sha256:${artifact.sha256})`, {
    hint: 'That bundle is another version or lacks this file; modelhaul went on with the next source. Push this bundle there (`modelhaul push`) to serve it.',
    artifactId: artifact.id,
    details: { source: name, digest: `sha256:${artifact.sha256}` },
  });
}
