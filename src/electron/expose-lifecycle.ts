/**
 * The main-process side of the bridge: a lifecycle's methods as `ipcMain` handlers, for allowed
 * frames only, and its snapshots pushed to the frames that subscribed. Electron is only a type
 * here: the app hands over its own `ipcMain`, so the library never loads Electron itself.
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents, WebFrameMain } from 'electron';
import type { ModelLifecycle } from '../lifecycle/options.js';
import type { LifecycleSnapshot } from '../lifecycle/snapshot.js';
import { ACTION_METHODS, CHANNELS } from './channels.js';
import { isAllowedUrl, parseAllowedOrigins } from './sender-origin.js';

/** Options of {@link exposeModelLifecycle}. */
export interface ExposeOptions {
  /** Electron's `ipcMain`. */
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  /**
   * The origins whose pages may drive the lifecycle and receive its snapshots, e.g.
   * `['app://bundle']` for a packaged app and `'http://localhost:5173'` for a dev server. Every
   * message is checked against the URL of the frame that sent it; anything else is refused.
   */
  allowedOrigins: readonly string[];
}

/** What {@link exposeModelLifecycle} returns. */
export interface LifecycleExposure {
  /** Removes the handlers and stops pushing snapshots. The lifecycle itself goes on. */
  dispose(): void;
}

interface Subscriber {
  frame: WebFrameMain;
  contents: WebContents;
  onDestroyed: () => void;
}

/**
 * Serves `lifecycle` to renderers over IPC, for `modelhaul/preload`: one `ipcMain.handle` per
 * method, each refusing frames from other origins, and snapshots pushed to every frame that
 * subscribed until it unsubscribes, navigates away or its window is destroyed.
 *
 * @throws {TypeError} for an empty or malformed `allowedOrigins`.
 *
 * @example
 * ```ts
 * const exposure = exposeModelLifecycle(lifecycle, { ipcMain, allowedOrigins: ['app://bundle'] });
 * app.on('will-quit', () => exposure.dispose());
 * ```
 */
export function exposeModelLifecycle(lifecycle: ModelLifecycle, options: ExposeOptions): LifecycleExposure {
  const allowed = parseAllowedOrigins(options.allowedOrigins);
  const { ipcMain } = options;
  const subscribers = new Map<string, Subscriber>();
  let unsubscribe: (() => void) | undefined;

  const allowedFrame = (event: IpcMainInvokeEvent): WebFrameMain => {
    const frame = event.senderFrame;
    // A frame that navigated or was destroyed while the message was on its way has no URL to trust.
    if (frame === null || frame.isDestroyed() || !isAllowedUrl(frame.url, allowed)) {
      throw new Error('modelhaul: this page is not allowed to use the model lifecycle (its origin is not in allowedOrigins).');
    }
    return frame;
  };

  const forget = (key: string): void => {
    const subscriber = subscribers.get(key);
    if (subscriber === undefined) return;
    subscribers.delete(key);
    subscriber.contents.removeListener('destroyed', subscriber.onDestroyed);
    if (subscribers.size === 0) {
      unsubscribe?.();
      unsubscribe = undefined;
    }
  };

  const push = (snapshot: LifecycleSnapshot): void => {
    for (const [key, { frame }] of subscribers) {
      // Checked again on every push: the frame may have navigated to a page of another origin.
      if (frame.isDestroyed() || frame.detached || !isAllowedUrl(frame.url, allowed)) {
        forget(key);
        continue;
      }
      try {
        frame.send(CHANNELS.snapshot, snapshot);
      } catch {
        // Its renderer went away between the check and the send.
        forget(key);
      }
    }
  };

  for (const method of ACTION_METHODS) {
    ipcMain.handle(CHANNELS.action(method), async (event) => {
      allowedFrame(event);
      if (method === 'check') return lifecycle.check();
      lifecycle[method]();
      return lifecycle.getSnapshot();
    });
  }
  ipcMain.handle(CHANNELS.getSnapshot, (event) => {
    allowedFrame(event);
    return lifecycle.getSnapshot();
  });
  ipcMain.handle(CHANNELS.subscribe, (event) => {
    const frame = allowedFrame(event);
    const key = frameKey(frame);
    if (!subscribers.has(key)) {
      const onDestroyed = (): void => forget(key);
      event.sender.once('destroyed', onDestroyed);
      subscribers.set(key, { frame, contents: event.sender, onDestroyed });
      unsubscribe ??= lifecycle.subscribe(push);
    }
    return lifecycle.getSnapshot();
  });
  ipcMain.handle(CHANNELS.unsubscribe, (event) => {
    // Leaving needs no permission; a frame that was never allowed is simply not subscribed.
    if (event.senderFrame !== null) forget(frameKey(event.senderFrame));
  });

  return {
    dispose() {
      for (const method of ACTION_METHODS) ipcMain.removeHandler(CHANNELS.action(method));
      ipcMain.removeHandler(CHANNELS.getSnapshot);
      ipcMain.removeHandler(CHANNELS.subscribe);
      ipcMain.removeHandler(CHANNELS.unsubscribe);
      for (const key of [...subscribers.keys()]) forget(key);
    },
  };
}

/** One frame, however many wrapper objects Electron hands out for it. */
function frameKey(frame: WebFrameMain): string {
  return `${frame.processId}:${frame.routingId}`;
}
