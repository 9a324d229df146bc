import { abortedError, type InstallError } from '../errors.js';
import { ARTIFACT_KINDS } from '../manifest/kinds.js';
import type { ArtifactKind } from '../manifest/types.js';
import type { WhenReadyOptions } from './options.js';
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

  /**
   * A `whenReady()` call: settled at once when its kinds are ready (or cannot be waited for),
   * otherwise by a later {@link settle}.
   */
  request(
    options: WhenReadyOptions,
    bundle: string,
    capabilities: Record<ArtifactKind, CapabilitySnapshot>,
    snapshot: () => LifecycleSnapshot,
  ): Promise<LifecycleSnapshot> {
    const kinds = options.kinds ?? ARTIFACT_KINDS.filter((kind) => capabilities[kind].artifacts > 0);
    const absent = kinds.find((kind) => (capabilities[kind]?.artifacts ?? 0) === 0);
    if (absent !== undefined) return Promise.reject(new RangeError(`The bundle "${bundle}" has no artifact of kind "${absent}".`));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(stoppedWaiting(signal));
    if (kinds.every((kind) => capabilities[kind].ready)) return Promise.resolve(snapshot());
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
 * in modelhaul, with the signal's reason as its cause. Only the waiting stops; the download goes on.
 */
export function stoppedWaiting(signal: AbortSignal | undefined): InstallError {
  return abortedError(signal, 'Stopped waiting for the models to be ready');
}

/** The rejection of what waits on a lifecycle that was disposed. */
export function disposedError(): InstallError {
  return abortedError(undefined, 'The model lifecycle was disposed');
}
