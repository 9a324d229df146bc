import { isInstallError } from '../errors.js';
import { EXIT } from './exit-codes.js';

/**
 * The exit code for a failure of `remove` or `import`: an id the manifest does not have, or a
 * file that is not there, is a mistake on the command line (exit 2, nothing was done), which
 * `reportError` alone would report as a runtime failure.
 */
export function usageExitFor(error: unknown, reported: number): number {
  if (!isInstallError(error) || error.code !== 'NOT_FOUND') return reported;
  const field = error.details.field;
  return field === 'id' || field === 'file' ? EXIT.usage : reported;
}
