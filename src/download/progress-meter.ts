/** At most this many progress events per artifact per second. */
export const PROGRESS_EVENTS_PER_SECOND = 10;
const WINDOW_MS = 3000;

/**
 * Turns a stream of byte counts into throttled progress reports with a transfer rate measured
 * over the last few seconds (a whole-run average would hide a stall, an instant rate would jitter).
 */
export class ProgressMeter {
  private samples: Array<{ at: number; bytes: number }> = [];
  private lastReportAt = -Infinity;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Records the byte count; returns the rate to report when a report is due, otherwise undefined. */
  sample(bytes: number, force = false): number | undefined {
    const at = this.now();
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - (this.samples[1]?.at ?? at) > WINDOW_MS) this.samples.shift();
    if (!force && at - this.lastReportAt < 1000 / PROGRESS_EVENTS_PER_SECOND) return undefined;
    this.lastReportAt = at;
    return this.rate();
  }

  /** Forgets the history: after a restart from zero the old rate means nothing. */
  reset(): void {
    this.samples = [];
  }

  private rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 50) return 0;
    return Math.max(0, Math.round(((last.bytes - first.bytes) * 1000) / (last.at - first.at)));
  }
}
