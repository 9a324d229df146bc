import type { InstallError } from '../errors.js';

/**
 * Thrown inside an attempt when the bytes on disk must be discarded and the download start over
 * from zero: a server that answers ranges wrongly, or a 416 for bytes that are missing.
 */
export class StartOver extends Error {
  constructor(
    readonly reason: string,
    override readonly cause?: InstallError,
  ) {
    super(reason);
  }
}
