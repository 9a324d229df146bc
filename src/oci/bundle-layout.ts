import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { InstallError } from '../errors.js';
import type { Artifact, Manifest } from '../manifest/types.js';

/**
 * How a modelhaul bundle is laid out as an OCI artifact (docs/oci-layout.md): an image manifest
 * whose config is the modelhaul manifest and whose layers are the artifacts' files, uncompressed,
 * so that a layer's digest is `sha256:<artifact.sha256>` and any OCI tool can fetch one file.
 */
export const BUNDLE_ARTIFACT_TYPE = 'application/vnd.modelhaul.bundle.v1+json';
export const OCI_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST_MEDIA_TYPE = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** CNCF ModelPack: a model file stored as it is. */
export const WEIGHT_MEDIA_TYPE = 'application/vnd.cncf.model.weight.v1.raw';
/** CNCF ModelPack: a small configuration file next to the weights (a Piper voice's `.onnx.json`). */
export const WEIGHT_CONFIG_MEDIA_TYPE = 'application/vnd.cncf.model.weight.config.v1.raw';

/** Layer annotations: the file name (what `oras pull` writes), the path, and modelhaul's own facts. */
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
export const ANNOTATION_FILEPATH = 'org.cncf.model.filepath';
export const ANNOTATION_ID = 'io.modelhaul.artifact.id';
export const ANNOTATION_KIND = 'io.modelhaul.artifact.kind';
export const ANNOTATION_LABEL = 'io.modelhaul.artifact.label';
/** On the manifest: the bundle's name. */
export const ANNOTATION_BUNDLE = 'io.modelhaul.bundle.name';

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** The OCI image manifest of a bundle, with its bytes as pushed and their digest. */
export interface BundleImage {
  /** The config blob: the modelhaul manifest as JSON. */
  config: { descriptor: Descriptor; bytes: Buffer };
  /** One layer per artifact, in manifest order. */
  layers: Array<{ artifact: Artifact; descriptor: Descriptor }>;
  manifest: { bytes: Buffer; digest: string; mediaType: typeof OCI_MANIFEST_MEDIA_TYPE };
}

// Configuration and text files travel as weight.config; everything else (models, voices) as weight.
const CONFIG_FILE = /\.(json|ya?ml|toml|txt|ini|cfg)$/i;

/**
 * The OCI image of a bundle. It is deterministic (no timestamps): the same manifest always makes
 * the same image digest, so pushing a bundle again changes nothing in the registry.
 *
 * @example
 * ```ts
 * const image = bundleImage(manifest);
 * image.layers[0].descriptor.digest === `sha256:${manifest.artifacts[0].sha256}`; // true
 * ```
 */
export function bundleImage(manifest: Manifest): BundleImage {
  const configBytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
  const config: Descriptor = { mediaType: BUNDLE_ARTIFACT_TYPE, digest: sha256Digest(configBytes), size: configBytes.length };
  const layers = manifest.artifacts.map((artifact) => ({ artifact, descriptor: layerDescriptor(artifact) }));
  const image = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    artifactType: BUNDLE_ARTIFACT_TYPE,
    config,
    layers: layers.map((layer) => layer.descriptor),
    annotations: { [ANNOTATION_BUNDLE]: manifest.name },
  };
  const bytes = Buffer.from(JSON.stringify(image));
  return { config: { descriptor: config, bytes: configBytes }, layers, manifest: { bytes, digest: sha256Digest(bytes), mediaType: OCI_MANIFEST_MEDIA_TYPE } };
}

export function layerDescriptor(artifact: Artifact): Descriptor {
  const name = artifact.path.slice(artifact.path.lastIndexOf('/') + 1);
  return {
    mediaType: CONFIG_FILE.test(name) ? WEIGHT_CONFIG_MEDIA_TYPE : WEIGHT_MEDIA_TYPE,
    digest: `sha256:${artifact.sha256}`,
    size: artifact.size,
    annotations: {
      [ANNOTATION_TITLE]: name,
      [ANNOTATION_FILEPATH]: artifact.path,
      [ANNOTATION_ID]: artifact.id,
      [ANNOTATION_KIND]: artifact.kind,
      [ANNOTATION_LABEL]: artifact.label,
    },
  };
}

