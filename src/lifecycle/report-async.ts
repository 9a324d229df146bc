/**
 * Rethrows an app callback's error on its own, outside the lifecycle's call stack, the way
 * `EventTarget` reports a listener that throws: the bug shows as the uncaught error it is, and the
 * lifecycle, which called the callback in the middle of its own work, stays consistent.
 */
export function reportAsync(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/** `fn`, except that when it throws, the error is reported with {@link reportAsync} and `fallback` returned. */
export function guarded<A extends unknown[], R>(fn: (...args: A) => R, fallback: R): (...args: A) => R {
  return (...args) => {
    try {
      return fn(...args);
    } catch (error) {
      reportAsync(error);
      return fallback;
    }
  };
}
