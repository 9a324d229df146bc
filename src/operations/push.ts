import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortedError, InstallError } from '../errors.js';
import { parseManifest } from '../manifest/parse.js';
import type { Manifest } from '../manifest/types.js';
import { installLayout, type InstallLayout } from '../store/layout.js';
import { acquireInstallLock } from '../store/install-lock.js';
import { prepareInstallDirs } from '../store/prepare-install-dirs.js';
import { inspectArtifact } from '../store/artifact-state.js';
import { Dispatchers } from '../http/dispatchers.js';
import { retryDelayMs } from '../http/retry-delay.js';
import { discard } from '../http/open-response.js';
import { ProgressMeter } from '../download/progress-meter.js';
import { DEFAULT_RETRIES, DEFAULT_STALL_TIMEOUT_MS } from '../defaults.js';
import { MODELHAUL_VERSION } from '../version.js';
import { bundleImage, OCI_MANIFEST_MEDIA_TYPE, type BundleImage } from '../oci/bundle-layout.js';
import { readRegistryCredentials } from '../oci/docker-config.js';
import { manifestReference, parseBundleReference, type RegistryReference } from '../oci/reference.js';
import { RegistrySession } from '../oci/registry-session.js';
import { uploadBlob, uploadRecordName } from '../oci/blob-upload.js';
import { writeImageLayout } from '../oci/image-layout.js';
import { blobSources, requireStillInstalled, type BlobSource, type PushedBlob } from '../oci/blob-source.js';
import type { PlannedBlob, PushEvent } from '../oci/push-events.js';

/** Options of {@link pushBundle}. Only `dir` is required. */
export interface PushOptions {
  /** The install dir holding the bundle's installed, verified files. */
  dir: string;
  /** Plain http to a registry that is not on loopback. Default false. */
  allowHttp?: boolean;
  /** Where `DOCKER_CONFIG` is read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onEvent?: (event: PushEvent) => void;
  /** Bytes per upload request; a blob no larger is sent in one. Default 16 MiB. */
  chunkBytes?: number;
  /** Failed attempts in a row without progress before a blob fails. Default 5. */
  retries?: number;
  /** First retry delay in milliseconds. Default 500. */
  retryBaseDelayMs?: number;
  stallTimeoutMs?: number;
  /** How long to wait for another modelhaul using the install dir. */
  lockTimeoutMs?: number;
}

export interface PushResult {
  reference: string;
  /** The digest of the image manifest: `oci://HOST/REPO@<digest>` names exactly this bundle. */
  digest: string;
  blobs: PushedBlob[];
  bytesSent: number;
  /** Bytes of blobs the target already had. */
  bytesSkipped: number;
  elapsedMs: number;
}

export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * Publishes an installed bundle as an OCI artifact (docs/oci-layout.md) to a registry
 * (`oci://HOST/REPO:TAG`) or an image-layout folder (`oci-layout:PATH[:TAG]`). Only files that
 * are installed and verified are sent (the check `status` makes); a blob the target has already
 * is skipped; uploads go in chunks and continue after a kill; the image manifest goes last, so a
 * reader never sees half a bundle.
 *
 * @throws {InstallError} `NOT_FOUND` naming the artifacts that are not installed,
 *   `AUTH_REQUIRED` when the registry wants credentials, `NETWORK`/`HTTP_STATUS` after retries.
 *
 * @example
 * ```ts
 * const { digest } = await pushBundle(manifest, 'oci://registry.example.com/models/voice:1.0', { dir });
 * ```
 */
