import { Lifecycle } from './lifecycle.js';
import type { LifecycleOptions, ModelLifecycle, WhenReadyOptions } from './options.js';
import type { LifecycleSnapshot } from './snapshot.js';

/**
 * Creates the lifecycle of one bundle in one install dir. It starts in `checking`, reads the disk
 * (metadata only) and settles in `ready` or `missing`; nothing downloads until `start()`.
 *
 * @throws {InstallError} `MANIFEST_INVALID` (or another manifest code) for a manifest that does
 *   not validate, before anything else happens.
 *
 * @example
 * ```ts
 * const lifecycle = createModelLifecycle({ manifest, dir: '/path/to/models' });
 * lifecycle.subscribe((s) => console.log(s.phase, s.bytes, '/', s.total));
 * lifecycle.start();
 * await lifecycle.whenReady();
 * ```
 */
export function createModelLifecycle(options: LifecycleOptions): ModelLifecycle {
  const lifecycle = new Lifecycle(options);
  // Bound once, so that `const { start } = lifecycle` and `button.onclick = lifecycle.start` work.
  return Object.freeze({
    check: () => lifecycle.check(),
    start: () => lifecycle.start(),
    pause: () => lifecycle.pause(),
    resume: () => lifecycle.resume(),
    cancel: () => lifecycle.cancel(),
    retry: () => lifecycle.retry(),
    getSnapshot: () => lifecycle.getSnapshot(),
    subscribe: (listener: (snapshot: LifecycleSnapshot) => void) => lifecycle.subscribe(listener),
    whenReady: (whenReadyOptions?: WhenReadyOptions) => lifecycle.whenReady(whenReadyOptions),
    dispose: () => lifecycle.dispose(),
  });
}
