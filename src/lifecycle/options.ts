/**
 * The public shape of a model lifecycle: what {@link createModelLifecycle} takes and what it
 * returns.
 */
import type { InstallOptions } from '../operations/install.js';
import type { ArtifactKind } from '../manifest/types.js';
import type { LifecycleClock } from './clock.js';
import type { RetryDelay, ShouldRetry } from './retry-policy.js';
import type { LifecycleSnapshot } from './snapshot.js';

/** What the operating system says about power: the machine goes to sleep, or wakes up. */
export type PowerEvent = 'suspend' | 'resume';

/**
 * Options of {@link createModelLifecycle}: the manifest, every option of `installBundle` (`dir`
 * is required), and the inputs an app feeds in about the network and power.
 *
 * `retries` (the engine's own quick retries within one run) defaults to 2 here instead of 5: a
 * dropped connection is still resumed within a second without a word, but a longer outage comes
 * to the lifecycle's policy at once, and a person sees `retry-wait` with a countdown instead of a
 * download that seems to hang.
 *
 * @example
 * ```ts
 * const lifecycle = createModelLifecycle({
 *   manifest: await loadManifestFile('models.json'),
 *   dir: path.join(app.getPath('userData'), 'models'),
 *   isOnline: () => net.isOnline(),
 *   watchPower: (onEvent) => {
 *     const suspend = () => onEvent('suspend');
 *     const resume = () => onEvent('resume');
 *     powerMonitor.on('suspend', suspend).on('resume', resume);
 *     return () => powerMonitor.off('suspend', suspend).off('resume', resume);
 *   },
 * });
 * ```
 */
export interface LifecycleOptions extends Omit<InstallOptions, 'signal'> {
  /** The manifest, as parsed JSON; validated at once (an invalid one throws `MANIFEST_INVALID`). */
  manifest: unknown;
  /**
   * Whether the network is reachable. When it says `false` a running download stops at once and
   * waits in `offline`, costing no retry, and resumes by itself when it says `true` again. Without
   * it the lifecycle takes the network to be always there and a lost connection is an ordinary
   * retryable failure.
   */
  isOnline?: () => boolean;
  /**
   * Tells the lifecycle when to ask `isOnline()` again: called once with a callback, returns a
   * function that stops the notifications. Without it, `isOnline()` is polled every
   * `onlinePollMs` while a download is wanted (not while idle, paused or ready).
   */
  watchOnline?: (onChange: () => void) => () => void;
  /** How often `isOnline()` is polled when there is no `watchOnline`. Default 1000 ms. */
  onlinePollMs?: number;
  /**
   * Feeds in sleep and wake: called once with a callback, returns a function that stops the
   * notifications. On `resume` a running download is restarted at once (connections do not
   * survive a sleep, and waiting for the stall timeout would cost half a minute), and a retry
   * that was waiting is tried now.
   */
  watchPower?: (onEvent: (event: PowerEvent) => void) => () => void;
  /** Overrides the retry decision; see {@link ShouldRetry}. Default: retryable failures, 10 in a row at most. */
  shouldRetry?: ShouldRetry;
  /** Overrides the wait before an automatic retry. Default: backoff from about 2 s to a minute, with jitter. */
  retryDelay?: RetryDelay;
  /** The clock and timers; tests inject their own. Default: the wall clock and Node's timers. */
  clock?: LifecycleClock;
}

/** Options of {@link ModelLifecycle.whenReady}. */
export interface WhenReadyOptions {
  /** The capabilities to wait for. Default: every kind the bundle has artifacts of. */
  kinds?: readonly ArtifactKind[];
  /** Stops waiting: the promise rejects with an `ABORTED` InstallError whose cause is the signal's reason. The download goes on. */
  signal?: AbortSignal;
}

/**
 * One model bundle's way from "not there" to "ready", owned by one process (in an Electron app,
 * the main process). Every method is safe in every phase: an action that does not apply to the
 * current phase does nothing, and two `start()`s make one install. Only one install runs at a
 * time: an action that needs a new one while the last is still stopping waits for it.
 *
 * @example
 * ```ts
 * const lifecycle = createModelLifecycle({ manifest, dir });
 * lifecycle.subscribe((snapshot) => window.webContents.send('models', snapshot));
 * lifecycle.start();
 * await lifecycle.whenReady({ kinds: ['stt'] }); // speech recognition can start; the LLM may still download
 * enableDictation();
 * ```
 */
export interface ModelLifecycle {
  /** Reads the install dir again (metadata only, no hashing, no network) and resolves with the snapshot. */
  check(): Promise<LifecycleSnapshot>;
  /** In `missing`: starts downloading (or waits in `offline`). Called while `checking`, starts once the check is done. */
  start(): void;
  /** In `downloading`, `verifying`, `retry-wait` or `offline`: stops, keeping every byte, and stays `paused`. */
  pause(): void;
  /** In `paused`: goes on from the bytes on disk. */
  resume(): void;
  /** Stops whatever is going on and goes back to `missing`. Downloaded bytes are kept for the next `start()`. */
  cancel(): void;
  /**
   * In `retry-wait`: tries now instead of at `nextRetryAt`. In `failed` or `blocked` (once a person
   * has acted): tries again with a fresh count. In `offline`: tries now although `isOnline()` says no.
   */
  retry(): void;
  /** The current state. The same object until something changes; frozen. */
  getSnapshot(): LifecycleSnapshot;
  /**
   * Calls `listener` with a snapshot at every phase change and otherwise at most five times a
   * second while something changes. Not called at once: use {@link getSnapshot} for the current one.
   *
   * @returns A function that ends this subscription.
   */
  subscribe(listener: (snapshot: LifecycleSnapshot) => void): () => void;
  /**
   * Resolves with the first snapshot in which every artifact of the given kinds is installed and
   * verified. Rejects with a RangeError for a kind the bundle has no artifact of, and with an
   * `ABORTED` InstallError when the signal aborts or the lifecycle is disposed.
   */
  whenReady(options?: WhenReadyOptions): Promise<LifecycleSnapshot>;
  /**
   * Stops the install (bytes are kept), the timers and the inputs, and drops every listener.
   * Resolves once the install has stopped and released the install dir. Idempotent.
   */
  dispose(): Promise<void>;
}
