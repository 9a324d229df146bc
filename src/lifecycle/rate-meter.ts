/** How far back the rate looks: long enough to smooth out bursts, short enough to show a stall. */
export const RATE_WINDOW_MS = 3000;

/**
 * The download rate a person sees: bytes over the last {@link RATE_WINDOW_MS}, evaluated at a
 * given moment rather than when bytes arrive. That difference is the point: the engine reports
 * progress only when bytes move, so a rate computed from its reports stays frozen at its last
 * value through a stall (the "stuck at 12 MB/s" that download UIs are known for). Here the window
 * slides on with the clock, and the rate falls to exactly 0 once a whole window has passed without
 * a byte.
 *
 * @example
 * ```ts
 * const meter = new RateMeter();
 * meter.observe(0, 0);
 * meter.observe(1000, 5_000_000);
 * meter.rate(1000); // 5 MB over the first second, averaged over at least one second
 * meter.rate(5000); // 0: nothing arrived for the last 3 s
 * ```
 */
export class RateMeter {
  /** Byte counts in time order; the oldest is kept until a newer one lies before the window. */
  private samples: Array<{ at: number; bytes: number }> = [];

  constructor(private readonly windowMs = RATE_WINDOW_MS) {}

  /**
   * Records the cumulative byte count at time `at` (milliseconds). A count below the previous one
   * (the bytes were discarded and the download starts over) restarts the measurement.
   */
  observe(at: number, bytes: number): void {
    const last = this.samples.at(-1);
    if (last !== undefined && (bytes < last.bytes || at < last.at)) this.samples = [];
    this.samples.push({ at, bytes });
    // Keep one sample at or before the window's start, to know the count there.
    while (this.samples.length > 2 && (this.samples[1]?.at ?? at) <= at - this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window ending at `now`; 0 without history. */
  rate(now: number): number {
    const last = this.samples.at(-1);
    if (last === undefined) return 0;
    const windowStart = now - this.windowMs;
    let base = this.samples[0]!;
    for (const sample of this.samples) {
      if (sample.at <= windowStart) base = sample;
      else break;
    }
    // A young history is averaged over at least a second, so the first chunk does not read as a
    // burst of gigabytes per second.
    const span = Math.max(1000, now - Math.max(base.at, windowStart));
    return Math.max(0, Math.round(((last.bytes - base.bytes) * 1000) / span));
  }

  /** True once a whole window of history is there and bytes are moving: only then is an ETA honest. */
  stable(now: number): boolean {
    const first = this.samples[0];
    return first !== undefined && first.at <= now - this.windowMs && this.rate(now) > 0;
  }

  /** Forgets everything: the next measurement starts afresh. */
  reset(): void {
    this.samples = [];
  }
}