const descriptorSchema = z.object({
  mediaType: z.string().check(z.minLength(1)),
  digest: z.string().check(z.regex(/^sha256:[a-f0-9]{64}$/, 'must be sha256: and 64 lowercase hex characters')),
  size: z.int().check(z.nonnegative()),
  annotations: z.optional(z.record(z.string(), z.string())),
});

const imageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.optional(z.string()),
  artifactType: z.optional(z.string()),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
});

/** A pulled image manifest, checked to be a modelhaul bundle. */
export type PulledImage = z.infer<typeof imageManifestSchema>;

/**
 * Reads an image manifest's bytes and checks that it is a modelhaul bundle: an image manifest
 * (not an index), whose config has the bundle media type.
 *
 * @throws {InstallError} `MANIFEST_INVALID` naming what is not as expected.
 */
export function parseBundleImage(bytes: Buffer, source: string): PulledImage {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw notABundle(source, `its manifest is not JSON (${(error as Error).message})`);
  }
  const mediaType = (json as { mediaType?: unknown } | null)?.mediaType;
  if (mediaType === OCI_INDEX_MEDIA_TYPE || mediaType === DOCKER_MANIFEST_LIST_MEDIA_TYPE) {
    throw notABundle(source, 'it is an index of several images, not one bundle');
  }
  const parsed = imageManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw notABundle(source, `its manifest is not an OCI image manifest (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'})`);
  }
  if (parsed.data.config.mediaType !== BUNDLE_ARTIFACT_TYPE) {
    throw notABundle(source, `its config is ${parsed.data.config.mediaType}, not a modelhaul manifest (${BUNDLE_ARTIFACT_TYPE})`);
  }
  return parsed.data;
}

/**
 * Checks that every artifact of the bundle's manifest has its layer: digest `sha256:<sha256>` and
 * the same size. A layer the manifest does not list is ignored (another tool may add a README).
 */
export function checkBundleLayers(image: PulledImage, manifest: Manifest, source: string): void {
  const layers = new Map(image.layers.map((layer) => [layer.digest, layer]));
  for (const [index, artifact] of manifest.artifacts.entries()) {
    const layer = layers.get(`sha256:${artifact.sha256}`);
    if (layer === undefined) throw notABundle(source, `artifacts[${index}] (${artifact.id}) has no layer with digest sha256:${artifact.sha256}`);
    if (layer.size !== artifact.size) {
      throw notABundle(source, `the layer of artifacts[${index}] (${artifact.id}) is ${layer.size} bytes, the manifest says ${artifact.size}`);
    }
  }
}

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Checks fetched bytes against the digest they were asked for or announced with.
 *
 * @throws {InstallError} `CHECKSUM_MISMATCH`.
 */
export function checkDigest(bytes: Buffer, expected: string, what: string): void {
  const found = sha256Digest(bytes);
  if (found === expected) return;
  throw new InstallError('CHECKSUM_MISMATCH', `${what} does not have the digest ${expected} (its bytes hash to ${found}); nothing was installed`, {
    hint: 'The registry or a proxy in between served other bytes than the digest names; check the digest in the reference, or push the bundle again.',
    details: { expected, found },
  });
}

function notABundle(source: string, reason: string): InstallError {
  return new InstallError('MANIFEST_INVALID', `${source} is not a modelhaul bundle: ${reason}`, {
    hint: 'Push the bundle with `modelhaul push`, or check the reference: it must name a bundle modelhaul pushed (see docs/oci-layout.md).',
    details: { field: 'manifest', reference: source },
  });
}
