import { ClockTimer, type LifecycleClock } from './clock.js';
import { reportAsync } from './report-async.js';
import type { LifecycleSnapshot } from './snapshot.js';

/** Listeners get at most one ordinary snapshot per this many milliseconds (5 a second)... */
export const SNAPSHOT_INTERVAL_MS = 200;

/** Receives snapshots; see {@link SnapshotFeed}. */
export type SnapshotListener = (snapshot: LifecycleSnapshot) => void;

/**
 * Hands snapshots to listeners: a phase change at once, every time; anything else (bytes, rates)
 * at most every {@link SNAPSHOT_INTERVAL_MS}, as the state is when the interval ends. A UI
 * repainting on each snapshot then costs at most five paints a second, and a renderer across IPC
 * is not flooded, yet no phase change is ever skipped.
 *
 * A listener may call back into the lifecycle (say, `start()` on `missing`); the snapshots that
 * call causes are queued and delivered after the current one, so every listener sees them in order.
 * A listener that throws does not stop the others: its error is rethrown on its own, as
 * `EventTarget` does, so it shows as the uncaught bug it is.
 */
export class SnapshotFeed {
  private readonly listeners = new Set<SnapshotListener>();
  private readonly queue: LifecycleSnapshot[] = [];
  private readonly timer: ClockTimer;
  private delivering = false;
  private lastDeliveredAt = -Infinity;
  private lastDelivered: LifecycleSnapshot | undefined;

  constructor(
    private readonly clock: LifecycleClock,
    private readonly build: () => LifecycleSnapshot,
  ) {
    this.timer = new ClockTimer(clock, () => this.deliver());
  }

  subscribe(listener: SnapshotListener): () => void {
    // A wrapper per subscription, so that one function subscribed twice is two subscriptions,
    // each ended by its own unsubscribe.
    const entry: SnapshotListener = (snapshot) => listener(snapshot);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** A phase changed: the listeners hear of it now. */
  publishNow(): void {
    this.timer.cancel();
    this.deliver();
  }

  /** Something else changed: the listeners hear of it within {@link SNAPSHOT_INTERVAL_MS}. */
  publish(): void {
    if (this.listeners.size === 0) return;
    const wait = this.lastDeliveredAt + SNAPSHOT_INTERVAL_MS - this.clock.now();
    if (wait <= 0) this.deliver();
    else this.timer.ensure(wait);
  }

  close(): void {
    this.timer.cancel();
    this.listeners.clear();
    this.queue.length = 0;
  }

  private deliver(): void {
    this.timer.cancel();
    if (this.listeners.size === 0) return;
    const snapshot = this.build();
    // The same object again means nothing changed since: not worth a listener's time.
    if (snapshot === this.lastDelivered) return;
    this.lastDelivered = snapshot;
    this.lastDeliveredAt = this.clock.now();
    this.queue.push(snapshot);
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (let snapshot = this.queue.shift(); snapshot !== undefined; snapshot = this.queue.shift()) {
        for (const listener of [...this.listeners]) {
          // One that an earlier listener unsubscribed during this round hears nothing more.
          if (!this.listeners.has(listener)) continue;
          try {
            listener(snapshot);
          } catch (error) {
            reportAsync(error);
          }
        }
      }
    } finally {
      this.delivering = false;
    }
  }
}
