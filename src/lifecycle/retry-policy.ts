/**
 * What a lifecycle does after an install run ends in a failure: wait for a person, wait for the
 * network, wait and try again, or give up. Pure functions of the failure and the count of attempts,
 * so that every rule can be tested without a clock or a server.
 */
import type { ErrorCode, SerializedInstallError } from '../errors.js';
import { ERROR_CODES } from '../error-codes.js';
import { retryDelayMs } from '../http/retry-delay.js';
import type { LifecycleBlock } from './snapshot.js';

/**
 * Decides whether a failed attempt is tried again on its own. `attempt` counts the failed attempts
 * in a row without progress, this one included (1 after the first failure; an attempt that moved
 * bytes before it failed counts as 1 again). Only consulted for failures that no person has to act
 * on: a full disk, a permission problem, a held lock and a bad manifest never come here.
 *
 * @example
 * ```ts
 * // Keep trying a flaky mirror for longer than the default, but never a refused file.
 * const shouldRetry: ShouldRetry = (error, attempt) => error.retryable && attempt <= 30;
 * ```
 */
export type ShouldRetry = (error: SerializedInstallError, attempt: number) => boolean;

/** How long to wait before the next automatic attempt, in milliseconds. */
export type RetryDelay = (attempt: number, error: SerializedInstallError) => number;

/** Failed attempts in a row without progress after which the default policy stops and reports. */
export const DEFAULT_MAX_ATTEMPTS = 10;
/** The first automatic retry waits up to this long; the ceiling doubles with each attempt... */
export const RETRY_BASE_DELAY_MS = 2000;
/** ...up to a minute, so a server that is down for an hour costs one request a minute. */
export const RETRY_MAX_DELAY_MS = 60_000;

/** Failures a person must resolve before anything can go on: they show as `blocked`. */
const BLOCKING_CODES: ReadonlySet<ErrorCode> = new Set(['DISK_FULL', 'PERMISSION_DENIED', 'LOCKED']);
/** Failures no retry can fix, whatever an app's `shouldRetry` says: the manifest itself is wrong. */
const MANIFEST_CODES: ReadonlySet<ErrorCode> = new Set(['MANIFEST_INVALID', 'MANIFEST_VERSION', 'INSECURE_URL', 'UNSAFE_PATH']);
/** Failures that a lost network explains: with the network gone they cost no attempt. */
const CONNECTION_CODES: ReadonlySet<ErrorCode> = new Set(['NETWORK', 'STALLED']);

/** The default {@link ShouldRetry}: what the engine calls transient, up to {@link DEFAULT_MAX_ATTEMPTS} in a row. */
export const defaultShouldRetry: ShouldRetry = (error, attempt) => error.retryable && attempt <= DEFAULT_MAX_ATTEMPTS;

/**
 * The default {@link RetryDelay}: capped exponential backoff with jitter, about 2 s at first and a
 * minute at most, or what the server asked for in `Retry-After` (itself capped at a minute).
 */
export function defaultRetryDelay(attempt: number, error: SerializedInstallError, random: () => number = Math.random): number {
  const retryAfterMs = error.details.retryAfterMs;
  return retryDelayMs({
    attempt: Math.max(1, attempt),
    baseMs: RETRY_BASE_DELAY_MS,
    maxMs: RETRY_MAX_DELAY_MS,
    random,
    ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
  });
}

/** True for a failure that a lost network explains (so it costs no attempt while offline). */
export function isConnectionFailure(error: SerializedInstallError): boolean {
  return CONNECTION_CODES.has(error.code);
}

/** Where a lifecycle goes after a failed run, and with which attempt count. */
export type FailureVerdict =
  | { phase: 'blocked'; attempt: number; block: LifecycleBlock }
  | { phase: 'offline'; attempt: number }
  | { phase: 'retry-wait'; attempt: number; delayMs: number }
  | { phase: 'failed'; attempt: number };

export interface FailureContext {
  /** Failed attempts in a row without progress before this one. */
  attempt: number;
  /** Whether the failed run moved any bytes. */
  progressed: boolean;
  /** What the injected `isOnline()` says now. */
  online: boolean;
  /** The install dir, for a block that names no path of its own. */
  dir: string;
  /** Bytes the bundle still needs, and the free space at the last look: for a full disk that names no number. */
  bytesRemaining: number;
  freeBytes: number | null;
  shouldRetry: ShouldRetry;
  retryDelay: RetryDelay;
}

/**
 * The retry policy of a lifecycle, as one decision:
 * 1. a full disk, a permission problem or a held lock is `blocked`: a person must act, and
 *    nothing retries on its own (the attempt count is left alone);
 * 2. a lost connection while `isOnline()` says the network is gone is `offline`: no attempt spent;
 * 3. otherwise the attempt is counted (from 1 again if the run made progress), and a manifest
 *    error, or a failure `shouldRetry` turns down, is `failed`; the rest wait in `retry-wait`.
 */
export function decideAfterFailure(error: SerializedInstallError, context: FailureContext): FailureVerdict {
  if (BLOCKING_CODES.has(error.code)) {
    return { phase: 'blocked', attempt: context.attempt, block: blockFor(error, context) };
  }
  if (!context.online && isConnectionFailure(error)) return { phase: 'offline', attempt: context.attempt };
  const attempt = context.progressed ? 1 : context.attempt + 1;
  if (MANIFEST_CODES.has(error.code) || !context.shouldRetry(error, attempt)) return { phase: 'failed', attempt };
  const delayMs = context.retryDelay(attempt, error);
  return { phase: 'retry-wait', attempt, delayMs: Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0 };
}

/** What a person must do about a blocking failure, with the number and the path to act on. */
export function blockFor(error: SerializedInstallError, context: Pick<FailureContext, 'dir' | 'bytesRemaining' | 'freeBytes'>): LifecycleBlock {
  const { details } = error;
  const text = (key: string): string | null => {
    const value = details[key];
    return typeof value === 'string' ? value : null;
  };
  switch (error.code) {
    case 'DISK_FULL': {
      // The space check before a download names the number; a write that ran out of space does
      // not, and then the bytes still to come minus what is free is the best estimate.
      const named = typeof details.bytesToFree === 'number' ? details.bytesToFree : null;
      const estimate = context.freeBytes === null ? null : Math.max(0, context.bytesRemaining - context.freeBytes);
      return { code: 'DISK_FULL', hint: ERROR_CODES[error.code].appHint, bytesToFree: named ?? estimate, path: text('path') ?? context.dir };
    }
    case 'LOCKED':
      return { code: 'LOCKED', hint: ERROR_CODES[error.code].appHint, bytesToFree: null, path: text('lockPath') };
    default:
      return { code: 'PERMISSION_DENIED', hint: ERROR_CODES[error.code].appHint, bytesToFree: null, path: text('path') ?? context.dir };
  }
}

/** How bad a failure is, to pick the one a bundle-wide phase reports when several artifacts failed. */
export function severity(error: SerializedInstallError): number {
  if (BLOCKING_CODES.has(error.code)) return 3;
  if (MANIFEST_CODES.has(error.code) || !error.retryable) return 2;
  return 1;
}
