/**
 * The stable failure codes of modelhaul, with what each means, whether the engine retries it on
 * its own, and the default hint shown to a person. This table is the single source for the
 * README's error table and for the test that every code has a hint.
 */
export const ERROR_CODES = {
  MANIFEST_INVALID: {
    meaning: 'The manifest is not valid JSON or does not match the format.',
    retryable: false,
    hint: 'Fix the field named in the message; `modelhaul manifest check FILE` validates a manifest without downloading anything.',
  },
  MANIFEST_VERSION: {
    meaning: 'The manifest uses a schemaVersion this modelhaul does not know.',
    retryable: false,
    hint: 'Upgrade modelhaul (`npm install modelhaul@latest`) to a version that reads this schemaVersion, or ask the app vendor for a manifest with schemaVersion 1.',
  },
  INSECURE_URL: {
    meaning: 'An artifact URL uses plain http to a host that is not loopback.',
    retryable: false,
    hint: 'Use an https:// URL, or pass --allow-http if the network path is trusted.',
  },
  SOURCE_INVALID: {
    meaning: 'A mirror (--mirror, MODELHAUL_MIRRORS, the manifest\'s mirrors or the mirrors option) is not a source this modelhaul can use.',
    retryable: false,
    hint: 'Write a mirror as https://HOST/PREFIX (a web server holding a copy of an install dir; each artifact is fetched from PREFIX/<its path>).',
  },
  UNSAFE_PATH: {
    meaning: 'An install path would escape the install dir or go through a link that leads outside it.',
    retryable: false,
    hint: 'Remove the symbolic link named in the message from the install dir, or choose another --dir.',
  },
  HTTP_STATUS: {
    meaning: 'The server answered with an HTTP status that is not a success.',
    retryable: false,
    hint: 'Check that the URL in the manifest is still correct and that you have access to it.',
  },
  NETWORK: {
    meaning: 'The connection failed, was reset, or ended early.',
    retryable: true,
    hint: 'Check your internet connection and run the same command again; downloaded bytes are kept.',
  },
  STALLED: {
    meaning: 'The server stopped sending data for longer than the stall timeout.',
    retryable: true,
    hint: 'The connection stalled; run the same command again to resume, or raise --stall-timeout on a slow link.',
  },
  CONTENT_ENCODING: {
    meaning: 'The server compressed the response although modelhaul asked for the raw bytes.',
    retryable: false,
    hint: 'The server or a proxy in between re-encodes downloads; try another network or ask the host to serve the file unmodified.',
  },
  RANGE_NOT_HONOURED: {
    meaning: 'A resume or segment request got a reply that does not match the requested byte range.',
    retryable: true,
    hint: 'The server or a cache in between answers byte ranges wrongly; modelhaul restarts the file from zero, run the same command again.',
  },
  SIZE_MISMATCH: {
    meaning: 'The server sent a file whose size differs from the size in the manifest.',
    retryable: false,
    hint: 'The file on the server is not the one the manifest describes; the manifest may be out of date.',
  },
  CHECKSUM_MISMATCH: {
    meaning: 'The downloaded bytes do not have the SHA-256 in the manifest; they were discarded.',
    retryable: false,
    hint: 'The upstream file changed or was corrupted in transit; update the manifest if the change is expected, otherwise run the same command again.',
  },
  DISK_FULL: {
    meaning: 'There is not enough free space in the install dir.',
    retryable: false,
    hint: 'Free the number of bytes named in the message and run the same command again; downloaded bytes are kept.',
  },
  PERMISSION_DENIED: {
    meaning: 'The operating system refused to create, write or rename a file in the install dir.',
    retryable: false,
    hint: 'Make the install dir writable by this user, or choose another one with --dir.',
  },
  FILESYSTEM: {
    meaning: 'An unexpected file-system error (I/O error, read-only file system, ...).',
    retryable: false,
    hint: 'Check the disk named in the message; downloaded bytes that were saved are kept for the next run.',
  },
  REDIRECT: {
    meaning: 'A redirect was refused: too many hops, a loop, a non-HTTP scheme or an https to http downgrade.',
    retryable: false,
    hint: 'The server redirects somewhere modelhaul will not follow; check the URL in the manifest.',
  },
  LOCKED: {
    meaning: 'Another modelhaul process is installing into the same dir.',
    retryable: true,
    hint: 'Wait for the other install to finish; if no modelhaul process is running there, delete the lock file named in the message.',
  },
  ABORTED: {
    meaning: 'The install was cancelled (AbortSignal, Ctrl+C or SIGTERM).',
    retryable: true,
    hint: 'Run the same command again to resume; downloaded bytes are kept.',
  },
  AUTH_REQUIRED: {
    meaning: 'A registry needs credentials that modelhaul does not have, or refused the ones it has.',
    retryable: false,
    hint: 'Log in with `modelhaul login HOST` (or `docker login HOST`), then run the same command again.',
  },
  NOT_FOUND: {
    meaning: 'An artifact id or file named on the command line does not exist.',
    retryable: false,
    hint: 'Check the id against `modelhaul status` and the file name.',
  },
} as const satisfies Record<string, { meaning: string; retryable: boolean; hint: string }>;

/** A stable string naming one kind of failure; see {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Every code, in table order. */
export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];
