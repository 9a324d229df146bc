/**
 * The one object a user interface needs to show the state of a model bundle: what a
 * {@link ModelLifecycle} hands its listeners, what crosses Electron IPC, what
 * `<modelhaul-download>` renders. Plain data only (no class instances, functions, Dates, Maps), so
 * it survives `structuredClone`, `postMessage` and `JSON.stringify` unchanged.
 */
import type { ErrorCode, SerializedInstallError } from '../errors.js';
import type { ArtifactKind } from '../manifest/types.js';

/**
 * Where the bundle as a whole stands.
 *
 * - `checking`: reading the install dir (metadata only); the first phase of every lifecycle.
 * - `missing`: nothing is running and some or all artifacts are absent; `start()` begins.
 * - `downloading`: an install is running and moving bytes.
 * - `paused`: stopped by `pause()`; every byte on disk is kept; `resume()` continues.
 * - `offline`: waiting for the network to come back; no failure counted, no retry spent.
 * - `retry-wait`: a retryable failure; the next attempt starts at `nextRetryAt` (or on `retry()`).
 * - `verifying`: bytes are all there and the last SHA-256 checks are running.
 * - `blocked`: a person must act (free disk space, fix permissions, close another installer); see `blocked`.
 * - `failed`: a failure that is not retryable; see `error`. `retry()` tries again.
 * - `ready`: every artifact is installed and verified.
 */
export type LifecyclePhase =
  | 'checking'
  | 'missing'
  | 'downloading'
  | 'paused'
  | 'offline'
  | 'retry-wait'
  | 'verifying'
  | 'blocked'
  | 'failed'
  | 'ready';

/** Where one artifact stands. `partial` means bytes from an earlier run are kept for resuming. */
export type ArtifactPhase = 'missing' | 'partial' | 'queued' | 'downloading' | 'verifying' | 'installed' | 'failed';

/** The failure a snapshot reports: what a UI shows (hint first, code under a disclosure). */
export interface LifecycleError {
  code: ErrorCode;
  message: string;
  /**
   * What to tell a person using the app: the code's `appHint` from modelhaul's error table, which
   * names no command or option. The engine's own hint, for developers, is `error.hint`.
   */
  hint: string;
  retryable: boolean;
  /** The artifact the failure concerns, when it concerns one. */
  artifactId: string | null;
  /** The whole serialized error, for logs and bug reports. */
  error: SerializedInstallError;
}

/** Why a person must act before the download can go on. */
export interface LifecycleBlock {
  code: Extract<ErrorCode, 'DISK_FULL' | 'PERMISSION_DENIED' | 'LOCKED'>;
  hint: string;
  /** For DISK_FULL: bytes to free in the install dir's file system before the download can go on. */
  bytesToFree: number | null;
  /** The path a person must look at: the install dir, or the lock file for LOCKED. */
  path: string | null;
}

export interface ArtifactSnapshot {
  id: string;
  label: string;
  kind: ArtifactKind;
  /** Relative path inside the install dir. */
  path: string;
  state: ArtifactPhase;
  /** Bytes on disk for this artifact (durable or being written); equals `total` when installed. */
  bytes: number;
  total: number;
  /** Smoothed download rate of this artifact in bytes per second; 0 when not moving. */
  bytesPerSecond: number;
  /** Set when this artifact failed. */
  error: LifecycleError | null;
}

/** Whether the files of one kind are all installed, so an app can switch a feature on. */
export interface CapabilitySnapshot {
  kind: ArtifactKind;
  /** True when every artifact of this kind is installed and verified (and there is at least one). */
  ready: boolean;
  /** How many artifacts of this kind the bundle has (0: the bundle does not need this capability). */
  artifacts: number;
  bytes: number;
  total: number;
}

export interface LifecycleSnapshot {
  /** Bumped when the shape changes incompatibly. */
  schema: 1;
  /** The manifest's bundle name. */
  bundle: string;
  /** The install dir, absolute. */
  dir: string;
  phase: LifecyclePhase;
  /** Bytes on disk over the whole bundle (installed plus partial), and the bundle's size. */
  bytes: number;
  total: number;
  /** Bytes still to download (total minus bytes). */
  bytesRemaining: number;
  /** Smoothed overall rate in bytes per second; falls to 0 while nothing arrives (a stall). */
  bytesPerSecond: number;
  /** Seconds left at the current rate; null until the rate is stable, and whenever it is 0. */
  etaSeconds: number | null;
  /** Failed attempts in a row without progress (0 before any failure). */
  attempt: number;
  /** Epoch milliseconds of the next automatic retry, in `retry-wait`; otherwise null. */
  nextRetryAt: number | null;
  /** The last failure, in `retry-wait`, `failed` and `blocked`; otherwise null. */
  error: LifecycleError | null;
  /** What a person must do, in `blocked`; otherwise null. */
  blocked: LifecycleBlock | null;
  /** Free bytes in the install dir's file system at the last check; null if unknown. */
  freeBytes: number | null;
  /** Whether the network is reachable, as the injected `isOnline()` last said. */
  online: boolean;
  /** One entry per kind (`stt`, `llm`, `tts`, `other`), always all four. */
  capabilities: Record<ArtifactKind, CapabilitySnapshot>;
  /** One entry per artifact, in manifest order. */
  artifacts: ArtifactSnapshot[];
  /** Epoch milliseconds when this snapshot was made. */
  at: number;
  /**
   * Counts up by one with every snapshot a lifecycle makes. Snapshots that reach a UI by two paths
   * (pushed to a listener, and returned by an action over IPC or HTTP) can arrive out of order: a
   * UI keeps the one with the highest sequence.
   */
  sequence: number;
}
