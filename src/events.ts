import type { ArtifactKind } from './manifest/types.js';
import type { ErrorCode, SerializedInstallError } from './errors.js';

/**
 * What the engine will do with one artifact, decided from the disk before any network traffic:
 * nothing (`already-installed`, the name every result and event uses for that case), download it,
 * resume a partial download, or hash a file found at its path to see whether it can be adopted.
 */
export type PlannedAction = 'already-installed' | 'fetch' | 'resume' | 'check-existing';

export interface PlannedArtifact {
  id: string;
  label: string;
  kind: ArtifactKind;
  size: number;
  path: string;
  action: PlannedAction;
  /** Bytes already durably on disk for this artifact (the whole size when installed). */
  bytesOnDisk: number;
}

/** How an artifact ended up: downloaded and installed in this run, installed before, or failed. */
export type ArtifactOutcome = 'installed' | 'already-installed' | 'failed';

/**
 * The result for one artifact. `resumedFrom` is how many bytes from an earlier run were reused;
 * `bytesFetched` how many came over the network in this run.
 */
export interface ArtifactResult {
  id: string;
  label: string;
  outcome: ArtifactOutcome;
  path: string;
  size: number;
  resumedFrom: number;
  bytesFetched: number;
  /**
   * Bytes this run got for the artifact, by source name (a mirror's URL, the manifest URL's
   * origin, or `this machine` for a copy of a file installed elsewhere on it).
   */
  bytesBySource: Record<string, number>;
  error?: SerializedInstallError;
}

/**
 * Everything an install reports while it runs: plain JSON-serializable objects, tagged by
 * `event`, safe to send over Electron IPC or to print as one NDJSON line each.
 */
export type InstallEvent =
  | {
      event: 'plan';
      bundle: string;
      dir: string;
      artifacts: PlannedArtifact[];
      /** Bytes still to download for the whole bundle. */
      bytesToFetch: number;
    }
  | { event: 'lock-wait'; lockPath: string; holder: { pid: number; hostname: string; startedAt: string } }
  | {
      event: 'start';
      id: string;
      /** Byte offset the download continues from (0 for a fresh download). */
      offset: number;
      total: number;
      attempt: number;
      connections: number;
      /** The source this attempt downloads from. */
      source: string;
    }
  | { event: 'progress'; id: string; bytes: number; total: number; bytesPerSecond: number }
  | {
      event: 'restart';
      id: string;
      /**
       * Why bytes on disk were discarded. Usually the download starts over from zero; when a
       * checksum mismatch is blamed on one source, only that source's bytes go (see `start`).
       */
      reason: string;
      discardedBytes: number;
      /** Bytes of the artifact still on disk after the discard: 0 when it starts over. */
      bytesKept: number;
    }
  | { event: 'retry'; id: string; attempt: number; delayMs: number; error: SerializedInstallError }
  | {
      event: 'failover';
      id: string;
      /** The source given up for this artifact in this run... */
      from: string;
      /** ...and the one tried next. Bytes already on disk are kept. */
      to: string;
      error: SerializedInstallError;
    }
  | { event: 'verifying'; id: string; bytes: number; total: number }
  | {
      event: 'installed';
      id: string;
      path: string;
      sha256: string;
      resumedFrom: number;
      bytesFetched: number;
      /** Bytes this run got for the artifact, by source. */
      bytesBySource: Record<string, number>;
      elapsedMs: number;
    }
  | {
      event: 'skipped';
      id: string;
      path: string;
      /** `already-installed`: the record says so; `verified-existing`: a file found in place was hashed and adopted. */
      reason: 'already-installed' | 'verified-existing';
    }
  | { event: 'failed'; id: string; code: ErrorCode; hint: string; retryable: boolean; error: SerializedInstallError; bytesKept: number }
  | {
      event: 'done';
      ok: boolean;
      results: ArtifactResult[];
      bytesFetched: number;
      bytesReused: number;
      /** Bytes this run got, by source: the sum over the artifacts. */
      bytesBySource: Record<string, number>;
      elapsedMs: number;
    };

/** The names of all events, for consumers that switch on them. */
export type InstallEventName = InstallEvent['event'];
