import type { Artifact } from '../manifest/types.js';
import type { InstallEvent } from '../events.js';
import type { Checkpointer } from './checkpointer.js';
import type { PartialDownload } from './partial-download.js';
import { ProgressMeter } from './progress-meter.js';

/** Tuning of one artifact's download; the install options fill these in. */
export interface TransferSettings {
  retries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Most connections for one file; 1 is a single stream. */
  connections: number;
  /** A file is split between connections only in pieces at least this large. */
  minSegmentBytes: number;
  /**
   * Make the written bytes durable and record them at least every this many bytes; undefined
   * chooses 0.5% of the file, between 4 and 64 MiB, which bounds what a crash costs to re-fetch.
   */
  checkpointBytes: number | undefined;
  /** ...or this often, whichever comes first. */
  checkpointIntervalMs: number;
}

/**
 * What the parts of one artifact's transfer share while it runs: the partial file, its
 * checkpoints, the counters, and what the run has learnt about the source it talks to.
 */
export interface TransferRun {
  readonly artifact: Artifact;
  readonly partial: PartialDownload;
  readonly checkpointer: Checkpointer;
  readonly settings: TransferSettings;
  readonly emit: (event: InstallEvent) => void;
  readonly tally: TransferTally;
  /** Set when the current source cannot be trusted with ranges: every attempt is then a plain GET from zero. */
  rangesDisabled: boolean;
  /** Set when bytes of this file were joined from responses without a shared strong validator (rule 3). */
  unvalidatedJoin: boolean;
}

/** Bytes that came over the network in this run, in total and per source, and the progress events. */
export class TransferTally {
  bytesFetched = 0;
  readonly bySource: Record<string, number> = {};
  readonly meter = new ProgressMeter();

  constructor(
    private readonly artifact: Artifact,
    private readonly emit: (event: InstallEvent) => void,
  ) {}

  /** Counts `length` bytes from `source` just written, and reports progress when one is due. */
  written(source: string, length: number, bytesOnDisk: number): void {
    this.bytesFetched += length;
    this.bySource[source] = (this.bySource[source] ?? 0) + length;
    const rate = this.meter.sample(bytesOnDisk);
    if (rate !== undefined) {
      this.emit({ event: 'progress', id: this.artifact.id, bytes: bytesOnDisk, total: this.artifact.size, bytesPerSecond: rate });
    }
  }
}
