import type { InstallError } from '../errors.js';
import { fsError } from '../store/fs-error.js';
import type { PartialDownload } from './partial-download.js';

/** How often written bytes are made durable and claimed by the resume record. */
export interface CheckpointSettings {
  /** At least every this many bytes... */
  bytes: number;
  /** ...and at least this often, in milliseconds. */
  intervalMs: number;
}

/**
 * Makes written bytes durable and records them, in that order: fdatasync the partial file, then
 * write the resume record atomically, so the record never claims bytes a power cut could lose
 * (RESUME-SEMANTICS rule 21). One checkpoint runs at a time; a generation number lets a restart
 * or a discard tell a checkpoint already under way that its snapshot no longer counts.
 */
export class Checkpointer {
  /** A checkpoint that failed while nobody awaited it; the stream that notices it ends the attempt. */
  backgroundFailure: Error | undefined;
  private running: Promise<void> | undefined;
  private generation = 0;
  private lastAt = 0;
  private lastBytes: number;
  /** The failed fdatasync, once one failed: from then on nothing is synced or recorded (rule 21). */
  private fsyncFailure: InstallError | undefined;

  constructor(
    private readonly partial: PartialDownload,
    private readonly settings: CheckpointSettings,
  ) {
    this.lastBytes = partial.segments.durableBytes;
  }

  /** After each completed write: starts a checkpoint when enough bytes or time have gone by. */
  afterWrite(): void {
    const written = this.partial.segments.writtenBytes;
    if (
      this.running === undefined &&
      (written - this.lastBytes >= this.settings.bytes || performance.now() - this.lastAt >= this.settings.intervalMs)
    ) {
      this.checkpoint().catch((error: unknown) => {
        this.backgroundFailure ??= asError(error);
      });
    }
  }

  /**
   * Makes what is written durable and then records it. If the fdatasync fails the attempt ends
   * and nothing more is synced in this run: a second fsync could falsely report success.
   */
  checkpoint(): Promise<void> {
    // Every caller goes through here, including a write that completes after the failure and
    // before its stream has seen it: such a write once started a second fdatasync that succeeded,
    // and the record it wrote claimed bytes the failed one had left unsynced.
    if (this.fsyncFailure) return Promise.reject(this.fsyncFailure);
    if (this.running) return this.running.then(() => this.checkpoint());
    const { partial } = this;
    const generation = this.generation;
    const snapshot = partial.segments.writtenSnapshot();
    this.lastAt = performance.now();
    this.lastBytes = partial.segments.writtenBytes;
    const work = (async () => {
      try {
        await partial.file.datasync();
      } catch (error) {
        this.fsyncFailure = fsError(error, 'make the partial download durable (fdatasync)', partial.partialPath, partial.artifact.id);
        throw this.fsyncFailure;
      }
      if (generation !== this.generation) return;
      partial.record.segments = snapshot;
      partial.record.sources = partial.spans.within(snapshot);
      await partial.writeRecord();
      if (generation === this.generation) {
        partial.segments.markDurable(snapshot);
        partial.segments.mergeCompleted();
      }
    })();
    this.running = work.finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * Reading pauses while more than a few checkpoints' worth of written bytes wait for their
   * fdatasync. Without it a network faster than the disk runs ahead of the durable point, each
   * sync has more to flush, and a crash costs far more than one checkpoint of re-download; the
   * download then goes at the speed the disk makes bytes durable, which is the real floor.
   */
  async keepDurablePointClose(): Promise<void> {
    const limit = 3 * this.settings.bytes;
    const { segments } = this.partial;
    while (segments.writtenBytes - segments.durableBytes > limit && this.backgroundFailure === undefined) {
      await (this.running ?? this.checkpoint()).catch((error: unknown) => {
        this.backgroundFailure ??= asError(error);
      });
    }
  }

  /**
   * Stops checkpoints from recording what they snapshotted: the bytes are about to be discarded.
   * Waits for one under way, so that nothing writes the record behind the caller's back.
   */
  async invalidate(): Promise<void> {
    this.generation++;
    await this.running?.catch(() => undefined);
  }

  /** After discarding bytes: the next checkpoint is measured from what is left. */
  rebase(): void {
    this.lastBytes = this.partial.segments.writtenBytes;
  }

  /** After a failed attempt: forget bytes that never reached the file, and checkpoint what did. */
  async settle(): Promise<void> {
    const { segments, hasher } = this.partial;
    segments.forgetUnwritten();
    const hashed = hasher.hashedBytes;
    if (hashed > 0 && segments.writtenEndAt(hashed - 1) < hashed) {
      // Bytes hashed in memory never reached the file; hash from the file instead.
      hasher.reset();
    }
    await this.running?.catch(() => undefined);
    this.backgroundFailure = undefined;
    // After a failed fdatasync this refuses: nothing more is synced by this process, as a second
    // fsync may report success for pages the kernel already dropped (rule 21).
    await this.checkpoint().catch(() => undefined);
  }
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The default checkpoint distance: 0.5% of the file, at least 4 MiB, at most 64 MiB. */
export function checkpointBytesFor(size: number): number {
  const mib = 1024 * 1024;
  return Math.min(64 * mib, Math.max(4 * mib, Math.round(size / 200)));
}