export async function pushBundle(manifest: unknown, target: string, options: PushOptions): Promise<PushResult> {
  const started = performance.now();
  const validated = parseManifest(manifest, { allowHttp: true });
  const ref = parseBundleReference(target);
  const signal = options.signal ?? new AbortController().signal;
  const emit = (event: PushEvent): void => options.onEvent?.(event);
  const layout = installLayout(options.dir);
  await requireDir(layout.dir);
  await prepareInstallDirs(layout);
  const lock = await acquireInstallLock(layout.lockPath, { signal, ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}) });
  try {
    await requireInstalled(layout, validated);
    const image = bundleImage(validated);
    if (ref.digest !== undefined && ref.digest !== image.manifest.digest) {
      throw new InstallError('MANIFEST_INVALID', `${ref.text} pins the digest ${ref.digest}, but this bundle's image is ${image.manifest.digest}`, {
        hint: 'Push to a tag (oci://HOST/REPO:TAG); the digest is printed once the push is done.',
        details: { field: 'reference', expected: ref.digest, found: image.manifest.digest },
      });
    }
    const blobs = blobSources(image, layout);
    emit({
      event: 'plan',
      bundle: validated.name,
      reference: ref.text,
      digest: image.manifest.digest,
      blobs: blobs.map(({ id, digest, size }) => ({ id, digest, size })),
      bytesTotal: blobs.reduce((sum, blob) => sum + blob.size, 0),
    });
    const pushed = ref.kind === 'layout' ? await writeImageLayout(ref, image, blobs, { signal, emit, layout }) : await pushToRegistry(ref, image, blobs, options, signal, emit, layout);
    emit({ event: 'pushed', reference: ref.text, digest: image.manifest.digest });
    const result: PushResult = {
      reference: ref.text,
      digest: image.manifest.digest,
      blobs: pushed,
      bytesSent: pushed.reduce((sum, blob) => sum + blob.bytesSent, 0),
      bytesSkipped: pushed.filter((blob) => blob.outcome === 'present').reduce((sum, blob) => sum + blob.size, 0),
      elapsedMs: Math.round(performance.now() - started),
    };
    emit({ event: 'done', ok: true, reference: ref.text, digest: result.digest, bytesSent: result.bytesSent, bytesSkipped: result.bytesSkipped, elapsedMs: result.elapsedMs });
    return result;
  } finally {
    await lock.release();
  }
}

async function pushToRegistry(
  ref: RegistryReference,
  image: BundleImage,
  blobs: BlobSource[],
  options: PushOptions,
  signal: AbortSignal,
  emit: (event: PushEvent) => void,
  layout: InstallLayout,
): Promise<PushedBlob[]> {
  const credentials = await readRegistryCredentials(ref.registry, options.env ?? process.env);
  const dispatchers = new Dispatchers({ stallTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS });
  const session = new RegistrySession({
    registry: ref.registry,
    repository: ref.repository,
    allowHttp: options.allowHttp ?? false,
    credentials,
    dispatchers,
    signal,
    userAgent: `modelhaul/${MODELHAUL_VERSION}`,
  });
  try {
    const pushed: PushedBlob[] = [];
    for (const blob of blobs) {
      const planned = { id: blob.id, digest: blob.digest, size: blob.size };
      if (await hasBlob(session, blob)) {
        emit({ event: 'skipped', id: blob.id, digest: blob.digest, reason: 'present' });
        pushed.push({ ...planned, outcome: 'present', resumedFrom: 0, bytesSent: 0 });
        continue;
      }
      const sent = await withRetries(blob, options, signal, emit, async (attempt) => {
        // An upload whose closing answer was lost may be complete in the registry already.
        if (attempt > 1 && (await hasBlob(session, blob))) return { resumedFrom: blob.size, bytesSent: 0 };
        await requireStillInstalled(layout, blob.artifact);
        const blobStarted = performance.now();
        const meter = new ProgressMeter();
        let announced = false;
        const result = await uploadBlob({
          session,
          digest: blob.digest,
          size: blob.size,
          read: (start, end) => blob.read(start, end),
          recordPath: path.join(layout.privateDir, 'uploads', uploadRecordName(ref.registry, ref.repository, blob.digest)),
          chunkBytes: options.chunkBytes ?? DEFAULT_CHUNK_BYTES,
          onRestart: (reason) => emit({ event: 'restart', id: blob.id, reason }),
          onProgress: (bytes) => {
            if (!announced) return;
            const rate = meter.sample(bytes, bytes === blob.size);
            if (rate !== undefined) emit({ event: 'progress', id: blob.id, bytes, total: blob.size, bytesPerSecond: rate });
          },
          onStart: (offset) => {
            announced = true;
            meter.sample(offset);
            emit({ event: 'start', id: blob.id, digest: blob.digest, offset, total: blob.size, attempt });
          },
        });
        await requireStillInstalled(layout, blob.artifact);
        emit({ event: 'uploaded', id: blob.id, digest: blob.digest, resumedFrom: result.resumedFrom, bytesSent: result.bytesSent, elapsedMs: Math.round(performance.now() - blobStarted) });
        return result;
      });
      pushed.push({ ...planned, outcome: 'uploaded', ...sent });
    }
    await putManifest(session, ref, image);
    return pushed;
  } finally {
    await dispatchers.close();
  }
}

