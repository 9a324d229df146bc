// What the lifecycle tests share: a lifecycle that is disposed when the test ends and records every
// snapshot its listeners got, a way to wait for a snapshot that matches, and the network and power
// inputs an app would feed in, driven by hand.
import type { TestContext } from 'node:test';
import { createModelLifecycle, type LifecycleOptions, type LifecycleSnapshot, type ModelLifecycle, type PowerEvent } from '../../src/index.js';
import type { ManifestArtifact } from './cli.js';

export function manifestOf(...artifacts: ManifestArtifact[]): { schemaVersion: 1; name: string; artifacts: ManifestArtifact[] } {
  return { schemaVersion: 1, name: 'lifecycle-test', artifacts };
}

export interface WatchedLifecycle {
  lifecycle: ModelLifecycle;
  /** Every snapshot delivered to a listener, in order. */
  snapshots: LifecycleSnapshot[];
  /** The phases the listener saw, with repeats collapsed. */
  phases(): string[];
  /** Resolves with the current snapshot or the first later one for which `predicate` holds. */
  until(predicate: (snapshot: LifecycleSnapshot) => boolean, what: string, timeoutMs?: number): Promise<LifecycleSnapshot>;
}

/** A lifecycle with a recording listener, disposed (and awaited) when the test ends. */
export function useLifecycle(t: TestContext, options: LifecycleOptions): WatchedLifecycle {
  const lifecycle = createModelLifecycle(options);
  t.after(() => lifecycle.dispose());
  return watch(lifecycle);
}

export function watch(lifecycle: ModelLifecycle): WatchedLifecycle {
  const snapshots: LifecycleSnapshot[] = [];
  lifecycle.subscribe((snapshot) => snapshots.push(snapshot));
  return {
    lifecycle,
    snapshots,
    phases: () => snapshots.map((s) => s.phase).filter((phase, i, all) => i === 0 || all[i - 1] !== phase),
    until: (predicate, what, timeoutMs = 15_000) => waitForSnapshot(lifecycle, predicate, what, timeoutMs),
  };
}

/**
 * Resolves with the current snapshot if it matches, else with the first one delivered to a
 * listener that does. Rejects after `timeoutMs`, naming `what` and the phase it was stuck in.
 */
export function waitForSnapshot(
  lifecycle: ModelLifecycle,
  predicate: (snapshot: LifecycleSnapshot) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<LifecycleSnapshot> {
  const current = lifecycle.getSnapshot();
  if (predicate(current)) return Promise.resolve(current);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      const last = lifecycle.getSnapshot();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; phase ${last.phase}, attempt ${last.attempt}, error ${last.error?.code ?? 'none'}`));
    }, timeoutMs);
    const unsubscribe = lifecycle.subscribe((snapshot) => {
      if (!predicate(snapshot)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(snapshot);
    });
  });
}

/** The network as an app reports it: `isOnline()` and change notifications, switched by the test. */
export class FakeNetwork {
  private online = true;
  private readonly listeners = new Set<() => void>();
  /** How often the lifecycle asked. */
  asked = 0;

  readonly inputs: Pick<LifecycleOptions, 'isOnline' | 'watchOnline'> = {
    isOnline: () => {
      this.asked++;
      return this.online;
    },
    watchOnline: (onChange) => {
      this.listeners.add(onChange);
      return () => this.listeners.delete(onChange);
    },
  };

  /** Switches the network; `notify: false` changes what `isOnline()` says without telling anyone yet. */
  set(online: boolean, { notify = true } = {}): void {
    this.online = online;
    if (notify) for (const listener of [...this.listeners]) listener();
  }

  get watchers(): number {
    return this.listeners.size;
  }
}

/** Sleep and wake, as an app's power monitor reports them. */
export class FakePower {
  private readonly listeners = new Set<(event: PowerEvent) => void>();

  readonly inputs: Pick<LifecycleOptions, 'watchPower'> = {
    watchPower: (onEvent) => {
      this.listeners.add(onEvent);
      return () => this.listeners.delete(onEvent);
    },
  };

  emit(event: PowerEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}
