import { InstallError } from '../errors.js';
import type { SourceLocation } from '../sources/source.js';

/**
 * Failures in a row without progress after which a source that has another one behind it is
 * left for that one. The last source gets the full `retries`: there is nowhere else to go.
 */
export const RETRIES_BEFORE_FAILOVER = 2;

/**
 * The locations an artifact can come from, in order of preference, and which of them this run has
 * given up on. A location is left for the next when it cannot serve the artifact (it says 404, it
 * refuses our credentials, it has another file, its bytes were blamed for a mismatch) or its
 * retries run out; the artifact fails only when no location is left.
 *
 * @example
 * ```ts
 * const failover = new SourceFailover([mirror, manifestUrl]);
 * const next = failover.giveUp(failover.current, error); // manifestUrl, or undefined when none is left
 * ```
 */
export class SourceFailover {
  private readonly given: Array<{ source: string; code: string }> = [];
  private readonly usable: SourceLocation[];

  constructor(locations: readonly SourceLocation[]) {
    if (locations.length === 0) throw new Error('an artifact needs at least one source');
    this.usable = [...locations];
  }

  /** The location in use. */
  get current(): SourceLocation {
    return this.usable[0]!;
  }

  /** True when another location is left after the current one. */
  get hasNext(): boolean {
    return this.usable.length > 1;
  }

  /** Names of the sources given up in this run, in the order they were given up. */
  get givenUp(): readonly string[] {
    return this.given.map((tried) => tried.source);
  }

  /** How many failures in a row without progress the current location gets. */
  retriesFor(retries: number): number {
    return this.hasNext ? Math.min(retries, RETRIES_BEFORE_FAILOVER) : retries;
  }

  /** Gives up the current location because of `error`; returns the next one, if any is left. */
  giveUp(error: InstallError): SourceLocation | undefined {
    return this.exclude(this.current.source, error.code);
  }

  /**
   * Gives up every location of `source` (current or not): its bytes were blamed for a mismatch.
   * Returns the location in use afterwards, if any is left.
   */
  exclude(source: string, code: string): SourceLocation | undefined {
    if (!this.given.some((tried) => tried.source === source)) this.given.push({ source, code });
    for (let i = this.usable.length - 1; i >= 0; i--) {
      if (this.usable[i]!.source === source) this.usable.splice(i, 1);
    }
    return this.usable[0];
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
