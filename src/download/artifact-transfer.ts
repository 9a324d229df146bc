import type { FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortedError, InstallError } from '../errors.js';
import type { Artifact } from '../manifest/types.js';
import type { InstallEvent } from '../events.js';
import type { InstallLayout } from '../store/layout.js';
import { fsError } from '../store/fs-error.js';
import { retryDelayMs } from '../http/retry-delay.js';
import { redactUrl } from '../http/network-error.js';
import type { SourceLocation } from '../sources/source.js';
import { runAttempt } from './attempt.js';
import { Checkpointer } from './checkpointer.js';
import { defaultCheckpointBytes } from '../defaults.js';
import { PartialDownload } from './partial-download.js';
import { startOverFromZero } from './range-request.js';
import { SourceFailover } from './source-failover.js';
import { planAfterMismatch } from './mismatch-blame.js';
import { StartOver } from './start-over.js';
import { TransferTally, type TransferRun, type TransferSettings } from './transfer-run.js';

export type { TransferSettings } from './transfer-run.js';

export interface TransferContext {
  artifact: Artifact;
  layout: InstallLayout;
  /** Where the artifact can come from, in order of preference; at least one. */
  locations: readonly SourceLocation[];
  signal: AbortSignal;
  settings: TransferSettings;
  emit: (event: InstallEvent) => void;
}

/** A downloaded, verified partial file, ready to be promoted. */
export interface VerifiedPartial {
  file: FileHandle;
  sha256: string;
  resumedFrom: number;
  bytesFetched: number;
  /** Bytes fetched in this run per source. */
  bytesBySource: Record<string, number>;
}

/** Restarts from zero allowed on one source in one run before modelhaul gives up on it. */
const MAX_START_OVERS = 3;

/** Failures that are this machine's, not the source's: no other source would do better. */
const LOCAL_FAILURES = new Set(['ABORTED', 'FILESYSTEM', 'DISK_FULL', 'PERMISSION_DENIED', 'UNSAFE_PATH']);

/**
 * Downloads one artifact into its partial file until every byte is on disk and the SHA-256 of the
 * whole file is known. This is the retry policy: transient failures back off and resume on the
 * same source, a source that cannot serve the artifact (or runs out of retries) hands over to the
 * next, bytes that cannot be trusted start over. The parts it drives each own one concern: the
 * partial file and its record (partial-download.ts), checkpoints (checkpointer.ts), one attempt
 * over several connections (attempt.ts), range requests (range-request.ts) and streaming into a
 * segment (segment-stream.ts). It does not promote: the caller does, once it has the digest.
 */
export class ArtifactTransfer {
  private run_: TransferRun | undefined;
  /** Set once a mismatch was blamed on one source's bytes. */
  private blamed = false;
  private readonly failover: SourceFailover;
  private readonly tally: TransferTally;

  constructor(private readonly context: TransferContext) {
    this.failover = new SourceFailover(context.locations);
    this.tally = new TransferTally(context.artifact, context.emit);
  }

  /** Runs the download to a verified partial, or throws an {@link InstallError}. */
  async run(): Promise<VerifiedPartial> {
    const { artifact, layout, settings, emit } = this.context;
    const partial = await PartialDownload.open(artifact, layout, emit);
    const checkpointer = new Checkpointer(partial, {
      bytes: settings.checkpointBytes ?? defaultCheckpointBytes(artifact.size),
      intervalMs: settings.checkpointIntervalMs,
    });
    this.run_ = { artifact, partial, checkpointer, settings, emit, tally: this.tally, rangesDisabled: false, unvalidatedJoin: false };
    try {
      return await this.downloadAndHash(this.run_);
    } catch (error) {
      await partial.file.close().catch(() => undefined);
      throw error;
    } finally {
      await partial.hasher.close();
    }
  }

  /** Bytes that came over the network in this run, for the result of a failed artifact too. */
  get fetchedBytes(): number {
    return this.tally.bytesFetched;
  }

