import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { abortedError, InstallError } from '../errors.js';
import { MAX_MANIFEST_BYTES, parseManifestText } from '../manifest/parse.js';
import type { Manifest } from '../manifest/types.js';
import type { InstallLayout } from '../store/layout.js';
import { fsyncDir, removeFile, writeFileAtomic } from '../store/durable-fs.js';
import { fsError, hasErrorCode } from '../store/fs-error.js';
import { ProgressMeter } from '../download/progress-meter.js';
import { checkBundleLayers, checkDigest, OCI_INDEX_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE, parseBundleImage, BUNDLE_ARTIFACT_TYPE, type BundleImage, type PulledImage } from './bundle-layout.js';
import type { LayoutReference } from './reference.js';
import type { PushEvent } from './push-events.js';
import { requireStillInstalled, type BlobSource, type PushedBlob } from './blob-source.js';

/** The annotation an image-layout index names its images by (`oras` writes the tag there). */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/** A bundle read from an image-layout folder. */
export interface LayoutBundle {
  manifest: Manifest;
  image: PulledImage;
  digest: string;
  /** The file holding an artifact's bytes. */
  blobPath(sha256: string): string;
}

interface IndexEntry {
  mediaType?: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Reads a bundle from an OCI image-layout folder: the image named by the reference's tag (the
 * index's `org.opencontainers.image.ref.name`) or digest, or the only image when it names none;
 * manifest and config are checked against their digests like those from a registry.
 *
 * @throws {InstallError} `NOT_FOUND` when the folder is not an image layout or holds no such
 *   image, `CHECKSUM_MISMATCH` for a damaged blob, `MANIFEST_INVALID` when it is not a bundle.
 */
export async function readLayoutBundle(ref: LayoutReference, options: { allowHttp?: boolean } = {}): Promise<LayoutBundle> {
  const { image, digest, blobPath } = await readLayoutImage(ref);
  const configBytes = await readBlob(blobPath(image.config.digest), ref);
  checkDigest(configBytes, image.config.digest, `The config blob of ${ref.text}`);
  const manifest = parseManifestText(configBytes.toString('utf8'), ref.text, { allowHttp: options.allowHttp ?? false });
  checkBundleLayers(image, manifest, ref.text);
  return { manifest, image, digest, blobPath: (sha256) => blobPath(`sha256:${sha256}`) };
}

/**
 * Reads the image manifest a reference names in an image-layout folder, checked against its
 * digest and to be a bundle: enough to learn which blobs the bundle has.
 *
 * @throws {InstallError} as {@link readLayoutBundle}.
 */
export async function readLayoutImage(ref: LayoutReference): Promise<{ image: PulledImage; digest: string; blobPath: (digest: string) => string }> {
  const root = path.resolve(ref.path);
  const blobPath = (digest: string): string => path.join(root, 'blobs', ...digest.split(':'));
  const marker = await readSmall(path.join(root, 'oci-layout'), ref);
  if (marker === undefined) {
    throw new InstallError('NOT_FOUND', `${root} is not an OCI image layout (it has no oci-layout file)`, {
      hint: 'Give the folder `oras cp --to-oci-layout` or `modelhaul push oci-layout:PATH` wrote: it holds oci-layout, index.json and blobs/.',
      details: { path: root },
    });
  }
  const index = parseIndex(await readSmall(path.join(root, 'index.json'), ref), root);
  const entry = chooseImage(index, ref, root);
  const manifestBytes = await readBlob(blobPath(entry.digest), ref);
  checkDigest(manifestBytes, entry.digest, `The manifest of ${ref.text}`);
  return { image: parseBundleImage(manifestBytes, ref.text), digest: entry.digest, blobPath };
}

/**
 * Writes a bundle into an image-layout folder (creating it): every blob that is not there yet,
 * copied to a temp file, checked against its digest, made durable and renamed into place; then the
 * image manifest; then `index.json`, which names the image by the reference's tag (`latest`
 * when it has none). An interrupted write leaves only temp files and a folder that still reads
 * as before.
 */
export async function writeImageLayout(
  ref: LayoutReference,
  image: BundleImage,
  blobs: BlobSource[],
  context: { signal: AbortSignal; emit: (event: PushEvent) => void; layout: InstallLayout },
): Promise<PushedBlob[]> {
  const root = path.resolve(ref.path);
  const blobDir = path.join(root, 'blobs', 'sha256');
  try {
    await mkdir(blobDir, { recursive: true });
    if ((await readSmall(path.join(root, 'oci-layout'), ref)) === undefined) {
      await writeFileAtomic(path.join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }) + '\n');
    }
  } catch (error) {
    throw fsError(error, 'create the image layout', root);
  }
  const pushed: PushedBlob[] = [];
  for (const blob of blobs) {
    const target = path.join(blobDir, blob.digest.slice('sha256:'.length));
    const present = await stat(target).catch(() => undefined);
    if (present?.isFile() && present.size === blob.size) {
      context.emit({ event: 'skipped', id: blob.id, digest: blob.digest, reason: 'present' });
      pushed.push({ id: blob.id, digest: blob.digest, size: blob.size, outcome: 'present', resumedFrom: 0, bytesSent: 0 });
      continue;
    }
    await requireStillInstalled(context.layout, blob.artifact);
    const started = performance.now();
    context.emit({ event: 'start', id: blob.id, digest: blob.digest, offset: 0, total: blob.size, attempt: 1 });
    await copyBlob(blob, target, context);
    await requireStillInstalled(context.layout, blob.artifact);
    context.emit({ event: 'uploaded', id: blob.id, digest: blob.digest, resumedFrom: 0, bytesSent: blob.size, elapsedMs: Math.round(performance.now() - started) });
    pushed.push({ id: blob.id, digest: blob.digest, size: blob.size, outcome: 'uploaded', resumedFrom: 0, bytesSent: blob.size });
  }
  const manifestPath = path.join(blobDir, image.manifest.digest.slice('sha256:'.length));
  const indexPath = path.join(root, 'index.json');
  try {
    await writeFileAtomic(manifestPath, image.manifest.bytes.toString('utf8'));
    const index = parseIndex(await readSmall(indexPath, ref), root, true);
    const name = ref.digest === undefined ? (ref.tag ?? 'latest') : undefined;
    const kept = index.manifests.filter((entry) => (name === undefined ? entry.digest !== image.manifest.digest : entry.annotations?.[ANNOTATION_REF_NAME] !== name));
    const entry: IndexEntry = { mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: image.manifest.digest, size: image.manifest.bytes.length, artifactType: BUNDLE_ARTIFACT_TYPE };
    if (name !== undefined) entry.annotations = { [ANNOTATION_REF_NAME]: name };
    await writeFileAtomic(indexPath, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE, manifests: [...kept, entry] }, null, 2) + '\n');
  } catch (error) {
    throw fsError(error, 'write the image layout index', indexPath);
  }
  return pushed;
}

