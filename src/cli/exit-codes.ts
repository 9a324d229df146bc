/** The CLI's exit codes: a contract scripts and app installers rely on. */
export const EXIT = {
  /** Everything asked for is installed and verified. */
  ok: 0,
  /** One or more artifacts failed (the others are installed), or another runtime failure. */
  failed: 1,
  /** Bad usage or an invalid manifest: nothing was done. */
  usage: 2,
  /** Interrupted by SIGINT (128 + 2); partial downloads are kept. */
  sigint: 130,
  /** Interrupted by SIGTERM (128 + 15); partial downloads are kept. */
  sigterm: 143,
} as const;

/** Error codes that mean "the input was wrong", reported with exit code 2. */
export const USAGE_ERROR_CODES: ReadonlySet<string> = new Set(['MANIFEST_INVALID', 'MANIFEST_VERSION', 'INSECURE_URL', 'SOURCE_INVALID']);
