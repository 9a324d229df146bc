import { InstallError } from '../errors.js';
import type { SourceLocation } from '../sources/source.js';

/**
 * The locations an artifact can come from, in order of preference, and which of them this run has
 * given up on. A location is left for the next when it cannot serve the artifact (it says 404, it
 * refuses our credentials, it has another file) or its retries run out; the artifact fails only
 * when no location is left.
 *
 * @example
 * ```ts
 * const failover = new SourceFailover([mirror, manifestUrl]);
 * const next = failover.giveUp(failover.current, error); // manifestUrl, or undefined when none is left
 * ```
 */
export class SourceFailover {
  private readonly given: Array<{ source: string; code: string }> = [];
  private index = 0;

  constructor(private readonly locations: readonly SourceLocation[]) {
    if (locations.length === 0) throw new Error('an artifact needs at least one source');
  }

  /** The location in use. */
  get current(): SourceLocation {
    return this.locations[this.index]!;
  }

  /** How many locations this run has not given up on, the current one included. */
  get remaining(): number {
    return this.locations.length - this.index;
  }

  /** True when more than one location could serve the artifact in this run. */
  get several(): boolean {
    return this.locations.length > 1;
  }

  /** Gives up the current location because of `error`; returns the next one, if any is left. */
  giveUp(location: SourceLocation, error: InstallError): SourceLocation | undefined {
    if (location !== this.current) return this.current;
    this.given.push({ source: location.source, code: error.code });
    this.index++;
    return this.index < this.locations.length ? this.current : undefined;
  }

  /**
   * The error to report once every location is given up: the last one's, naming what the
   * others said (one location: its error unchanged).
   */
  finalError(last: InstallError): InstallError {
    if (this.given.length <= 1) return last;
    const triedSources = this.given.map((tried) => `${tried.source}: ${tried.code}`).join('; ');
    return new InstallError(last.code, `${last.message} (every source failed: ${triedSources})`, {
      hint: last.hint,
      retryable: last.retryable,
      ...(last.artifactId !== undefined ? { artifactId: last.artifactId } : {}),
      details: { ...last.details, triedSources },
      cause: last.cause,
    });
  }
}