async function hasBlob(session: RegistrySession, blob: PlannedBlob): Promise<boolean> {
  const response = await session.send({ method: 'HEAD', url: session.repositoryPath(`blobs/${blob.digest}`), push: true, subject: `blob ${blob.digest}` });
  await discard(response.body);
  if (response.status === 404) return false;
  if (response.status !== 200) throw await session.failure(response, `blob ${blob.digest}`);
  // A blob of another size under the same digest cannot be: treat it as absent and let the
  // registry decide when the upload's digest is checked.
  return Number(response.headers['content-length']) === blob.size;
}

async function putManifest(session: RegistrySession, ref: RegistryReference, image: BundleImage): Promise<void> {
  const reference = manifestReference(ref);
  const response = await session.expect(
    {
      method: 'PUT',
      url: session.repositoryPath(`manifests/${reference}`),
      push: true,
      headers: { 'content-type': OCI_MANIFEST_MEDIA_TYPE, 'content-length': String(image.manifest.bytes.length) },
      body: () => image.manifest.bytes,
      subject: `manifest ${reference}`,
    },
    [201, 200],
  );
  await discard(response.body);
  const stored = response.headers['docker-content-digest'];
  if (stored !== undefined && stored !== image.manifest.digest) {
    throw new InstallError('CHECKSUM_MISMATCH', `${session.registry} stored the manifest of ${ref.text} as ${stored}, not ${image.manifest.digest}`, {
      hint: 'The registry rewrote the manifest; pull by tag, or use a registry that stores OCI manifests as they are.',
      details: { expected: image.manifest.digest, found: stored },
    });
  }
}

/** Runs one blob's upload, retrying transient failures; each retry continues the upload session. */
async function withRetries<T extends { bytesSent: number; resumedFrom: number }>(
  blob: BlobSource,
  options: PushOptions,
  signal: AbortSignal,
  emit: (event: PushEvent) => void,
  attemptOnce: (attempt: number) => Promise<T>,
): Promise<T> {
  const retries = options.retries ?? DEFAULT_RETRIES;
  for (let attempt = 1; ; attempt++) {
    try {
      if (signal.aborted) throw abortedError(signal, 'The push was cancelled', PUSH_ABORTED);
      return await attemptOnce(attempt);
    } catch (error) {
      const failure = error instanceof InstallError ? error : signal.aborted ? abortedError(signal, 'The push was cancelled', PUSH_ABORTED) : new InstallError('NETWORK', String(error), { cause: error });
      if (!failure.retryable || signal.aborted || failure.code === 'ABORTED' || attempt > retries) throw failure.forArtifact(blob.artifact?.id ?? blob.id);
      const retryAfterMs = typeof failure.details.retryAfterMs === 'number' ? failure.details.retryAfterMs : undefined;
      const delayMs = retryDelayMs({ attempt, baseMs: options.retryBaseDelayMs ?? 500, maxMs: 30_000, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
      emit({ event: 'retry', id: blob.id, attempt: attempt + 1, delayMs, error: failure.toJSON() });
      await sleep(delayMs, undefined, { signal }).catch(() => {
        throw abortedError(signal, 'The push was cancelled', PUSH_ABORTED);
      });
    }
  }
}

async function requireDir(dir: string): Promise<void> {
  const stats = await stat(dir).catch(() => undefined);
  if (stats?.isDirectory()) return;
  throw new InstallError('NOT_FOUND', `There is no install dir at ${dir}`, {
    hint: 'Install the bundle first (`modelhaul install --manifest FILE --dir DIR`), then publish it from that dir.',
    details: { path: dir },
  });
}

async function requireInstalled(layout: InstallLayout, manifest: Manifest): Promise<void> {
  const states = await Promise.all(manifest.artifacts.map(async (artifact) => ({ artifact, state: await inspectArtifact(layout, artifact) })));
  const missing = states.filter(({ state }) => state.state !== 'installed');
  if (missing.length === 0) return;
  throw new InstallError('NOT_FOUND', `${missing.length} of ${manifest.artifacts.length} artifacts are not installed and verified in ${layout.dir}: ${missing.map(({ artifact, state }) => `${artifact.id} (${state.state})`).join(', ')}`, {
    hint: 'Only verified files are published: run `modelhaul install` (or `modelhaul verify`) for this manifest and dir first.',
    details: { path: layout.dir, ids: missing.map(({ artifact }) => artifact.id).join(',') },
  });
}

/** What a cancelled push leaves: uploads recorded per chunk, so the next run continues them. */
const PUSH_ABORTED = { hint: 'Run the same command again to continue the push; uploaded chunks and blobs are kept.' };
