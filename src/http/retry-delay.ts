import { parseHttpDate } from './validators.js';

/** Inputs of {@link retryDelayMs}. All durations are in milliseconds. */
export interface RetryDelayOptions {
  /** Which retry this is: 1 for the first retry after the initial attempt failed. */
  attempt: number;
  /** The backoff ceiling of the first retry; it doubles with every further attempt. */
  baseMs: number;
  /** The largest backoff ceiling, however many attempts have failed. */
  maxMs: number;
  /** What the server asked for in `Retry-After` (see {@link parseRetryAfter}), if anything. */
  retryAfterMs?: number;
  /**
   * The longest `Retry-After` obeyed; a longer one is cut to this. Defaults to 60 000: a server
   * asking for an hour should not silently freeze an install, and the caller's attempt limit
   * still ends the retries.
   */
  maxRetryAfterMs?: number;
  /** A source of uniform numbers in [0, 1); `Math.random` unless a test injects its own. */
  random?: () => number;
}

/** The default cap on an obeyed `Retry-After`: one minute. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/**
 * How long to wait before retry number `attempt` of a transient failure (docs/rules.md rule 16).
 *
 * Without `Retry-After`, this is exponential backoff with "equal jitter": the ceiling is
 * `min(maxMs, baseMs * 2^(attempt - 1))`, half of it is always waited and the other half is
 * random. The fixed half keeps a client from hammering a server that just failed; the random half
 * spreads out many clients that failed at the same moment (a CDN hiccup) so they do not retry in
 * lockstep.
 *
 * With `retryAfterMs`, the server's request wins over the backoff (it knows its own load better),
 * capped at `maxRetryAfterMs`.
 *
 * @returns A whole number of milliseconds.
 * @throws {RangeError} for an attempt below 1 or a negative or non-finite duration, which are bugs
 *   in the caller.
 *
 * @example
 * ```ts
 * retryDelayMs({ attempt: 3, baseMs: 500, maxMs: 30_000 }); // between 1000 and 2000
 * retryDelayMs({ attempt: 1, baseMs: 500, maxMs: 30_000, retryAfterMs: 120_000 }); // 60000
 * ```
 */
export function retryDelayMs(options: RetryDelayOptions): number {
  const { attempt, baseMs, maxMs, retryAfterMs, random = Math.random } = options;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be an integer of at least 1, got ${attempt}`);
  }
  assertDuration('baseMs', baseMs);
  assertDuration('maxMs', maxMs);
  assertDuration('maxRetryAfterMs', maxRetryAfterMs);

  if (retryAfterMs !== undefined) {
    assertDuration('retryAfterMs', retryAfterMs);
    return Math.round(Math.min(retryAfterMs, maxRetryAfterMs));
  }

  // 2^1023 is the largest finite power of two; beyond it the product would be Infinity, or NaN
  // when baseMs is 0. min() with maxMs brings any huge ceiling back down.
  const exponent = Math.min(attempt - 1, 1023);
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  const half = ceiling / 2;
  // A misbehaving random source (NaN, negative, above 1) must not push the delay outside
  // [half, ceiling]; `r > 0` is false for NaN.
  const r = random();
  const fraction = r > 0 ? Math.min(r, 1) : 0;
  return Math.round(half + fraction * half);
}

// RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds, delay-seconds = 1*DIGIT.
const DELAY_SECONDS = /^[0-9]+$/;
const SURROUNDING_OWS = /^[ \t]+|[ \t]+$/g;

/**
 * Parses a `Retry-After` value (RFC 9110 §10.2.3) into milliseconds from `now`.
 *
 * @param now - The current time in milliseconds since the epoch, for the HTTP-date form.
 * @returns The delay, `0` for an HTTP-date that has already passed, or `undefined` for a missing,
 *   negative or otherwise unparsable value (the caller then falls back to its own backoff).
 *   Absurdly large delays are clamped to `Number.MAX_SAFE_INTEGER`; {@link retryDelayMs} caps them
 *   further.
 *
 * @example
 * ```ts
 * parseRetryAfter('120');                                // 120000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now); // ms until then, or 0 if past
 * parseRetryAfter('-5');                                 // undefined
 * ```
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.replace(SURROUNDING_OWS, '');
  if (DELAY_SECONDS.test(text)) {
    return Math.min(Number(text) * 1000, Number.MAX_SAFE_INTEGER);
  }
  const at = parseHttpDate(text, now);
  if (at === undefined) return undefined;
  return Math.max(0, at - now);
}

function assertDuration(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number of milliseconds >= 0, got ${value}`);
  }
}
