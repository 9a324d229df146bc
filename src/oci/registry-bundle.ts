import type { Readable } from 'node:stream';
import { InstallError } from '../errors.js';
import { MAX_MANIFEST_BYTES, parseManifestText } from '../manifest/parse.js';
import type { Manifest } from '../manifest/types.js';
import { Dispatchers } from '../http/dispatchers.js';
import { DEFAULT_STALL_TIMEOUT_MS } from '../defaults.js';
import { MODELHAUL_VERSION } from '../version.js';
import {
  checkBundleLayers,
  checkDigest,
  DOCKER_MANIFEST_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  parseBundleImage,
  sha256Digest,
  type PulledImage,
} from './bundle-layout.js';
import { readRegistryCredentials } from './docker-config.js';
import { manifestReference, type RegistryReference } from './reference.js';
import { RegistrySession, type RegistryResponse } from './registry-session.js';

/** Options of {@link fetchRegistryBundle}. */
export interface RegistryBundleOptions {
  /** Plain http to a registry that is not on loopback. Default false. */
  allowHttp?: boolean;
  /** Accept http artifact URLs to any host in the bundle's manifest. Default: as `allowHttp`. */
  manifestAllowHttp?: boolean;
  /** Where `DOCKER_CONFIG` is read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  stallTimeoutMs?: number;
}

/** A bundle's manifest read from a registry, with what is needed to fetch its blobs. */
export interface RegistryBundle {
  /** The modelhaul manifest (the image's config), validated like a manifest file. */
  manifest: Manifest;
  image: PulledImage;
  /** The digest of the image manifest that was read (checked against its bytes). */
  digest: string;
}

/** Manifest and config are small JSON documents; anything larger is not a bundle. */
const MAX_DOCUMENT_BYTES = MAX_MANIFEST_BYTES;

/**
 * Reads a bundle from a registry: the image manifest (asking for the OCI and Docker media types,
 * and checking its bytes against the pinned digest or the registry's `Docker-Content-Digest`),
 * then its config blob (checked against its descriptor), validated as a modelhaul manifest, and
 * checks that every artifact has its layer. Credentials come from the Docker config file.
 *
 * @example
 * ```ts
 * const bundle = await fetchRegistryBundle(parseOciReference('oci://127.0.0.1:5000/models/voice:1.0'));
 * bundle.manifest.artifacts.length;
 * ```
 */
export async function fetchRegistryBundle(ref: RegistryReference, options: RegistryBundleOptions = {}): Promise<RegistryBundle> {
  const allowHttp = options.allowHttp ?? false;
  const credentials = await readRegistryCredentials(ref.registry, options.env ?? process.env);
  const dispatchers = new Dispatchers({ stallTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS });
  try {
    const session = new RegistrySession({
      registry: ref.registry,
      repository: ref.repository,
      allowHttp,
      credentials,
      dispatchers,
      signal: options.signal ?? new AbortController().signal,
      userAgent: `modelhaul/${MODELHAUL_VERSION}`,
    });
    const { image, digest } = await fetchBundleImage(session, ref);
    if (image.config.size > MAX_DOCUMENT_BYTES) throw tooLarge(`the config of ${ref.text}`, image.config.size);
    const configResponse = await session.expect(
      { method: 'GET', url: session.repositoryPath(`blobs/${image.config.digest}`), subject: `config blob ${image.config.digest}` },
      [200],
    );
    const configBytes = await readDocument(configResponse, `the config of ${ref.text}`);
    checkDigest(configBytes, image.config.digest, `The config blob of ${ref.text}`);
    const manifest = parseManifestText(configBytes.toString('utf8'), ref.text, { allowHttp: options.manifestAllowHttp ?? allowHttp });
    checkBundleLayers(image, manifest, ref.text);
    return { manifest, image, digest };
  } finally {
    await dispatchers.close();
  }
}

/**
 * Reads the image manifest a reference names (asking for the OCI and Docker media types) and
 * checks that it is a bundle: its bytes against the pinned digest or the registry's
 * `Docker-Content-Digest`, its config's media type. Enough to learn which blobs the bundle has.
 *
 * @throws {InstallError} `NOT_FOUND` for an unknown repository or tag, `AUTH_REQUIRED`,
 *   `CHECKSUM_MISMATCH` for bytes that are not the digest's, `MANIFEST_INVALID` for no bundle.
 */
export async function fetchBundleImage(session: RegistrySession, ref: RegistryReference): Promise<{ image: PulledImage; digest: string }> {
  const reference = manifestReference(ref);
  const response = await session.expect(
    {
      method: 'GET',
      url: session.repositoryPath(`manifests/${reference}`),
      // distribution 2.8 answers an OCI manifest only to a client that names its media type.
      headers: { accept: [OCI_MANIFEST_MEDIA_TYPE, DOCKER_MANIFEST_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE].join(', ') },
      subject: `manifest ${reference}`,
    },
    [200],
  );
  const bytes = await readDocument(response, `the manifest of ${ref.text}`);
  const announced = response.headers['docker-content-digest'];
  const expected = ref.digest ?? (announced?.startsWith('sha256:') ? announced : undefined);
  if (expected !== undefined) checkDigest(bytes, expected, `The manifest of ${ref.text}`);
  return { image: parseBundleImage(bytes, ref.text), digest: expected ?? sha256Digest(bytes) };
}

/** Reads a small JSON document of at most 4 MiB; a larger one is refused before it is read. */
export async function readDocument(response: Pick<RegistryResponse, 'headers' | 'body'>, what: string): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_DOCUMENT_BYTES) {
    response.body.destroy();
    throw tooLarge(what, declared);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response.body as Readable & AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_DOCUMENT_BYTES) {
      response.body.destroy();
      throw tooLarge(what, length);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(what: string, size: number): InstallError {
  return new InstallError('MANIFEST_INVALID', `${what} is ${size} bytes, more than the ${MAX_DOCUMENT_BYTES} a bundle's manifest may have`, {
    details: { field: 'manifest', size },
  });
}
