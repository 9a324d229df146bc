import { InstallError } from '../errors.js';
import type { ArtifactKind } from '../manifest/types.js';
import type { CapabilitySnapshot, LifecycleSnapshot } from './snapshot.js';

interface Waiter {
  kinds: readonly ArtifactKind[];
  resolve: (snapshot: LifecycleSnapshot) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * The pending `whenReady()` calls of a lifecycle: each waits for its own set of capabilities, so
 * that an app can switch speech recognition on while the language model still downloads.
 */
export class ReadinessWaiters {
  private readonly waiters = new Set<Waiter>();

  /** A promise for the first snapshot in which every one of `kinds` is ready; the caller checked "not yet". */
  wait(kinds: readonly ArtifactKind[], signal: AbortSignal | undefined): Promise<LifecycleSnapshot> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        kinds,
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.waiters.delete(waiter);
          reject(stoppedWaiting(signal));
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Resolves every waiter whose capabilities are all ready now. */
  settle(capabilities: Record<ArtifactKind, CapabilitySnapshot>, snapshot: () => LifecycleSnapshot): void {
    for (const waiter of [...this.waiters]) {
      if (!waiter.kinds.every((kind) => capabilities[kind].ready)) continue;
      this.forget(waiter);
      waiter.resolve(snapshot());
    }
  }

  rejectAll(reason: unknown): void {
    for (const waiter of [...this.waiters]) {
      this.forget(waiter);
      waiter.reject(reason);
    }
  }

  get size(): number {
    return this.waiters.size;
  }

  private forget(waiter: Waiter): void {
    this.waiters.delete(waiter);
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }
}

/**
 * The rejection of a `whenReady()` whose signal aborted: an `ABORTED` InstallError, as everywhere
 * in modelhaul, with the signal's reason as its cause.
 */
export function stoppedWaiting(signal: AbortSignal | undefined): InstallError {
  return new InstallError('ABORTED', 'Stopped waiting for the models to be ready.', {
    hint: 'Only the waiting stopped; the download goes on.',
    cause: signal?.reason,
  });
}
