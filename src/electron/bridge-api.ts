/**
 * What `modelhaul/preload` puts on `window.modelhaul` in a renderer: named functions only, every
 * one returning plain data, so a page never holds `ipcRenderer` or anything else of Electron's.
 */
import type { ArtifactKind } from '../manifest/types.js';
import type { LifecycleSnapshot } from '../lifecycle/snapshot.js';

/**
 * The renderer's handle on the model lifecycle that the main process owns. Every action resolves
 * with the snapshot right after it; `onSnapshot` hands over the current snapshot at once and then
 * every update (at most five a second, and every phase change).
 *
 * @example
 * ```ts
 * // renderer.ts
 * declare global {
 *   interface Window { modelhaul: ModelhaulBridge }
 * }
 * const modal = document.querySelector('modelhaul-download')!;
 * window.modelhaul.onSnapshot((snapshot) => (modal.snapshot = snapshot));
 * modal.addEventListener('modelhaul-action', (event) => void window.modelhaul[event.detail.action]?.());
 * await window.modelhaul.whenReady({ kinds: ['stt'] });
 * ```
 */
export interface ModelhaulBridge {
  getSnapshot(): Promise<LifecycleSnapshot>;
  check(): Promise<LifecycleSnapshot>;
  start(): Promise<LifecycleSnapshot>;
  pause(): Promise<LifecycleSnapshot>;
  resume(): Promise<LifecycleSnapshot>;
  cancel(): Promise<LifecycleSnapshot>;
  retry(): Promise<LifecycleSnapshot>;
  /** Calls `callback` with the current snapshot, then with every update; returns an unsubscribe. */
  onSnapshot(callback: (snapshot: LifecycleSnapshot) => void): () => void;
  /**
   * Resolves with the first snapshot in which every artifact of `kinds` (default: every kind the
   * bundle has) is installed. Rejects with a RangeError for a kind the bundle does not have.
   */
  whenReady(options?: { kinds?: readonly ArtifactKind[] }): Promise<LifecycleSnapshot>;
}

/** The key on `window` where the preload puts the {@link ModelhaulBridge}. */
export const BRIDGE_KEY = 'modelhaul';
