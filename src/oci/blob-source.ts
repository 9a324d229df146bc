import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { InstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import type { InstallLayout } from '../store/layout.js';
import { inspectArtifact } from '../store/artifact-state.js';
import type { BundleImage } from './bundle-layout.js';
import type { PlannedBlob } from './push-events.js';

/** A blob and where its bytes come from. */
export interface BlobSource extends PlannedBlob {
  /** The installed file, or undefined for the config, whose bytes are in memory. */
  artifact: Artifact | undefined;
  read(start: number, end: number): Readable | Buffer;
}

/** One blob of a finished push. */
export interface PushedBlob extends PlannedBlob {
  outcome: 'uploaded' | 'present';
  resumedFrom: number;
  bytesSent: number;
}

/**
 * Checks, right before its bytes are read, that an artifact's file is still the one modelhaul
 * verified; a file changed since would make the registry refuse the digest at the end anyway.
 */
export async function requireStillInstalled(layout: InstallLayout, artifact: Artifact | undefined): Promise<void> {
  if (artifact === undefined) return;
  const state = await inspectArtifact(layout, artifact);
  if (state.state === 'installed') return;
  throw new InstallError('CHECKSUM_MISMATCH', `${artifact.id} changed while it was being published (${state.state === 'changed' ? state.reason : state.state})`, {
    artifactId: artifact.id,
    hint: 'Run `modelhaul verify` (or `modelhaul install`) and publish again.',
    details: { path: layout.finalPath(artifact.path) },
  });
}

/** The blobs of a bundle's image, config first, each with where its bytes come from. */
export function blobSources(image: BundleImage, layout: InstallLayout): BlobSource[] {
  const config = image.config;
  return [
    { id: 'config', digest: config.descriptor.digest, size: config.descriptor.size, artifact: undefined, read: (start, end) => config.bytes.subarray(start, end) },
    ...image.layers.map(({ artifact, descriptor }) => ({
      id: artifact.id,
      digest: descriptor.digest,
      size: descriptor.size,
      artifact,
      read: (start: number, end: number) => createReadStream(layout.finalPath(artifact.path), { start, end: end - 1 }),
    })),
  ];
}
