import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { InstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import { fsError, hasErrorCode } from '../store/fs-error.js';
import type { LayoutReference } from '../oci/reference.js';
import type { ArtifactSource, ByteRangeRequest, SourceLocation, SourceResponse, SourceVerdict } from './source.js';

/**
 * An OCI image-layout folder as a source (a USB copy made by `modelhaul push oci-layout:PATH` or
 * `oras cp --to-oci-layout`): an artifact is the file `blobs/sha256/<artifact.sha256>`, read with
 * the same range requests and checks as a download, its digest standing in as a strong ETag. A
 * blob that is missing or of another size hands the artifact to the next source.
 *
 * @example
 * ```ts
 * const source = layoutSource(parseLayoutReference('oci-layout:/media/usb/models:1.0'));
 * ```
 */
export function layoutSource(ref: Pick<LayoutReference, 'path'>): ArtifactSource {
  const root = path.resolve(ref.path);
  const name = `oci-layout:${root}`;
  return {
    name,
    locate(artifact: Artifact): SourceLocation {
      const file = path.join(root, 'blobs', 'sha256', artifact.sha256);
      return {
        source: name,
        validatorsFrom: `${name}/blobs/sha256/${artifact.sha256}`,
        classify,
        open: (request, signal) => openBlob(file, artifact, request, signal),
      };
    },
  };
}

async function openBlob(file: string, artifact: Artifact, request: ByteRangeRequest, signal: AbortSignal): Promise<SourceResponse> {
  signal.throwIfAborted();
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) {
      throw new InstallError('NOT_FOUND', `The image-layout folder has no blob for ${artifact.id} (${file})`, {
        hint: 'The folder holds another bundle or is incomplete; copy it again, or install from another source.',
        artifactId: artifact.id,
        details: { path: file },
      });
    }
    throw fsError(error, 'read a blob of the image-layout folder', file, artifact.id);
  }
  const headers = { etag: `"sha256:${artifact.sha256}"`, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
  const url = `file://${file}`;
  if (!request.ranged) {
    return { status: 200, headers: { ...headers, 'content-length': String(size) }, body: readBlob(file, artifact.id, {}), url, redirected: false };
  }
  // The engine checks the size against the manifest, as it does a server's answer.
  if (request.first >= size) {
    return { status: 416, headers: { ...headers, 'content-range': `bytes */${size}` }, body: Readable.from([]), url, redirected: false };
  }
  const last = Math.min(request.last, size - 1);
  return {
    status: 206,
    headers: { ...headers, 'content-range': `bytes ${request.first}-${last}/${size}`, 'content-length': String(last - request.first + 1) },
    body: readBlob(file, artifact.id, { start: request.first, end: last }),
    url,
    redirected: false,
  };
}

/**
 * The blob's bytes, with a read error reported as what it is: the folder's disk failing (a USB
 * stick giving out part-way, unplugged), not a connection, and not the install dir. Marked as the
 * source's, so the engine retries and then hands the rest of the file to the next source instead
 * of stopping as it must for a failure of the install dir.
 */
function readBlob(file: string, artifactId: string, range: { start?: number; end?: number }): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      yield* createReadStream(file, range) as AsyncIterable<Buffer>;
    } catch (error) {
      const failure = fsError(error, 'read a blob of the image-layout folder', file, artifactId);
      throw new InstallError(failure.code, failure.message, {
        cause: error,
        artifactId,
        hint: 'The disk that holds the image-layout folder could not be read (unplugged, or failing); modelhaul tries it again, then the next source if there is one; plug that disk back in, or copy the folder again, and run the same command.',
        details: { ...failure.details, sourceSide: true },
      });
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** A read error may pass (a USB stick waking up); a missing or wrong blob will not. */
function classify(error: InstallError): SourceVerdict {
  return error.code === 'NETWORK' || error.code === 'STALLED' || error.code === 'FILESYSTEM' ? 'retry-here' : 'try-next';
}
