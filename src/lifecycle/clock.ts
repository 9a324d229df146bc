/**
 * The time source and timers of a lifecycle, injectable so that a test can run the retry policy,
 * the snapshot throttle and the rate on a clock it moves itself.
 *
 * @example
 * ```ts
 * // A clock a test advances by hand (say, with @sinonjs/fake-timers), passed as `clock`.
 * const clock: LifecycleClock = { now: () => fake.now, setTimeout: fake.setTimeout, clearTimeout: fake.clearTimeout };
 * ```
 */
export interface LifecycleClock {
  /** Milliseconds since the epoch: `nextRetryAt` and `at` in snapshots are in this time. */
  now(): number;
  /** Calls `callback` once after `ms`; returns a handle for {@link clearTimeout}. */
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The wall clock and Node's timers. */
export const systemClock: LifecycleClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** One pending timer on a {@link LifecycleClock}, re-armed or cancelled by its owner. */
export class ClockTimer {
  private handle: unknown;
  private armed = false;

  constructor(
    private readonly clock: LifecycleClock,
    private readonly callback: () => void,
  ) {}

  /** Fires after `ms`, replacing any earlier arming. */
  arm(ms: number): void {
    this.cancel();
    this.armed = true;
    this.handle = this.clock.setTimeout(() => {
      this.armed = false;
      this.callback();
    }, Math.max(0, ms));
  }

  /** Fires after `ms` unless already armed. */
  ensure(ms: number): void {
    if (!this.armed) this.arm(ms);
  }

  cancel(): void {
    if (!this.armed) return;
    this.armed = false;
    this.clock.clearTimeout(this.handle);
  }

  get pending(): boolean {
    return this.armed;
  }
}
