/**
 * The renderer side of the bridge, as the preload builds it: named functions over `ipcRenderer`,
 * of which the page gets only the functions (see {@link ModelhaulBridge}).
 */
import type { IpcRenderer, IpcRendererEvent } from 'electron';
import type { ArtifactKind } from '../manifest/types.js';
import type { LifecycleSnapshot } from '../lifecycle/snapshot.js';
import { ACTION_METHODS, CHANNELS, type ActionMethod } from './channels.js';
import type { ModelhaulBridge } from './bridge-api.js';

const KINDS: readonly ArtifactKind[] = ['stt', 'llm', 'tts', 'other'];

/** Builds the {@link ModelhaulBridge} on an `ipcRenderer`. */
export function createBridge(ipc: Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>): ModelhaulBridge {
  const callbacks = new Set<(snapshot: LifecycleSnapshot) => void>();
  let latest: LifecycleSnapshot | undefined;

  // Snapshots come by two paths (pushed, and answered to `subscribe`), which may cross: the one
  // with the higher sequence wins.
  const deliver = (snapshot: LifecycleSnapshot): void => {
    if (latest !== undefined && snapshot.sequence <= latest.sequence) return;
    latest = snapshot;
    for (const callback of [...callbacks]) call(callback, snapshot);
  };
  // The event is not passed on: it carries `sender`, the ipcRenderer itself.
  const onPush = (_event: IpcRendererEvent, snapshot: LifecycleSnapshot): void => deliver(snapshot);

  const action = (method: ActionMethod) => async (): Promise<LifecycleSnapshot> => {
    const snapshot = (await ipc.invoke(CHANNELS.action(method))) as LifecycleSnapshot;
    if (callbacks.size > 0) deliver(snapshot);
    return snapshot;
  };
  const actions = Object.fromEntries(ACTION_METHODS.map((method) => [method, action(method)])) as Record<ActionMethod, () => Promise<LifecycleSnapshot>>;

  const onSnapshot = (callback: (snapshot: LifecycleSnapshot) => void): (() => void) => {
    const entry = (snapshot: LifecycleSnapshot): void => callback(snapshot);
    callbacks.add(entry);
    if (callbacks.size === 1) {
      ipc.on(CHANNELS.snapshot, onPush);
      ipc.invoke(CHANNELS.subscribe).then(
        (snapshot) => deliver(snapshot as LifecycleSnapshot),
        (error: unknown) => report(error),
      );
    } else if (latest !== undefined) {
      const current = latest;
      queueMicrotask(() => {
        if (callbacks.has(entry)) call(entry, current);
      });
    }
    return () => {
      if (!callbacks.delete(entry) || callbacks.size > 0) return;
      ipc.removeListener(CHANNELS.snapshot, onPush);
      latest = undefined;
      ipc.invoke(CHANNELS.unsubscribe).catch(report);
    };
  };

  const whenReady = (options: { kinds?: readonly ArtifactKind[] } = {}): Promise<LifecycleSnapshot> =>
    new Promise((resolve, reject) => {
      let settled = false;
      // onSnapshot never calls back before it returns, so `unsubscribe` is set by then.
      const settle = (finish: () => void): void => {
        settled = true;
        finish();
        unsubscribe();
      };
      const unsubscribe = onSnapshot((snapshot) => {
        if (settled) return;
        const kinds = options.kinds ?? KINDS.filter((kind) => snapshot.capabilities[kind].artifacts > 0);
        const absent = kinds.find((kind) => (snapshot.capabilities[kind]?.artifacts ?? 0) === 0);
        if (absent !== undefined) settle(() => reject(new RangeError(`The bundle "${snapshot.bundle}" has no artifact of kind "${absent}".`)));
        else if (kinds.every((kind) => snapshot.capabilities[kind].ready)) settle(() => resolve(snapshot));
      });
    });

  return {
    ...actions,
    getSnapshot: async () => (await ipc.invoke(CHANNELS.getSnapshot)) as LifecycleSnapshot,
    onSnapshot,
    whenReady,
  };
}

/** A page callback that throws must not stop the others; its error still shows, on its own. */
function call(callback: (snapshot: LifecycleSnapshot) => void, snapshot: LifecycleSnapshot): void {
  try {
    callback(snapshot);
  } catch (error) {
    report(error);
  }
}

function report(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
