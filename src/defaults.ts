/**
 * The install engine's defaults, in a module of their own so that the CLI can show them in
 * `--help` without loading the engine (undici, the store, the hashers) to print a number.
 */

/** Artifacts downloaded at the same time. */
export const DEFAULT_CONCURRENCY = 3;
/** Connections used for one large file when the server honours ranges. */
export const DEFAULT_CONNECTIONS = 4;
/** The most connections one file may use. */
export const MAX_CONNECTIONS = 16;
/** Consecutive failed attempts without progress before an artifact fails. */
export const DEFAULT_RETRIES = 5;
/** Longest silence from a server, in milliseconds, before the connection counts as stalled. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
