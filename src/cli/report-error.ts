import { InstallError, isInstallError } from '../errors.js';
import { EXIT, USAGE_ERROR_CODES } from './exit-codes.js';
import type { CliContext } from './context.js';
import { interruptedExitCode } from './interruption.js';
import type { Painter } from './render/paint.js';

export interface ErrorOutput {
  json: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  paint: Painter;
  /** The signal that interrupted the command, if one did: an ABORTED then is no failure. */
  interrupted?: () => NodeJS.Signals | undefined;
}

/** Where a command of `context` reports a failure, with or without --json. */
export function errorOutput(context: CliContext, json: boolean): ErrorOutput {
  return { json, stdout: context.out, stderr: context.err, paint: context.paintErr, interrupted: () => context.interruption.received };
}

/**
 * Prints a failure for a person (stderr: code, message, hint; never a stack trace) and, with
 * --json, as an `error` event on stdout. Returns the exit code it calls for: every command maps
 * its failures to exit codes here, and nowhere else.
 */
export function reportError(error: unknown, output: ErrorOutput): number {
  const failure = toInstallError(error);
  const signal = output.interrupted?.();
  if (failure.code === 'ABORTED' && signal !== undefined) {
    // A stop the user asked for is not a failure: said plainly, with what it leaves behind.
    output.stderr(`modelhaul: interrupted by ${signal}: ${failure.message}\n`);
  } else {
    output.stderr(`${output.paint('red', 'modelhaul: ' + failure.code)}: ${failure.message}\n`);
  }
  output.stderr(`  hint: ${failure.hint}\n`);
  if (output.json) {
    output.stdout(JSON.stringify({ event: 'error', code: failure.code, message: failure.message, hint: failure.hint, retryable: failure.retryable, error: failure.toJSON() }) + '\n');
  }
  return exitCodeFor(failure, signal);
}

/** The exit code for a failure: 130/143 for a cancel by signal, 2 for bad input, 1 otherwise. */
export function exitCodeFor(failure: InstallError, signal: NodeJS.Signals | undefined): number {
  if (failure.code === 'ABORTED' && signal !== undefined) return interruptedExitCode(signal);
  return USAGE_ERROR_CODES.has(failure.code) ? EXIT.usage : EXIT.failed;
}

function toInstallError(error: unknown): InstallError {
  if (error instanceof InstallError) return error;
  if (isInstallError(error)) return new InstallError(error.code, error.message, { hint: error.hint, retryable: error.retryable, details: error.details });
  // Anything else is a modelhaul bug: say so plainly, with the message but without a stack trace.
  const message = error instanceof Error ? error.message : String(error);
  return new InstallError('FILESYSTEM', `Unexpected error: ${message}`, {
    hint: 'This looks like a bug in modelhaul; run again with MODELHAUL_DEBUG=1 for details and report it.',
    cause: error,
  });
}
