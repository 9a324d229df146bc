import { InstallError, isInstallError } from '../errors.js';
import { EXIT, USAGE_ERROR_CODES } from './exit-codes.js';
import type { Painter } from './render/paint.js';

export interface ErrorOutput {
  json: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  paint: Painter;
}

/**
 * Prints a failure for a person (stderr: code, message, hint; never a stack trace) and, with
 * --json, as an `error` event on stdout. Returns the exit code it calls for.
 */
export function reportError(error: unknown, output: ErrorOutput): number {
  const failure = toInstallError(error);
  output.stderr(`${output.paint('red', 'modelhaul: ' + failure.code)}: ${failure.message}\n`);
  output.stderr(`  hint: ${failure.hint}\n`);
  if (output.json) {
    output.stdout(JSON.stringify({ event: 'error', code: failure.code, message: failure.message, hint: failure.hint, retryable: failure.retryable, error: failure.toJSON() }) + '\n');
  }
  return USAGE_ERROR_CODES.has(failure.code) ? EXIT.usage : EXIT.failed;
}

function toInstallError(error: unknown): InstallError {
  if (error instanceof InstallError) return error;
  if (isInstallError(error)) return new InstallError(error.code, error.message, { hint: error.hint, retryable: error.retryable });
  // Anything else is a modelhaul bug: say so plainly, with the message but without a stack trace.
  const message = error instanceof Error ? error.message : String(error);
  return new InstallError('FILESYSTEM', `Unexpected error: ${message}`, {
    hint: 'This looks like a bug in modelhaul; run again with MODELHAUL_DEBUG=1 for details and report it.',
    cause: error,
  });
}