  /** Bytes fetched in this run per source. */
  get bytesBySource(): Record<string, number> {
    return { ...this.tally.bySource };
  }

  /** Bytes from an earlier run this one continued from (0 once they were discarded). */
  get reusedBytes(): number {
    return this.run_?.partial.resumedFrom ?? 0;
  }

  private async downloadAndHash(run: TransferRun): Promise<VerifiedPartial> {
    const { settings, signal } = this.context;
    const { partial, checkpointer, artifact } = run;
    let attempt = 0;
    let failuresInARow = 0;
    let startOvers = 0;
    let freshRetryUsed = false;
    for (;;) {
      attempt++;
      const location = this.failover.current;
      const writtenBefore = partial.segments.writtenBytes;
      try {
        if (signal.aborted) throw abortedError(signal);
        if (!partial.segments.complete) await runAttempt(run, location, attempt, signal);
        this.context.emit({ event: 'verifying', id: artifact.id, bytes: partial.segments.writtenBytes, total: artifact.size });
        await checkpointer.checkpoint();
        const sha256 = await partial.digest();
        if (sha256 === artifact.sha256) {
          return { file: partial.file, sha256, resumedFrom: partial.resumedFrom, bytesFetched: this.tally.bytesFetched, bytesBySource: this.bytesBySource };
        }
        const next = await this.afterMismatch(run, location, this.checksumError(sha256, location), !freshRetryUsed);
        if (next === 'fresh-retry') freshRetryUsed = true;
        failuresInARow = 0;
        continue;
      } catch (caught) {
        let error = caught;
        if (error instanceof StartOver) {
          await checkpointer.settle();
          if (++startOvers <= MAX_START_OVERS) {
            await startOverFromZero(run, error.reason, error.cause !== undefined);
            continue;
          }
          error = error.cause ?? new InstallError('RANGE_NOT_HONOURED', `Gave up after ${MAX_START_OVERS} restarts: ${error.reason}`, { artifactId: artifact.id });
        }
        const failure = this.asInstallError(error);
        if (failure.code === 'CHECKSUM_MISMATCH' || (failure.code === 'SIZE_MISMATCH' && !this.failover.hasNext)) {
          // Bytes of the wrong file are worth nothing; keep nothing of them.
          await checkpointer.invalidate();
          await partial.discardFiles();
          throw failure;
        }
        await checkpointer.settle();
        // A file-system failure of the install dir stops the install; one of a source (the disk
        // of an image-layout folder) is that source's, and the next one may serve the rest.
        if ((LOCAL_FAILURES.has(failure.code) && failure.details.sourceSide !== true) || signal.aborted) throw failure;
        if (location.classify(failure) === 'retry-here') {
          failuresInARow = partial.segments.writtenBytes > writtenBefore ? 1 : failuresInARow + 1;
          if (failuresInARow <= this.failover.retriesFor(settings.retries)) {
            await this.backOff(failure, failuresInARow, attempt);
            continue;
          }
        }
        if (failure.code === 'SIZE_MISMATCH') {
          // What that source wrote belongs to another file; what the others wrote is still good.
          await this.forget(run, location.source);
        }
        this.failOver(run, location, failure);
        failuresInARow = 0;
        startOvers = 0;
      }
    }
  }

