/**
 * One `installBundle` run of a lifecycle: started, watched for progress, possibly stopped, and
 * ended with an outcome. Whatever stops a run (pause, offline, wake, cancel) aborts it; the engine
 * keeps every durable byte on an abort, so the next run simply resumes.
 */
import { InstallError, isInstallError, type SerializedInstallError } from '../errors.js';
import type { InstallEvent } from '../events.js';
import { installBundle, type InstallOptions, type InstallResult } from '../operations/install.js';
import type { Manifest } from '../manifest/types.js';
import { severity } from './retry-policy.js';

/** How a run ended: the engine's result (per-artifact failures included), or what it threw. */
export type RunOutcome = { result: InstallResult } | { error: unknown };

export class InstallRun {
  private readonly controller = new AbortController();
  /** Where each artifact's download started in this run, to tell new bytes from resumed ones. */
  private readonly offsets = new Map<string, number>();
  private movedBytes = false;
  /** Settles when the install has stopped and released the install dir; never rejects. */
  readonly finished: Promise<RunOutcome>;

  constructor(manifest: Manifest, options: Omit<InstallOptions, 'signal' | 'onEvent'>, onEvent: (event: InstallEvent) => void) {
    this.finished = installBundle(manifest, {
      ...options,
      signal: this.controller.signal,
      onEvent: (event) => {
        this.observe(event);
        onEvent(event);
      },
    }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
  }

  /** True once {@link stop} was called: the run is on its way out and its events are no longer news. */
  get stopping(): boolean {
    return this.controller.signal.aborted;
  }

  /** Whether any artifact gained bytes or got installed: a failure after progress starts the count afresh. */
  get progressed(): boolean {
    return this.movedBytes;
  }

  stop(reason: unknown): void {
    if (!this.stopping) this.controller.abort(reason);
  }

  private observe(event: InstallEvent): void {
    if (event.event === 'start') this.offsets.set(event.id, event.offset);
    else if (event.event === 'progress' && event.bytes > (this.offsets.get(event.id) ?? Infinity)) this.movedBytes = true;
    else if (event.event === 'installed') this.movedBytes = true;
  }
}

/** The failure a bundle-wide phase reports: the most severe one, the first in manifest order among equals. */
export function governingFailure(outcome: RunOutcome): SerializedInstallError | undefined {
  if ('error' in outcome) return serializeFailure(outcome.error);
  let worst: SerializedInstallError | undefined;
  for (const result of outcome.result.results) {
    if (result.error && (worst === undefined || severity(result.error) > severity(worst))) worst = result.error;
  }
  return worst;
}

/**
 * The engine turns every failure into an InstallError; anything else reaching here is a bug, and
 * is reported as one that no retry fixes.
 */
export function serializeFailure(error: unknown): SerializedInstallError {
  if (isInstallError(error)) return error instanceof InstallError ? error.toJSON() : error;
  const message = error instanceof Error ? error.message : String(error);
  return new InstallError('FILESYSTEM', `Unexpected failure: ${message}`, { retryable: false, cause: error }).toJSON();
}
