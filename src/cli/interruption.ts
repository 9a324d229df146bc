import { EXIT } from './exit-codes.js';

/**
 * The CLI's one handling of SIGINT and SIGTERM, the same for every command: the first signal
 * aborts the command's AbortSignal (the engine then stops cleanly: partial downloads
 * checkpointed, the lock released) and makes the exit code 130 or 143, whatever the command
 * returns afterwards and even if the signal arrives after its last step. A second signal exits at
 * once, after the clean-ups registered with {@link Interruption.onHardExit}; the files on disk are
 * consistent at every instant, so nothing is lost but the bytes in flight.
 *
 * @example
 * ```ts
 * const interruption = listenForInterruption(context.err);
 * const undo = interruption.onHardExit(() => display.close());
 * await installBundle(manifest, { dir, signal: interruption.signal });
 * undo();
 * ```
 */
export interface Interruption {
  /** Aborted by the first SIGINT or SIGTERM; every command hands it to the engine. */
  readonly signal: AbortSignal;
  /** The signal that stopped the command, if any. */
  readonly received: NodeJS.Signals | undefined;
  /** 130 after SIGINT, 143 after SIGTERM, undefined while no signal arrived. */
  readonly exitCode: number | undefined;
  /** Runs `cleanup` (clearing a live display, say) before a second signal ends the process. */
  onHardExit(cleanup: () => void): () => void;
  /**
   * For a command that runs until it is stopped (`demo --browser`, a server): the first signal is
   * its normal end, not an interruption, and the command's own exit code stands.
   */
  endsOnSignal(): void;
}

/** The exit code of a command stopped by `signal` (128 + its number, as shells report it). */
export function interruptedExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
}

/**
 * Starts listening for SIGINT and SIGTERM for the rest of the process's life. `write` prints the
 * line shown when a second signal ends the process at once.
 */
export function listenForInterruption(write: (text: string) => void): Interruption {
  const controller = new AbortController();
  const cleanups = new Set<() => void>();
  let received: NodeJS.Signals | undefined;
  let endsOnSignal = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (received !== undefined) {
      for (const cleanup of cleanups) {
        try {
          cleanup();
        } catch {
          // The process ends now either way; one failed clean-up must not stop the others.
        }
      }
      write(`\nmodelhaul: second ${signal}, stopping now; what is on disk is consistent.\n`);
      process.exit(interruptedExitCode(signal));
    }
    received = signal;
    if (!endsOnSignal) process.exitCode = interruptedExitCode(signal);
    controller.abort(new Error(`Interrupted by ${signal}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    get exitCode() {
      return received === undefined || endsOnSignal ? undefined : interruptedExitCode(received);
    },
    onHardExit(cleanup) {
      cleanups.add(cleanup);
      return () => cleanups.delete(cleanup);
    },
    endsOnSignal() {
      endsOnSignal = true;
    },
  };
}