  /**
   * After a SHA-256 mismatch, blames a source (mismatch-blame.ts) and arranges the next attempt:
   * the suspect's bytes fetched again from the source in use, or everything from the next
   * source. With one source left and every byte its own, the last resort is one download from
   * zero when the bytes were joined from an earlier run or without a validator (rule 3); then
   * the mismatch is reported.
   */
  private async afterMismatch(run: TransferRun, location: SourceLocation, mismatch: InstallError, freshRetryLeft: boolean): Promise<'fresh-retry' | 'next'> {
    const { partial, artifact } = run;
    const plan = planAfterMismatch(partial.spans, location.source, this.failover.givenUp);
    if (plan.kind === 'forget-source') {
      const discardedBytes = await this.forget(run, plan.source);
      this.failover.exclude(plan.source, mismatch.code);
      this.blamed = true;
      const reason = `the SHA-256 did not match; the ${discardedBytes} bytes from ${plan.source} are fetched again from ${location.source}`;
      this.context.emit({ event: 'restart', id: artifact.id, reason, discardedBytes, bytesKept: partial.segments.durableBytes });
      return 'next';
    }
    if (plan.source !== location.source) {
      // Every byte came from a source this run no longer uses (an earlier run's): it is the culprit.
      await startOverFromZero(run, `the SHA-256 of the bytes from ${plan.source} did not match; downloading from zero`, true);
      this.failover.exclude(plan.source, mismatch.code);
      return 'next';
    }
    if (this.failover.hasNext) {
      await startOverFromZero(run, `the SHA-256 of the bytes from ${location.source} did not match; trying the next source`, true);
      this.failOver(run, location, mismatch);
      return 'next';
    }
    if (freshRetryLeft && (partial.resumedFrom > 0 || run.unvalidatedJoin || this.blamed)) {
      // Bytes joined from an earlier run or without a validator may be the cause: discard them
      // and try once from zero before calling the upstream file wrong (docs/rules.md rule 3).
      await startOverFromZero(run, 'the SHA-256 of a resumed download did not match; downloading again from zero', true);
      return 'fresh-retry';
    }
    throw this.failover.finalError(mismatch);
  }

  /** Discards what `source` wrote into the partial file, keeping every other source's bytes. */
  private async forget(run: TransferRun, source: string): Promise<number> {
    await run.checkpointer.invalidate();
    const forgotten = await run.partial.forgetSource(source);
    run.checkpointer.rebase();
    run.tally.meter.reset();
    return forgotten;
  }

  /** Leaves `location` for the next source, or throws when it was the last one. */
  private failOver(run: TransferRun, location: SourceLocation, failure: InstallError): void {
    const next = this.failover.giveUp(failure);
    if (!next) throw this.failover.finalError(failure);
    this.context.emit({ event: 'failover', id: run.artifact.id, from: location.source, to: next.source, error: failure.toJSON() });
    run.rangesDisabled = false;
  }

  private async backOff(failure: InstallError, failuresInARow: number, attempt: number): Promise<void> {
    const { settings, signal, artifact } = this.context;
    const retryAfterMs = typeof failure.details.retryAfterMs === 'number' ? failure.details.retryAfterMs : undefined;
    const delayMs = retryDelayMs({
      attempt: failuresInARow,
      baseMs: settings.retryBaseDelayMs,
      maxMs: settings.retryMaxDelayMs,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
    this.context.emit({ event: 'retry', id: artifact.id, attempt: attempt + 1, delayMs, error: failure.toJSON() });
    try {
      await sleep(delayMs, undefined, { signal });
    } catch {
      throw abortedError(signal).forArtifact(artifact.id);
    }
  }

  private checksumError(found: string, location: SourceLocation): InstallError {
    const { artifact } = this.context;
    return new InstallError(
      'CHECKSUM_MISMATCH',
      `SHA-256 mismatch for ${artifact.id}: expected ${artifact.sha256}, got ${found}; the downloaded bytes were discarded`,
      {
        artifactId: artifact.id,
        hint: 'The upstream file changed or was damaged in transit; if the model was updated upstream, update the manifest (size and sha256), otherwise run the same command again.',
        details: { expected: artifact.sha256, found, url: redactUrl(location.validatorsFrom), source: location.source },
      },
    );
  }

  private asInstallError(error: unknown): InstallError {
    const { artifact, signal } = this.context;
    if (error instanceof InstallError) return error.forArtifact(artifact.id);
    if (signal.aborted) return abortedError(signal).forArtifact(artifact.id);
    return fsError(error, 'download', this.run_?.partial.partialPath ?? artifact.id, artifact.id);
  }
}
