/**
 * The engine's defaults, all of them and nowhere else: what an option left out means. In a module
 * of their own so that the CLI can show them in `--help` without loading the engine (undici, the
 * store, the hashers) to print a number. Limits that are not choices (the most connections a file
 * may use aside) live with the code they bound.
 */
import { MODELHAUL_VERSION } from './version.js';

const MiB = 1024 * 1024;

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
/** The first retry waits at most this long, in milliseconds; the limit doubles with each retry. */
export const DEFAULT_RETRY_BASE_DELAY_MS = 500;
/** The longest wait between two retries, in milliseconds (a server's Retry-After may ask for more, up to its own cap). */
export const DEFAULT_RETRY_MAX_DELAY_MS = 30_000;
/** Downloaded bytes are made durable and recorded at least this often, in milliseconds. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 1000;
/** The smallest piece of a file given a connection of its own. */
export const DEFAULT_MIN_SEGMENT_BYTES = 8 * MiB;
/** The `User-Agent` of every request modelhaul sends. */
export const USER_AGENT = `modelhaul/${MODELHAUL_VERSION}`;

/**
 * How long to wait for the install lock while a live process on this host holds it, in
 * milliseconds: long enough for another install to finish a large file, short enough that a
 * holder that can never be checked (a pid reused on a platform without process start times) does
 * not block forever.
 */
export const DEFAULT_LOCK_TIMEOUT_MS = 10 * 60_000;
/** How long to wait for the install lock while a process on another host holds it, in milliseconds. */
export const DEFAULT_FOREIGN_LOCK_TIMEOUT_MS = 60_000;

/**
 * Downloaded bytes are made durable and recorded at least every this many bytes, unless an install
 * sets its own: 0.5% of the file, at least 4 MiB, at most 64 MiB. This bounds what a crash costs to
 * download again (a checkpoint's worth) while keeping fdatasync calls rare on large files.
 *
 * @example
 * ```ts
 * defaultCheckpointBytes(4 * 1024 ** 3); // 21474836 (0.5% of 4 GiB)
 * ```
 */
export function defaultCheckpointBytes(size: number): number {
  return Math.min(64 * MiB, Math.max(4 * MiB, Math.round(size / 200)));
}
