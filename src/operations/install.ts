import { setMaxListeners } from 'node:events';
import { prepareInstallDirs } from '../store/prepare-install-dirs.js';
import { InstallError, isInstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import { parseManifest } from '../manifest/parse.js';
import type { ArtifactResult, InstallEvent, PlannedArtifact } from '../events.js';
import { installLayout, type InstallLayout } from '../store/layout.js';
import { acquireInstallLock } from '../store/install-lock.js';
import { fsError } from '../store/fs-error.js';
import { checkParentFolders, promoteVerified } from '../store/promote.js';
import { durablePartialBytes } from '../store/artifact-state.js';
import { removeInterruptedWrites, removeStagingOf } from '../store/leftovers.js';
import { ArtifactTransfer, type TransferSettings } from '../download/artifact-transfer.js';
import { Dispatchers } from '../http/dispatchers.js';
import type { HttpContext } from '../sources/http-location.js';
import { installSources, resolveMirrors } from '../sources/source-list.js';
import { bundleSource } from '../sources/bundle-source.js';
import type { ArtifactSource, SourceLocation } from '../sources/source.js';
import { MachineIndex } from '../sources/machine-index.js';
import { MACHINE_SOURCE } from '../sources/source.js';
import { planInstall, spaceShortage } from './install-plan.js';
import { adoptExisting, installFromMachine } from './install-from-disk.js';
import { normalizeCredentials, type Credentials } from '../http/credentials.js';
import { abortedError } from '../errors.js';
import { runPool } from '../task-pool.js';
import { EventChannel } from '../event-channel.js';
import {
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_CONCURRENCY,
  DEFAULT_CONNECTIONS,
  DEFAULT_MIN_SEGMENT_BYTES,
  DEFAULT_RETRIES,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
  DEFAULT_STALL_TIMEOUT_MS,
  MAX_CONNECTIONS,
  USER_AGENT,
} from '../defaults.js';

/**
 * Options of {@link installBundle}. Only `dir` is required.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const result = await installBundle(manifest, {
 *   dir: path.join(app.getPath('userData'), 'models'),
 *   signal: controller.signal,
 *   onEvent: (event) => mainWindow.webContents.send('models:event', event),
 * });
 * ```
 */
export interface InstallOptions {
  /** The install dir; created if missing. Artifact paths are relative to it. */
  dir: string;
  /** Cancels the install: partial downloads and their records are left ready to resume. */
  signal?: AbortSignal;
  /** Artifacts downloaded at the same time. Default 3. */
  concurrency?: number;
  /** Connections used for one large file when the server honours ranges. Default 4, at most 16. */
  connections?: number;
  /** Consecutive failed attempts without progress before an artifact fails. Default 5. */
  retries?: number;
  /** Longest silence from a server, in milliseconds, before the connection counts as stalled. Default 30 000. */
  stallTimeoutMs?: number;
  /** Allow plain http to hosts other than loopback. Default false. */
  allowHttp?: boolean;
  /**
   * Sources to try before the manifest's own mirrors and each artifact's URL, in order:
   * `https://host/prefix` fetches an artifact from `<prefix>/<artifact.path>` (any web server
   * holding a copy of an install dir); `oci://HOST/REPO:TAG` (or `@sha256:...`) from the blobs of
   * that bundle in a registry (credentials from the Docker config file); `oci-layout:PATH[:TAG]`
   * from an image-layout folder. A failing mirror hands over to the next source, keeping the
   * bytes it delivered; one that is down or lacks the bundle is skipped; one that does not parse
   * is refused with `SOURCE_INVALID` before anything starts.
   */
  mirrors?: readonly string[];
  /**
   * The folder of this machine's index of installed files (see {@link defaultMachineIndexDir}).
   * With it, every verified file is recorded there when it is promoted, and an artifact whose
   * SHA-256 is already installed elsewhere on the machine (another bundle, another dir) is copied
   * (a reflink where the file system allows, never a hard link), hashed and promoted instead of
   * downloaded. Without it (the default) the install looks at nothing outside `dir`.
   */
  machineIndex?: string;
  /** Authorization header values by exact origin, e.g. `{ 'https://huggingface.co': 'Bearer hf_...' }`. */
  credentials?: Credentials;
  /**
   * Where the manifest came from, when that is an OCI registry (`oci://HOST/REPO:TAG`) or an
   * image-layout folder (`oci-layout:PATH`): every artifact is fetched from its blob there first
   * (docs/oci-layout.md), then from its own URL. Registry credentials come from the Docker config
   * file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
   */
  bundleSource?: string;
  /** The environment `DOCKER_CONFIG` is read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * How long to wait for another process installing into the same dir. Default: 10 minutes while
   * that process is alive on this host; 60 s when it runs on another host (its liveness cannot be
   * checked).
   */
  lockTimeoutMs?: number;
  /** Receives every {@link InstallEvent} as it happens. */
  onEvent?: (event: InstallEvent) => void;
  /** First retry delay in milliseconds (doubles each time, with jitter). Default 500. */
  retryBaseDelayMs?: number;
  /** Longest retry delay in milliseconds. Default 30 000. */
  retryMaxDelayMs?: number;
  /** Make downloaded bytes durable and record them at least every this many bytes. Default: 0.5% of the file, between 4 and 64 MiB. */
  checkpointBytes?: number;
  /** ...and at least this often, in milliseconds. Default 1000. */
  checkpointIntervalMs?: number;
  /** Smallest piece of a file given a connection of its own. Default 8 MiB. */
  minSegmentBytes?: number;
}

/** The outcome of {@link installBundle}: one result per artifact, in manifest order. */
export interface InstallResult {
  /** True when every artifact is installed and verified. */
  ok: boolean;
  results: ArtifactResult[];
  /** Bytes downloaded in this run. */
  bytesFetched: number;
  /** Bytes of earlier partial downloads that were reused instead of downloaded again. */
  bytesReused: number;
  /** Bytes this run got, by source (a mirror, the manifest URL's origin, `this machine`). */
  bytesBySource: Record<string, number>;
  elapsedMs: number;
}

export { DEFAULT_CONCURRENCY, DEFAULT_CONNECTIONS, MAX_CONNECTIONS, DEFAULT_RETRIES, DEFAULT_STALL_TIMEOUT_MS };

/**
 * Installs every artifact of a manifest into `options.dir`: skips what is already installed and
 * verified, resumes what an earlier run left, downloads the rest, verifies each file's SHA-256 and
 * only then moves it into place. Resolves with a result per artifact; an artifact's failure does
 * not stop the others. Rejects with an {@link InstallError} for an invalid manifest
 * (`MANIFEST_INVALID`, before touching disk or network), a dir it cannot use, a lock it could not
 * get (`LOCKED`), or cancellation (`ABORTED`, after leaving partial downloads ready to resume).
 */
export async function installBundle(manifest: unknown, options: InstallOptions): Promise<InstallResult> {
  const started = performance.now();
  const emit = (event: InstallEvent): void => options.onEvent?.(event);
  const validated = parseManifest(manifest, { allowHttp: options.allowHttp ?? false });
  const mirrors = resolveMirrors(options.mirrors ?? [], validated, { allowHttp: options.allowHttp ?? false, bundleSource: options.bundleSource });
  const fromBundle = options.bundleSource === undefined ? undefined : await bundleSource(options.bundleSource, { allowHttp: options.allowHttp ?? false, env: options.env });
  const layout = installLayout(options.dir);
  if (options.signal?.aborted) throw abortedError(options.signal);
  const { signal, unlink: unlinkSignal } = installSignal(options.signal);
  let lock;
  try {
    await prepareInstallDirs(layout);
    lock = await acquireInstallLock(layout.lockPath, {
      signal,
      ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
      onWait: (holder) => emit({ event: 'lock-wait', lockPath: layout.lockPath, holder: { pid: holder.pid, hostname: holder.hostname, startedAt: holder.startedAt } }),
    });
  } catch (error) {
    unlinkSignal();
    // A dir this user may not write (a read-only mount, another user's folder) still answers an
    // install that has nothing to do: the lock only guards writers.
    if (isInstallError(error) && error.code === 'PERMISSION_DENIED') {
      const nothingToDo = await installedWithoutWriting(layout, validated.name, validated.artifacts, emit, started);
      if (nothingToDo) return nothingToDo;
    }
    throw error;
  }
  const dispatchers = new Dispatchers({ stallTimeoutMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS });
  const machine = options.machineIndex === undefined ? undefined : new MachineIndex(options.machineIndex);
  try {
    // Under the lock, so no other writer's temp file is taken for a crash's leftover.
    await removeInterruptedWrites(layout);
    const plan = await planInstall(layout, validated.artifacts);
    emit({
      event: 'plan',
      bundle: validated.name,
      dir: layout.dir,
      artifacts: plan,
      bytesToFetch: plan.reduce((sum, p) => sum + (p.action === 'already-installed' ? 0 : p.size - p.bytesOnDisk), 0),
    });
    const results = new Map<string, ArtifactResult>();
    const fail = (artifact: Artifact, error: InstallError, bytesKept: number, traffic = { resumedFrom: 0, bytesFetched: 0, bytesBySource: {} }): void => {
      const json = error.forArtifact(artifact.id).toJSON();
      emit({ event: 'failed', id: artifact.id, code: json.code, hint: json.hint, retryable: json.retryable, error: json, bytesKept });
      results.set(artifact.id, result(artifact, 'failed', traffic.resumedFrom, traffic.bytesFetched, traffic.bytesBySource, json));
    };

    const work: Array<{ artifact: Artifact; planned: PlannedArtifact }> = [];
    for (const [index, artifact] of validated.artifacts.entries()) {
      const planned = plan[index]!;
      if (planned.action === 'already-installed') {
        await removeStagingOf(layout, artifact.id);
        // Installed before the index knew of it (or by an older modelhaul): let it serve others.
        await machine?.record(artifact.sha256, layout.finalPath(artifact.path));
        emit({ event: 'skipped', id: artifact.id, path: artifact.path, reason: 'already-installed' });
        results.set(artifact.id, result(artifact, 'already-installed', 0, 0, {}));
      } else {
        work.push({ artifact, planned });
      }
    }

    // A file already at its path (check-existing) is most likely the right one and then needs no
    // space at all; counting it would refuse to adopt a model copied in by hand on a disk that
    // cannot hold it twice. If it turns out wrong, a full disk is still caught when writing.
    const shortage = await spaceShortage(layout, work.filter((w) => w.planned.action !== 'check-existing').map((w) => w.planned));
    if (shortage) {
      for (const { artifact, planned } of work) fail(artifact, shortage, planned.bytesOnDisk);
    } else {
      const settings = transferSettings(options);
      const http: HttpContext = {
        dispatchers,
        credentials: normalizeCredentials(options.credentials),
        allowHttp: options.allowHttp ?? false,
        userAgent: USER_AGENT,
      };
      // The registry or folder the manifest came from first, then the mirrors, then each URL.
      const sources: ArtifactSource[] = [...(fromBundle ? [fromBundle(http)] : []), ...installSources(mirrors, { http, env: options.env ?? process.env, signal })];
      await runPool(
        work,
        options.concurrency ?? DEFAULT_CONCURRENCY,
        async ({ artifact, planned }) => {
          try {
            // Before any byte is fetched or any file adopted: a folder on the way that is a link
            // would fail the promotion only after the whole download (docs/rules.md rule 29).
            await checkParentFolders(layout.dir, artifact.path, artifact.id);
          } catch (error) {
            fail(artifact, asInstallError(error, signal, artifact.id), planned.bytesOnDisk);
            return;
          }
          if (planned.action === 'check-existing' && (await adoptExisting(layout, artifact, signal, emit))) {
            await machine?.record(artifact.sha256, layout.finalPath(artifact.path));
            results.set(artifact.id, result(artifact, 'already-installed', 0, 0, {}));
            return;
          }
          // Cancelled while hashing the file in place: no partial download to start now.
          if (signal.aborted) return;
          const transfer = new ArtifactTransfer({ artifact, layout, locations: locate(sources, artifact), signal, settings, emit });
          const artifactStarted = performance.now();
          try {
            if (machine && (await installFromMachine(machine, artifact, layout, signal, emit))) {
              results.set(artifact.id, result(artifact, 'installed', 0, 0, { [MACHINE_SOURCE]: artifact.size }));
              return;
            }
            const verified = await transfer.run();
            await promoteVerified({ artifact, layout, file: verified.file, sha256: verified.sha256 });
            await machine?.record(verified.sha256, layout.finalPath(artifact.path));
            emit({
              event: 'installed',
              id: artifact.id,
              path: artifact.path,
              sha256: verified.sha256,
              resumedFrom: verified.resumedFrom,
              bytesFetched: verified.bytesFetched,
              bytesBySource: verified.bytesBySource,
              elapsedMs: Math.round(performance.now() - artifactStarted),
            });
            results.set(artifact.id, result(artifact, 'installed', verified.resumedFrom, verified.bytesFetched, verified.bytesBySource));
          } catch (error) {
            // What is kept is read from the disk, by the rule the next run resumes by: a staging
            // folder deleted under a running install keeps nothing, whatever the transfer wrote.
            fail(artifact, asInstallError(error, signal, artifact.id), await durablePartialBytes(layout, artifact).catch(() => 0), {
              resumedFrom: transfer.reusedBytes,
              bytesFetched: transfer.fetchedBytes,
              bytesBySource: transfer.bytesBySource,
            });
          }
        },
        () => signal.aborted,
      );
      for (const { artifact, planned } of work) {
        if (!results.has(artifact.id)) fail(artifact, abortedError(signal), planned.bytesOnDisk);
      }
    }

    const ordered = validated.artifacts.map((artifact) => results.get(artifact.id)!);
    const outcome: InstallResult = {
      ok: ordered.every((r) => r.outcome !== 'failed'),
      results: ordered,
      bytesFetched: ordered.reduce((sum, r) => sum + r.bytesFetched, 0),
      bytesReused: ordered.reduce((sum, r) => sum + r.resumedFrom, 0),
      bytesBySource: sumBySource(ordered),
      elapsedMs: Math.round(performance.now() - started),
    };
    emit({ event: 'done', ...outcome });
    if (signal.aborted) throw abortedError(signal);
    return outcome;
  } finally {
    await dispatchers.close();
    await lock.release();
    unlinkSignal();
  }
}

/**
 * The install's own signal, following the caller's. Each running transfer, connection, hasher
 * and backoff listens to it, so with a high `concurrency` it has many listeners by design: the
 * leak warning Node prints past ten would be noise on the user's terminal.
 */
function installSignal(outer: AbortSignal | undefined): { signal: AbortSignal; unlink: () => void } {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const forward = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  return { signal: controller.signal, unlink: () => outer?.removeEventListener('abort', forward) };
}

/**
 * The result of an install into a dir it cannot write, when metadata shows every artifact installed
 * and verified already; undefined when anything would have to be written.
 */
async function installedWithoutWriting(
  layout: InstallLayout,
  bundle: string,
  artifacts: readonly Artifact[],
  emit: (event: InstallEvent) => void,
  started: number,
): Promise<InstallResult | undefined> {
  const plan = await planInstall(layout, artifacts).catch(() => undefined);
  if (plan === undefined || !plan.every((p) => p.action === 'already-installed')) return undefined;
  emit({ event: 'plan', bundle, dir: layout.dir, artifacts: plan, bytesToFetch: 0 });
  for (const artifact of artifacts) emit({ event: 'skipped', id: artifact.id, path: artifact.path, reason: 'already-installed' });
  const results = artifacts.map((artifact) => result(artifact, 'already-installed', 0, 0, {}));
  const outcome: InstallResult = { ok: true, results, bytesFetched: 0, bytesReused: 0, bytesBySource: {}, elapsedMs: Math.round(performance.now() - started) };
  emit({ event: 'done', ...outcome });
  return outcome;
}

/**
 * The same install as an async iterator of its events, ending with the `done` event. Breaking
 * out of the loop cancels the install.
 *
 * @example
 * ```ts
 * for await (const event of installBundleIter(manifest, { dir })) {
 *   if (event.event === 'progress') bar.update(event.bytes / event.total);
 * }
 * ```
 */
export function installBundleIter(manifest: unknown, options: InstallOptions): AsyncIterable<InstallEvent> {
  const channel = new EventChannel<InstallEvent>();
  const controller = new AbortController();
  const outer = options.signal;
  const forward = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  const run = installBundle(manifest, {
    ...options,
    signal: controller.signal,
    onEvent: (event) => {
      options.onEvent?.(event);
      channel.push(event);
    },
  });
  run.then(
    () => channel.close(),
    (error: unknown) => channel.fail(error),
  ).finally(() => outer?.removeEventListener('abort', forward));
  return channel.iterate(() => controller.abort(new Error('The event iterator was closed')));
}

function transferSettings(options: InstallOptions): TransferSettings {
  return {
    retries: options.retries ?? DEFAULT_RETRIES,
    retryBaseDelayMs: options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
    retryMaxDelayMs: options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS,
    connections: Math.max(1, Math.min(MAX_CONNECTIONS, options.connections ?? DEFAULT_CONNECTIONS)),
    minSegmentBytes: options.minSegmentBytes ?? DEFAULT_MIN_SEGMENT_BYTES,
    checkpointBytes: options.checkpointBytes,
    checkpointIntervalMs: options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
  };
}

/** The locations of an artifact in the order its sources are tried. */
function locate(sources: readonly ArtifactSource[], artifact: Artifact): SourceLocation[] {
  return sources.map((source) => source.locate(artifact)).filter((location) => location !== undefined);
}

function sumBySource(results: readonly ArtifactResult[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const r of results) {
    for (const [source, bytes] of Object.entries(r.bytesBySource)) totals[source] = (totals[source] ?? 0) + bytes;
  }
  return totals;
}

function result(
  artifact: Artifact,
  outcome: ArtifactResult['outcome'],
  resumedFrom: number,
  bytesFetched: number,
  bytesBySource: Record<string, number>,
  error?: ArtifactResult['error'],
): ArtifactResult {
  const value: ArtifactResult = { id: artifact.id, label: artifact.label, outcome, path: artifact.path, size: artifact.size, resumedFrom, bytesFetched, bytesBySource };
  if (error) value.error = error;
  return value;
}

function asInstallError(error: unknown, signal: AbortSignal, artifactId: string): InstallError {
  if (error instanceof InstallError) return error.forArtifact(artifactId);
  if (signal.aborted) return abortedError(signal).forArtifact(artifactId);
  if (isInstallError(error)) return new InstallError(error.code, error.message, { artifactId, hint: error.hint, retryable: error.retryable, details: error.details });
  return fsError(error, 'install', artifactId, artifactId);
}
