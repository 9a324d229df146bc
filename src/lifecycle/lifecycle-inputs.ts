import { ClockTimer, type LifecycleClock } from './clock.js';
import type { LifecycleOptions, PowerEvent } from './options.js';

const DEFAULT_ONLINE_POLL_MS = 1000;

/**
 * What an app tells a lifecycle about the machine: whether the network is there (asked with
 * `isOnline()`, when `watchOnline` says so or, without it, by polling) and when the machine
 * sleeps and wakes.
 */
export class LifecycleInputs {
  private readonly isOnline: (() => boolean) | undefined;
  private readonly polls: boolean;
  private readonly pollMs: number;
  private readonly pollTimer: ClockTimer;
  private readonly stops: Array<() => void> = [];

  constructor(
    options: Pick<LifecycleOptions, 'isOnline' | 'watchOnline' | 'onlinePollMs' | 'watchPower'>,
    clock: LifecycleClock,
    handlers: { connectivity: () => void; power: (event: PowerEvent) => void },
  ) {
    this.isOnline = options.isOnline;
    this.polls = options.isOnline !== undefined && options.watchOnline === undefined;
    this.pollMs = options.onlinePollMs ?? DEFAULT_ONLINE_POLL_MS;
    this.pollTimer = new ClockTimer(clock, handlers.connectivity);
    if (options.watchOnline) this.stops.push(options.watchOnline(handlers.connectivity));
    if (options.watchPower) this.stops.push(options.watchPower(handlers.power));
  }

  /**
   * Whether the network is there. Without `isOnline`, always; a probe that throws does not hold
   * a download back either.
   */
  online(): boolean {
    if (this.isOnline === undefined) return true;
    try {
      return this.isOnline() !== false;
    } catch {
      return true;
    }
  }

  /**
   * Polls `isOnline()` while `wanted` (a download is wanted, so the network matters), unless the
   * app notifies changes itself. An idle lifecycle then holds no timer, and does not keep a Node
   * process alive.
   */
  poll(wanted: boolean): void {
    if (this.polls && wanted) this.pollTimer.ensure(this.pollMs);
    else this.pollTimer.cancel();
  }

  stop(): void {
    this.pollTimer.cancel();
    for (const stop of this.stops.splice(0)) {
      try {
        stop();
      } catch {
        // An app's unsubscribe that fails must not keep the lifecycle from shutting down.
      }
    }
  }
}
