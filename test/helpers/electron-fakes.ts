// Electron cannot run here, so the bridge is tested against fakes of the few objects it touches:
// ipcMain, a window's WebContents and frame, ipcRenderer and contextBridge. What matters is what
// they do to messages, so that is what the fakes copy: every argument, result and pushed message is
// passed through structuredClone, as Electron's IPC does (a function, a symbol or a DOM object in a
// snapshot throws here as it would there), and contextBridge hands the page copies and proxies,
// never the preload's own objects.
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import type { IpcMainInvokeEvent, IpcRendererEvent } from 'electron';
import type { ModelhaulBridge } from '../../src/electron/bridge-api.js';

/** The built preload; tests that load it need `npm run build` first (`npm test` does that). */
export const PRELOAD_PATH = fileURLToPath(new URL('../../dist/preload.cjs', import.meta.url));

type InvokeHandler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

export class FakeIpcMain {
  readonly handlers = new Map<string, InvokeHandler>();

  handle(channel: string, listener: InvokeHandler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }

  /** What `ipcRenderer.invoke` in `frame` amounts to, cloning on the way in and out. */
  async invoke(frame: FakeFrame, channel: string, args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (handler === undefined) throw new Error(`No handler registered for '${channel}'`);
    const event = { sender: frame.contents, senderFrame: frame.gone ? null : frame, frameId: frame.routingId, processId: frame.processId };
    try {
      return structuredClone(await handler(event as unknown as IpcMainInvokeEvent, ...structuredClone(args)));
    } catch (error) {
      // Electron passes only the message across, prefixed.
      throw new Error(`Error invoking remote method '${channel}': ${String(error)}`);
    }
  }
}

let nextProcessId = 1;

/** A window: its WebContents, emitting `destroyed` once. */
export class FakeWebContents extends EventEmitter {
  private destroyed = false;

  isDestroyed(): boolean {
    return this.destroyed;
  }

  destroy(): void {
    this.destroyed = true;
    this.emit('destroyed');
  }
}

/** A frame with its page's URL, and the renderer side (ipcRenderer) of that page. */
export class FakeFrame {
  readonly processId = nextProcessId++;
  readonly routingId = 1;
  readonly contents = new FakeWebContents();
  readonly ipcRenderer: FakeIpcRenderer;
  detached = false;
  /** Messages pushed to this frame, and attempts to push to it after it was destroyed. */
  sent = 0;
  sentWhenGone = 0;
  private destroyed = false;

  constructor(
    ipcMain: FakeIpcMain,
    public url: string,
  ) {
    this.ipcRenderer = new FakeIpcRenderer(ipcMain, this);
  }

  get gone(): boolean {
    return this.destroyed || this.contents.isDestroyed();
  }

  isDestroyed(): boolean {
    return this.gone;
  }

  /** `WebFrameMain.send`: throws for a disposed frame, as Electron does. */
  send(channel: string, ...args: unknown[]): void {
    if (this.gone) {
      this.sentWhenGone++;
      throw new Error('Render frame was disposed before WebFrameMain could be accessed');
    }
    this.sent++;
    this.ipcRenderer.receive(channel, structuredClone(args));
  }

  /** The window closes: its contents are destroyed and say so. */
  close(): void {
    this.destroyed = true;
    this.contents.destroy();
  }

  /** The frame goes away without its window (a removed iframe): no event, only isDestroyed(). */
  vanish(): void {
    this.destroyed = true;
  }
}

export class FakeIpcRenderer {
  private readonly listeners = new Map<string, Set<(event: IpcRendererEvent, ...args: unknown[]) => void>>();

  constructor(
    private readonly ipcMain: FakeIpcMain,
    private readonly frame: FakeFrame,
  ) {}

  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    return this.ipcMain.invoke(this.frame, channel, args);
  }

  on(channel: string, listener: (event: IpcRendererEvent, ...args: unknown[]) => void): this {
    const set = this.listeners.get(channel) ?? new Set();
    set.add(listener);
    this.listeners.set(channel, set);
    return this;
  }

  removeListener(channel: string, listener: (event: IpcRendererEvent, ...args: unknown[]) => void): this {
    this.listeners.get(channel)?.delete(listener);
    return this;
  }

  listenerCount(channel: string): number {
    return this.listeners.get(channel)?.size ?? 0;
  }

  receive(channel: string, args: unknown[]): void {
    // Electron's event carries the ipcRenderer itself: a preload that passed it on would leak it.
    const event = { sender: this, senderId: 0, ports: [] } as unknown as IpcRendererEvent;
    for (const listener of [...(this.listeners.get(channel) ?? [])]) listener(event, ...args);
  }
}

/**
 * contextBridge: what the page gets is a copy. Functions become proxies whose arguments and results
 * are cloned on the way (callbacks the page passes in become proxies the other way round); every
 * other value is structured-cloned.
 */
export class FakeContextBridge {
  readonly mainWorld: Record<string, unknown> = {};

  exposeInMainWorld(key: string, api: unknown): void {
    this.mainWorld[key] = across(api);
  }
}

function across(value: unknown): unknown {
  if (typeof value === 'function') {
    const fn = value as (...args: unknown[]) => unknown;
    return (...args: unknown[]) => {
      const result = fn(...args.map(across));
      return result instanceof Promise || isThenable(result) ? Promise.resolve(result).then(across) : across(result);
    };
  }
  if (typeof value === 'object' && value !== null && Object.values(value).some((v) => typeof v === 'function')) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, across(v)]));
  }
  return structuredClone(value);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

export interface LoadedPreload {
  /** `window.modelhaul`, as the page sees it. */
  bridge: ModelhaulBridge;
  /** Every key the preload put on `window`. */
  exposedKeys: string[];
  /** Every module the preload asked `require` for. */
  required: string[];
}

/**
 * Runs the built preload the way a sandboxed renderer does: as a CommonJS function of `require`,
 * `module` and `exports` in a context of its own, with a `require` that knows `electron` only and
 * no Node globals (no `process`, no `Buffer`).
 */
export async function loadPreload(frame: FakeFrame): Promise<LoadedPreload> {
  const code = await readFile(PRELOAD_PATH, 'utf8');
  const contextBridge = new FakeContextBridge();
  const required: string[] = [];
  const sandbox = vm.createContext({ queueMicrotask });
  const wrapper = vm.runInContext(`(function (require, module, exports) {${code}\n})`, sandbox, { filename: PRELOAD_PATH }) as (
    require: (name: string) => unknown,
    module: { exports: unknown },
    exports: unknown,
  ) => void;
  const module = { exports: {} };
  wrapper(
    (name) => {
      required.push(name);
      if (name === 'electron') return { contextBridge, ipcRenderer: frame.ipcRenderer };
      throw new Error(`module not found: ${name} (a sandboxed preload can load no npm module)`);
    },
    module,
    module.exports,
  );
  return { bridge: contextBridge.mainWorld.modelhaul as ModelhaulBridge, exposedKeys: Object.keys(contextBridge.mainWorld), required };
}