async function copyBlob(blob: BlobSource, target: string, context: { signal: AbortSignal; emit: (event: PushEvent) => void }): Promise<void> {
  const temp = `${path.join(path.dirname(target), '.' + path.basename(target))}.tmp`;
  const hash = createHash('sha256');
  const meter = new ProgressMeter();
  let written = 0;
  let renamed = false;
  try {
    const handle = await open(temp, 'w', 0o644);
    try {
      const source = blob.read(0, blob.size);
      for await (const chunk of (Buffer.isBuffer(source) ? [source] : (source as Readable & AsyncIterable<Buffer>))) {
        if (context.signal.aborted) throw abortedError(context.signal, 'Writing the image-layout folder was cancelled');
        hash.update(chunk);
        await handle.write(chunk);
        written += chunk.length;
        const rate = meter.sample(written);
        if (rate !== undefined) context.emit({ event: 'progress', id: blob.id, bytes: written, total: blob.size, bytesPerSecond: rate });
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    const found = `sha256:${hash.digest('hex')}`;
    if (found !== blob.digest || written !== blob.size) {
      throw new InstallError('CHECKSUM_MISMATCH', `${blob.id} read back as ${found} (${written} bytes), not ${blob.digest}; nothing was written`, {
        hint: 'The installed file changed while it was copied; run `modelhaul verify` and publish again.',
        details: { expected: blob.digest, found },
      });
    }
    await rename(temp, target);
    renamed = true;
    await fsyncDir(path.dirname(target));
  } catch (error) {
    throw fsError(error, 'copy a blob into the image layout', target);
  } finally {
    if (!renamed) await removeFile(temp).catch(() => undefined);
  }
}

function chooseImage(index: { manifests: IndexEntry[] }, ref: LayoutReference, root: string): IndexEntry {
  const names = index.manifests.map((entry) => entry.annotations?.[ANNOTATION_REF_NAME]).filter((name): name is string => name !== undefined);
  let found: IndexEntry | undefined;
  if (ref.digest !== undefined) found = index.manifests.find((entry) => entry.digest === ref.digest);
  else if (ref.tag !== undefined) found = index.manifests.find((entry) => entry.annotations?.[ANNOTATION_REF_NAME] === ref.tag);
  else found = index.manifests.length === 1 ? index.manifests[0] : index.manifests.find((entry) => entry.annotations?.[ANNOTATION_REF_NAME] === 'latest');
  if (found) return found;
  throw new InstallError('NOT_FOUND', `${root} holds no image ${ref.digest ?? ref.tag ?? '(several images, and none is named latest)'}`, {
    hint: names.length > 0 ? `Name one of its images: ${names.map((name) => `oci-layout:${ref.path}:${name}`).join(', ')}.` : 'Name an image by digest: oci-layout:PATH@sha256:...',
    details: { path: root },
  });
}

function parseIndex(text: string | undefined, root: string, allowMissing = false): { manifests: IndexEntry[] } {
  if (text === undefined) {
    if (allowMissing) return { manifests: [] };
    throw new InstallError('NOT_FOUND', `${root} has no index.json`, { details: { path: root } });
  }
  try {
    const json = JSON.parse(text) as { manifests?: unknown };
    if (!Array.isArray(json.manifests)) throw new Error('it has no "manifests" list');
    const manifests = json.manifests.filter(
      (entry): entry is IndexEntry => typeof entry === 'object' && entry !== null && typeof (entry as IndexEntry).digest === 'string' && /^sha256:[a-f0-9]{64}$/.test((entry as IndexEntry).digest),
    );
    return { manifests };
  } catch (error) {
    throw new InstallError('MANIFEST_INVALID', `${path.join(root, 'index.json')} is not an image index: ${(error as Error).message}`, {
      details: { field: 'manifest', path: root },
    });
  }
}

async function readSmall(file: string, ref: LayoutReference): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return undefined;
    throw fsError(error, `read ${ref.text}`, file);
  }
}

async function readBlob(file: string, ref: LayoutReference): Promise<Buffer> {
  const stats = await stat(file).catch((error: unknown) => {
    if (hasErrorCode(error, 'ENOENT')) {
      throw new InstallError('NOT_FOUND', `${ref.text} lacks the blob ${path.basename(file)}`, {
        hint: 'The folder is incomplete; copy it again.',
        details: { path: file },
      });
    }
    throw fsError(error, `read ${ref.text}`, file);
  });
  if (stats.size > MAX_MANIFEST_BYTES) {
    throw new InstallError('MANIFEST_INVALID', `${file} is ${stats.size} bytes, too large for a bundle's manifest`, { details: { field: 'manifest', path: file } });
  }
  return readFile(file);
}
